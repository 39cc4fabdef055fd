// SPDX-License-Identifier: MIT

package pppconf

import (
	"strings"
	"testing"
	"time"

	"github.com/pptp-go/pptp/ppp"
	"github.com/pptp-go/pptp/ppp/auth"
)

// pppd's MPPE options map to a policy, and an option that would quietly take away a
// required MPPE is an error instead (fail closed).
func TestRefusedMethods(t *testing.T) {
	for _, c := range []struct {
		name string
		o    Options
		want auth.MethodSet
		err  string
	}{
		{"default", Options{}, 0, ""},
		{"refuse-pap refuse-mschap", Options{RefusePAP: true, RefuseMSCHAP: true}, auth.MethodSet(0).Add(auth.PAP).Add(auth.MSCHAPv1), ""},
		{"auth (no effect on a client)", Options{Auth: true}, 0, ""},
		{"auth refuse-pap", Options{Auth: true, RefusePAP: true}, auth.MethodSet(0).Add(auth.PAP), ""},
		{"refuse every CHAP", Options{RefuseMSCHAPv2: true, RefuseMSCHAP: true, RefuseCHAP: true}, auth.AllMethods.Remove(auth.PAP), ""},
	} {
		got, err := c.o.refusedMethods()
		checkCase(t, c.name, got, err, c.want, c.err)
	}
	// Debian's /etc/ppp/options (auth among its lines) leaves every method to the client.
	var o Options
	if err := o.ParseWords(strings.Fields("asyncmap 0 auth crtscts lock hide-password modem lcp-echo-interval 30 lcp-echo-failure 4 noipx"), Source{}); err != nil {
		t.Fatal(err)
	}
	if got, err := o.refusedMethods(); got != 0 || err != nil {
		t.Errorf("Debian's options: %b, %v", got, err)
	}
}

func TestMPPEPolicy(t *testing.T) {
	for _, c := range []struct {
		name string
		o    Options
		want ppp.MPPEPolicy
		err  string
	}{
		{"default", Options{}, ppp.MPPEPolicy{Allow40: true, Allow128: true, Stateless: true}, ""},
		{"require-mppe-128", Options{RequireMPPE: true, RequireMPPE128: true}, ppp.MPPEPolicy{Require: true, Allow128: true, Stateless: true}, ""},
		{"nomppe", Options{NoMPPE: true}, ppp.MPPEPolicy{}, ""},
		{"noccp", Options{NoCCP: true}, ppp.MPPEPolicy{}, ""},
		{"require-mppe-128 noccp", Options{RequireMPPE: true, RequireMPPE128: true, NoCCP: true}, ppp.MPPEPolicy{}, "noccp"},
		{"require-mppe nomppe", Options{RequireMPPE: true, NoMPPE: true}, ppp.MPPEPolicy{}, "nomppe"},
		{"require-mppe-128 nomppe-128", Options{RequireMPPE: true, RequireMPPE128: true, NoMPPE128: true}, ppp.MPPEPolicy{}, "no MPPE is left"},
	} {
		got, err := c.o.mppePolicy()
		checkCase(t, c.name, got, err, c.want, c.err)
	}
}

// TestEngineConfig: a file's options land in the engine's configuration, on each side.
func TestEngineConfig(t *testing.T) {
	var o Options
	if err := o.ParseWords(strings.Fields("mtu 1300 mru 1200 lcp-echo-interval 7 lcp-echo-failure 2 lcp-restart 1 require-mppe-128 remotename gw usepeerdns refuse-pap debug"), Source{}); err != nil {
		t.Fatal(err)
	}
	c, err := o.EngineConfig(false)
	if err != nil {
		t.Fatal(err)
	}
	if c.Server || c.MTU != 1300 || c.MRU != 1200 || c.EchoInterval != 7*time.Second || c.EchoFailure != 2 || c.Restart != time.Second || !c.MPPE.Require || c.MPPE.Allow40 ||
		c.Name != "gw" || !c.UsePeerDNS || !c.Refuse.Has(auth.PAP) || c.Refuse.Has(auth.MSCHAPv2) || !c.Debug {
		t.Errorf("client: %+v", c)
	}
	var so Options
	if err := so.ParseWords(strings.Fields("name vpn ms-dns 10.0.0.53 require-mschap-v2 require-mschap refuse-mschap"), Source{}); err != nil {
		t.Fatal(err)
	}
	s, err := so.EngineConfig(true)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Server || s.Name != "vpn" || len(s.DNS) != 1 || s.Require != auth.MethodSet(0).Add(auth.MSCHAPv2) || s.EchoInterval != DefaultEchoInterval || s.MTU != DefaultMRU {
		t.Errorf("server: %+v", s)
	}
	if d, _ := new(Options).EngineConfig(true); d.Require != DefaultServerConfig().Require || d.Name != "pptpd" {
		t.Errorf("server defaults: %+v", d)
	}
	// Both roles keep Debian's LCP echo unless told; each option may come alone.
	for _, tc := range []struct {
		words    string
		interval time.Duration
		failure  int
	}{
		{"", 30 * time.Second, 4},
		{"lcp-echo-interval 10", 10 * time.Second, 4},
		{"lcp-echo-failure 2", 30 * time.Second, 2},
		{"lcp-echo-interval 0", 0, 4},
	} {
		if c, _ := new(Options).EngineConfig(false); c.Restart != 0 {
			t.Errorf("default restart %v, want the engine's", c.Restart)
		}
		for _, server := range []bool{false, true} {
			var o Options
			o.ParseWords(strings.Fields(tc.words), Source{})
			c, _ := o.EngineConfig(server)
			if c.EchoInterval != tc.interval || c.EchoFailure != tc.failure {
				t.Errorf("%q server=%v: echo %v × %d, want %v × %d", tc.words, server, c.EchoInterval, c.EchoFailure, tc.interval, tc.failure)
			}
		}
	}
	var bad Options
	bad.ParseWords(strings.Fields("refuse-mschap-v2 refuse-mschap refuse-chap"), Source{})
	if _, err := bad.EngineConfig(true); err == nil || !strings.Contains(err.Error(), "every authentication method") {
		t.Errorf("all refused: %v", err)
	}
}

// checkCase: with wantErr, err must name it; else got must be want.
func checkCase[T comparable](t *testing.T, name string, got T, err error, want T, wantErr string) {
	t.Helper()
	switch {
	case wantErr != "":
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%s: err %v, want one naming %q", name, err, wantErr)
		}
	case err != nil || got != want:
		t.Errorf("%s: %+v, %v; want %+v", name, got, err, want)
	}
}
