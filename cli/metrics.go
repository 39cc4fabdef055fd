// SPDX-License-Identifier: MIT

package cli

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pptp-go/pptp/ppp"
	"github.com/pptp-go/pptp/ppp/auth"
	"github.com/pptp-go/pptp/session"
)

// serverMetrics is pptpd's Prometheus collector: it reads the server's session table at
// each scrape, plus the authentication failures counted as sessions end.
type serverMetrics struct {
	srv *session.Server

	mu       sync.Mutex
	authFail map[string]uint64 // by reason

	sessions, setUps, authFails, bytes, packets, lost, reordered *prometheus.Desc
}

// authReasons are the reasons of pptpd_auth_failures_total, each present from the start so a
// rate() sees the first failure.
var authReasons = []string{"bad_password", "unknown_user", "timeout", "other"}

// newServerMetrics makes the collector; srv is set before it is served.
func newServerMetrics() *serverMetrics {
	m := &serverMetrics{authFail: map[string]uint64{}}
	m.sessions = prometheus.NewDesc("pptpd_sessions", "Sessions now, by state (starting: PPP not up yet).", []string{"state"}, nil)
	m.setUps = prometheus.NewDesc("pptpd_session_setups_total", "Sessions whose PPP link came up.", nil, nil)
	m.authFails = prometheus.NewDesc("pptpd_auth_failures_total", "Clients that failed authentication, by reason.", []string{"reason"}, nil)
	m.bytes = prometheus.NewDesc("pptpd_bytes_total", "IP bytes through the tunnels (tx: to the clients).", []string{"direction"}, nil)
	m.packets = prometheus.NewDesc("pptpd_packets_total", "IP packets through the tunnels (tx: to the clients).", []string{"direction"}, nil)
	m.lost = prometheus.NewDesc("pptpd_gre_lost_packets_total", "GRE packets from clients that never arrived (sequence gaps).", nil, nil)
	m.reordered = prometheus.NewDesc("pptpd_gre_reordered_packets_total", "GRE packets from clients that arrived out of order and were held.", nil, nil)
	return m
}

// authFailureReason names why a session's authentication failed ("" if it did not).
func authFailureReason(err error) string {
	if !errors.Is(err, ppp.ErrAuthFailed) {
		return ""
	}
	var te *auth.TimeoutError
	msg := err.Error()
	switch {
	case errors.As(err, &te):
		return "timeout"
	case strings.Contains(msg, "no secret"):
		return "unknown_user"
	case strings.Contains(msg, "failed authentication"), strings.Contains(msg, "wrong password"):
		return "bad_password"
	}
	return "other"
}

// sessionDown counts an ended session's authentication failure.
func (m *serverMetrics) sessionDown(_ string, err error) {
	if r := authFailureReason(err); r != "" {
		m.mu.Lock()
		m.authFail[r]++
		m.mu.Unlock()
	}
}

func (m *serverMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.sessions, m.setUps, m.authFails, m.bytes, m.packets, m.lost, m.reordered} {
		ch <- d
	}
}

func (m *serverMetrics) Collect(ch chan<- prometheus.Metric) {
	up, starting := 0, 0
	for _, i := range m.srv.Sessions() {
		if i.Up {
			up++
		} else {
			starting++
		}
	}
	ch <- prometheus.MustNewConstMetric(m.sessions, prometheus.GaugeValue, float64(up), "up")
	ch <- prometheus.MustNewConstMetric(m.sessions, prometheus.GaugeValue, float64(starting), "starting")
	c, setUps := m.srv.Totals()
	ch <- prometheus.MustNewConstMetric(m.setUps, prometheus.CounterValue, float64(setUps))
	m.mu.Lock()
	for _, r := range authReasons {
		ch <- prometheus.MustNewConstMetric(m.authFails, prometheus.CounterValue, float64(m.authFail[r]), r)
	}
	m.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(m.bytes, prometheus.CounterValue, float64(c.TxBytes), "tx")
	ch <- prometheus.MustNewConstMetric(m.bytes, prometheus.CounterValue, float64(c.RxBytes), "rx")
	ch <- prometheus.MustNewConstMetric(m.packets, prometheus.CounterValue, float64(c.TxPackets), "tx")
	ch <- prometheus.MustNewConstMetric(m.packets, prometheus.CounterValue, float64(c.RxPackets), "rx")
	ch <- prometheus.MustNewConstMetric(m.lost, prometheus.CounterValue, float64(c.RxLost))
	ch <- prometheus.MustNewConstMetric(m.reordered, prometheus.CounterValue, float64(c.RxReordered))
}

// serveMetrics listens on addr and serves m at /metrics; the returned func stops it.
func serveMetrics(log *logger, addr netip.AddrPort, m *serverMetrics) (func(), error) {
	ln, err := net.Listen("tcp", addr.String())
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry() // ours only: no global state, no process metrics
	reg.MustRegister(m)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	log.Logf("metrics: Prometheus exposition on http://%s/metrics", ln.Addr())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
	}, nil
}
