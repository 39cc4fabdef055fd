// SPDX-License-Identifier: MIT

package pppconf

import (
	"net/netip"
	"strings"
	"testing"
)

func TestEgressKeywords(t *testing.T) {
	c, err := ParsePPTPDConfData("p", []byte("egress netstack\negress-proxy socks5://u:pw@127.0.0.1:1080\negress-deny 10.0.0.0/8 192.0.2.7\negress-resolver 192.0.2.53\negress-flows 64\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32")}
	if c.Egress != "netstack" || c.EgressProxy == "" || len(c.EgressDeny) != 2 || c.EgressDeny[0] != want[0] || c.EgressDeny[1] != want[1] ||
		len(c.EgressDNS) != 1 || c.EgressFlows != 64 {
		t.Errorf("%+v", c)
	}
	for _, tc := range []struct{ conf, want string }{
		{"egress kernel\n", "p:1"},
		{"localip 10.0.0.1\negress-proxy socks4://h:1\n", "p:2"},
		{"egress-proxy http://u:hunter2@h\n", "needs host:port"},
		{"egress-deny 10.0.0.0/33\n", "p:1"},
		{"egress-resolver dns.example\n", "p:1"},
		{"egress-flows 0\n", "p:1"},
	} {
		_, err := ParsePPTPDConfData("p", []byte(tc.conf))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error with %q", tc.conf, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%q: the error shows the password: %v", tc.conf, err)
		}
	}
}
