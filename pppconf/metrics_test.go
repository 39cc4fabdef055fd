// SPDX-License-Identifier: MIT

package pppconf

import (
	"net/netip"
	"testing"
)

func TestPPTPDConfMetrics(t *testing.T) {
	c, err := ParsePPTPDConfData("c", []byte("debug\nmetrics 127.0.0.1:9523\n"))
	if err != nil || c.Metrics != netip.MustParseAddrPort("127.0.0.1:9523") {
		t.Fatalf("metrics %v, %v", c.Metrics, err)
	}
	if c := DefaultPPTPDConf(); c.Metrics.IsValid() {
		t.Errorf("metrics on by default: %v", c.Metrics)
	}
	for in, want := range map[string]string{
		"\nmetrics 9523":         `c:2: keyword "metrics" needs ADDRESS:PORT (127.0.0.1:9523), got "9523"`,
		"metrics 127.0.0.1:0":    `c:1: keyword "metrics" needs ADDRESS:PORT (127.0.0.1:9523), got "127.0.0.1:0"`,
		"metrics localhost:9523": `c:1: keyword "metrics" needs ADDRESS:PORT (127.0.0.1:9523), got "localhost:9523"`,
	} {
		if _, err := ParsePPTPDConfData("c", []byte(in)); err == nil || err.Error() != want {
			t.Errorf("%q: %v, want %s", in, err, want)
		}
	}
}
