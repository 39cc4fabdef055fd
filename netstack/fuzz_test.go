// SPDX-License-Identifier: MIT

package netstack

import (
	"net/netip"
	"testing"
	"time"

	"github.com/pptp-go/pptp/ra"
)

// FuzzWrite: whatever arrives on the link (IPv4, IPv6, Router Advertisements), Write neither
// panics nor wedges the stack, and checksumsOK agrees with itself.
func FuzzWrite(f *testing.F) {
	f.Add([]byte{0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 64, 1, 1, 10, 64, 1, 2, 0, 9, 0, 9, 0, 8, 0, 0})
	f.Add([]byte{0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 64, 1, 1, 10, 64, 1, 2, 0, 80, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0})
	f.Add([]byte{0x46, 0, 0, 24})
	f.Add([]byte{0x60})
	f.Add(advertisement(llA, 255, ra.Advertisement{RouterLifetime: time.Hour, Prefix: netip.MustParsePrefix("2001:db8::/64"),
		ValidLife: time.Hour, PreferredLife: time.Hour, DNS: []netip.Addr{netip.MustParseAddr("2001:db8::53")}, DNSLife: time.Hour}))
	f.Add(routerSolicitation(llA))
	f.Add(icmp6Packet(llA, netip.MustParseAddr("2001:db8::1"), 64, []byte{128, 0, 0, 0, 0, 1, 0, 2, 'x'}))
	st, err := New(addrB, nil, 1400)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	if err := st.SetIPv6(llB, llA); err != nil { // IPv6 and advertisements are taken too
		f.Fatal(err)
	}
	// The server's kind: solicitations, echoes to others and advertisements are its own.
	fw, err := NewForwarding(addrA, 1400, Handler{Allow: func(bool, Flow) bool { return false },
		TCP: func(r *TCPRequest) { r.Reject() }, UDP: func(*UDPRequest) {}, Ping: func(r *PingRequest) { r.Reply() }})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { fw.Close() })
	if err := fw.SetIPv6Router(llA, llB, sessionAd); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		if len(p) > 0 && p[0]>>4 == 4 && checksumsOK(p) != checksumsOK(append([]byte(nil), p...)) {
			t.Fatal("checksumsOK is not a function of the bytes")
		}
		st.Write([][]byte{append([]byte(nil), p...)}, 0)
		fw.Write([][]byte{append([]byte(nil), p...)}, 0)
		for pkt := fw.ep.Read(); pkt != nil; pkt = fw.ep.Read() { // its answers: no one reads them
			pkt.DecRef()
		}
	})
}
