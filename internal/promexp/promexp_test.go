// SPDX-License-Identifier: MIT

package promexp

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/pptp-go/pptp/cli"
	"github.com/pptp-go/pptp/session"
)

// TestExposition: a snapshot served on a real listener parses as Prometheus text, with the
// types and labels pptpd(8) lists.
func TestExposition(t *testing.T) {
	snap := cli.MetricsSnapshot{SessionsUp: 3, SessionsStarting: 1, SetUps: 7,
		AuthFailures: map[string]uint64{"bad_password": 2, "unknown_user": 0, "timeout": 1, "other": 0},
		Totals:       session.Counters{TxBytes: 1 << 40, RxBytes: 5, TxPackets: 9, RxPackets: 4, RxLost: 11, RxReordered: 12}}
	var logged string
	stop, err := Serve(netip.MustParseAddrPort("127.0.0.1:0"), func() cli.MetricsSnapshot { return snap },
		func(f string, args ...any) { logged = fmt.Sprintf(f, args...) })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if cli.MetricsExporter == nil {
		t.Error("importing promexp did not set cli.MetricsExporter")
	}
	_, url, ok := strings.Cut(logged, " on ") // the log line names the address it took
	if !ok {
		t.Fatalf("log line %q", logged)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		`pptpd_sessions{state="up"}`: "3", `pptpd_sessions{state="starting"}`: "1",
		`pptpd_session_setups_total{}`: "7", `pptpd_auth_failures_total{reason="bad_password"}`: "2",
		`pptpd_auth_failures_total{reason="timeout"}`: "1", `pptpd_auth_failures_total{reason="unknown_user"}`: "0",
		`pptpd_bytes_total{direction="tx"}`: "1099511627776", `pptpd_packets_total{direction="rx"}`: "4",
		`pptpd_gre_lost_packets_total{}`: "11", `pptpd_gre_reordered_packets_total{}`: "12",
	}
	got := map[string]string{}
	for name, f := range fams {
		for _, m := range f.Metric {
			var l []string
			for _, lp := range m.Label {
				l = append(l, lp.GetName()+`="`+lp.GetValue()+`"`)
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			got[name+"{"+strings.Join(l, ",")+"}"] = model.SampleValue(v).String()
		}
		if strings.HasSuffix(name, "_total") && f.GetType().String() != "COUNTER" || name == "pptpd_sessions" && f.GetType().String() != "GAUGE" {
			t.Errorf("%s has type %v", name, f.GetType())
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %s", k, got[k], v)
		}
	}
}
