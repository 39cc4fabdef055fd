// SPDX-License-Identifier: MIT

// Package promexp is pptpd's Prometheus exposition (pptpd.conf "metrics"), made with the
// Prometheus Go client library. Importing it sets cli.MetricsExporter; only cmd/pptpd does,
// so the library and its protobuf code stay out of the pptp binary.
package promexp

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pptp-go/pptp/cli"
)

func init() { cli.MetricsExporter = Serve }

// collector turns a cli.MetricsSnapshot, taken at each scrape, into metrics.
type collector struct {
	snapshot func() cli.MetricsSnapshot

	sessions, setUps, authFails, bytes, packets, lost, reordered *prometheus.Desc
}

func newCollector(snapshot func() cli.MetricsSnapshot) *collector {
	return &collector{
		snapshot:  snapshot,
		sessions:  prometheus.NewDesc("pptpd_sessions", "Sessions now, by state (starting: PPP not up yet).", []string{"state"}, nil),
		setUps:    prometheus.NewDesc("pptpd_session_setups_total", "Sessions whose PPP link came up.", nil, nil),
		authFails: prometheus.NewDesc("pptpd_auth_failures_total", "Clients that failed authentication, by reason.", []string{"reason"}, nil),
		bytes:     prometheus.NewDesc("pptpd_bytes_total", "IP bytes through the tunnels (tx: to the clients).", []string{"direction"}, nil),
		packets:   prometheus.NewDesc("pptpd_packets_total", "IP packets through the tunnels (tx: to the clients).", []string{"direction"}, nil),
		lost:      prometheus.NewDesc("pptpd_gre_lost_packets_total", "GRE packets from clients that never arrived (sequence gaps).", nil, nil),
		reordered: prometheus.NewDesc("pptpd_gre_reordered_packets_total", "GRE packets from clients that arrived out of order and were held.", nil, nil),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.sessions, c.setUps, c.authFails, c.bytes, c.packets, c.lost, c.reordered} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.snapshot()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(c.sessions, float64(s.SessionsUp), "up")
	gauge(c.sessions, float64(s.SessionsStarting), "starting")
	counter(c.setUps, s.SetUps)
	for _, r := range cli.AuthFailureReasons {
		counter(c.authFails, s.AuthFailures[r], r)
	}
	counter(c.bytes, s.Totals.TxBytes, "tx")
	counter(c.bytes, s.Totals.RxBytes, "rx")
	counter(c.packets, s.Totals.TxPackets, "tx")
	counter(c.packets, s.Totals.RxPackets, "rx")
	counter(c.lost, s.Totals.RxLost)
	counter(c.reordered, s.Totals.RxReordered)
}

// Serve listens on addr and serves the metrics at /metrics; the returned func stops it.
func Serve(addr netip.AddrPort, snapshot func() cli.MetricsSnapshot, logf func(string, ...any)) (func(), error) {
	ln, err := net.Listen("tcp", addr.String())
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry() // ours only: no global state, no process metrics
	reg.MustRegister(newCollector(snapshot))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	logf("metrics: Prometheus exposition on http://%s/metrics", ln.Addr())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
	}, nil
}
