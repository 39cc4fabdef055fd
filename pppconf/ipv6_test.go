// SPDX-License-Identifier: MIT

package pppconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pptp-go/pptp/ppp"
)

// pppd's IPv6 words map onto ppp.IPv6Config; the last of +ipv6 / noipv6 wins.
func TestIPv6Options(t *testing.T) {
	id := func(s string) ppp.InterfaceID { v, _ := ppp.ParseInterfaceID(s); return v }
	for _, c := range []struct {
		words  string
		server bool
		want   ppp.IPv6Config
		err    string
	}{
		{"", false, ppp.IPv6Config{Mode: ppp.IPv6Passive}, ""},
		{"+ipv6", false, ppp.IPv6Config{Mode: ppp.IPv6Active}, ""},
		{"noipv6", false, ppp.IPv6Config{Mode: ppp.IPv6Off}, ""},
		{"+ipv6 -ipv6", false, ppp.IPv6Config{Mode: ppp.IPv6Off}, ""},
		{"noipv6 +ipv6", true, ppp.IPv6Config{Mode: ppp.IPv6Active}, ""},
		{"ipv6 ::1,::2", false, ppp.IPv6Config{Mode: ppp.IPv6Active, LocalID: id("::1"), PeerID: id("::2")}, ""},
		{"ipv6 ,::dead:beef ipv6cp-accept-local", false, ppp.IPv6Config{Mode: ppp.IPv6Active, PeerID: id("::dead:beef"), AcceptLocal: true}, ""},
		{"10.0.0.2: ipv6cp-use-ipaddr", false, ppp.IPv6Config{Mode: ppp.IPv6Passive, UseIPAddr: true}, ""},
		{"ipv6cp-use-ipaddr", true, ppp.IPv6Config{Mode: ppp.IPv6Passive, UseIPAddr: true}, ""},
		{"ipv6cp-use-ipaddr", false, ppp.IPv6Config{}, "ipv6cp-use-ipaddr needs our IPv4 address"},
		{"ipv6 ::5,::5", false, ppp.IPv6Config{}, "are the same"},
	} {
		var o Options
		if err := o.ParseWords(strings.Fields(c.words), Source{}); err != nil {
			t.Fatalf("%q: %v", c.words, err)
		}
		e, err := o.EngineConfig(c.server)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.words, err, c.err)
			}
			continue
		}
		if err != nil || e.IPv6.Mode != c.want.Mode || e.IPv6.LocalID != c.want.LocalID || e.IPv6.PeerID != c.want.PeerID ||
			e.IPv6.UseIPAddr != c.want.UseIPAddr || e.IPv6.AcceptLocal != c.want.AcceptLocal {
			t.Errorf("%q: %+v, %v; want %+v", c.words, e.IPv6, err, c.want)
		}
	}
}

// A bad identifier names the file and line.
func TestIPv6OptionErrors(t *testing.T) {
	dir := t.TempDir()
	for _, bad := range []string{"ipv6 ::1,zz", "ipv6 ,", "ipv6 1.2.3.4", "ipv6 ::0,::2"} {
		p := filepath.Join(dir, "opts")
		if err := os.WriteFile(p, []byte("lock\n"+bad+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		var o Options
		err := o.ParseFile(p)
		if err == nil || !strings.Contains(err.Error(), p+":2:") || !strings.Contains(err.Error(), `"ipv6"`) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// pptpd.conf's remoteip6 and dns6 (ours), with file:line errors.
func TestPPTPDConfIPv6(t *testing.T) {
	c, err := ParsePPTPDConfData("c", []byte("remoteip6 2001:db8:99::/56\ndns6 2001:db8::53 2001:db8::54\n"))
	if err != nil || c.RemoteIP6.String() != "2001:db8:99::/56" || len(c.DNS6) != 2 || c.DNS6[1].String() != "2001:db8::54" {
		t.Fatalf("%+v %v", c, err)
	}
	for in, want := range map[string]string{
		"debug\nremoteip6 10.0.0.0/8": `c:2: keyword "remoteip6" needs an IPv6 prefix such as 2001:db8:99::/56, got "10.0.0.0/8"`,
		"remoteip6 2001:db8::/80":     `c:1: keyword "remoteip6": 2001:db8::/80 is longer than /64; each session needs a /64 of it`,
		"remoteip6 2001:db8:99::1/56": `c:1: keyword "remoteip6": 2001:db8:99::1/56 has host bits set; did you mean 2001:db8:99::/56?`,
		"dns6 10.0.0.1":               `c:1: keyword "dns6" needs IPv6 addresses, got "10.0.0.1"`,
		"remoteip6":                   `c:1: keyword "remoteip6" needs a value`,
	} {
		if _, err := ParsePPTPDConfData("c", []byte(in)); err == nil || err.Error() != want {
			t.Errorf("%q: %v, want %s", in, err, want)
		}
	}
}
