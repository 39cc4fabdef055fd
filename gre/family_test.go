// SPDX-License-Identifier: MIT

package gre

import (
	"net/netip"
	"testing"
)

// greSpan never reads out of bounds and never returns a span outside the packet when it
// says OK, for either family's framing.
func FuzzGreSpan(f *testing.F) {
	f.Add([]byte{0x45, 0, 0, 28, 0, 0, 0, 0, 64, 47, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0x30, 0x81, 0x88, 0x0b, 0, 0, 0x12, 0x34})
	f.Add([]byte{0x30, 0x81, 0x88, 0x0b, 0, 0, 0x12, 0x34})
	f.Add([]byte{0x4f, 0, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		for _, v4 := range []bool{true, false} {
			off, end, res := greSpan(pkt, v4)
			if res == spanOK && (off < 0 || off > end || end > len(pkt)) {
				t.Fatalf("v4=%v: span %d..%d of %d bytes", v4, off, end, len(pkt))
			}
			if !v4 && (res != spanOK || off != 0 || end != len(pkt)) {
				t.Fatalf("an IPv6 read is GRE whole: %d..%d %v", off, end, res)
			}
			if id, ok := callIDAt(pkt, v4); ok && res == spanOK && end-off >= callIDOffset+2 &&
				id != uint16(pkt[off+callIDOffset])<<8|uint16(pkt[off+callIDOffset+1]) {
				t.Fatalf("v4=%v: Call ID %#x is not the GRE header's", v4, id)
			}
		}
	})
}

func TestFramedIPv4(t *testing.T) {
	for a, want := range map[string]bool{"192.0.2.1": true, "::ffff:192.0.2.1": true, "2001:db8::1": false, "fe80::1%eth0": false} {
		if got := framedIPv4(netip.MustParseAddr(a)); got != want {
			t.Errorf("framedIPv4(%s) = %v", a, got)
		}
	}
}
