// SPDX-License-Identifier: MIT

package pppconf

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestPPTPDConfLimits(t *testing.T) {
	c, err := ParsePPTPDConfData("pptpd.conf", []byte("auth-timeout 20\nmax-half-open 0\nmax-calls-per-source 5\nfail-delay 0\nrouted-subnet 192.168.50.0/24, 10.1.0.0/16\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.AuthTimeout != 20*time.Second || c.HalfOpen != -1 || c.CallsPerSource != 5 || c.FailDelay != -1 ||
		len(c.RoutedSubnets) != 2 || c.RoutedSubnets[1] != netip.MustParsePrefix("10.1.0.0/16") {
		t.Fatalf("%+v", c)
	}
	for _, bad := range []string{"auth-timeout 0", "max-half-open -1", "routed-subnet 10.0.0.1", "routed-subnet ::/0"} {
		_, err := ParsePPTPDConfData("pptpd.conf", []byte("# x\n"+bad+"\n"))
		if err == nil || !strings.Contains(err.Error(), "pptpd.conf:2") {
			t.Errorf("%q: %v, want an error naming pptpd.conf:2", bad, err)
		}
	}
}
