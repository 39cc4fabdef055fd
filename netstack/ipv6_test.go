// SPDX-License-Identifier: MIT

package netstack

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"

	"github.com/pptp-go/pptp/ra"
)

var (
	llA = netip.MustParseAddr("fe80::a")
	llB = netip.MustParseAddr("fe80::b")
)

// advertisement is the IPv6 packet of a Router Advertisement from src to all-nodes.
func advertisement(src netip.Addr, hopLimit uint8, ad ra.Advertisement) []byte {
	msg := ad.Append(nil)
	p := make([]byte, header.IPv6MinimumSize, header.IPv6MinimumSize+len(msg))
	dst := netip.MustParseAddr("ff02::1")
	header.IPv6(p).Encode(&header.IPv6Fields{PayloadLength: uint16(len(msg)), TransportProtocol: header.ICMPv6ProtocolNumber,
		HopLimit: hopLimit, SrcAddr: tcpip.AddrFrom16(src.As16()), DstAddr: tcpip.AddrFrom16(dst.As16())})
	p = append(p, msg...)
	icmp := header.ICMPv6(p[header.IPv6MinimumSize:])
	icmp.SetChecksum(header.ICMPv6Checksum(header.ICMPv6ChecksumParams{Header: icmp,
		Src: tcpip.AddrFrom16(src.As16()), Dst: tcpip.AddrFrom16(dst.As16())}))
	return p
}

// TestIPv6RouterAdvertisement: the stack takes its global address (the /64 with its
// IPV6CP identifier), default route and DNS from a usable advertisement, ignores others,
// and then carries TCP over IPv6 to the other end.
func TestIPv6RouterAdvertisement(t *testing.T) {
	a, b, _ := pair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := a.DialContext(ctx, "tcp", "[2001:db8:5::b]:80"); err == nil || !strings.Contains(err.Error(), "IPV6CP") {
		t.Fatalf("IPv6 before SetIPv6: %v, want an error naming IPV6CP", err)
	}
	for st, ll := range map[*Stack]netip.Addr{a: llA, b: llB} {
		if err := st.SetIPv6(ll, ll); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.SetIPv6(netip.MustParseAddr("2001:db8::1"), llB); err == nil {
		t.Error("SetIPv6 took a global address for the link-local one")
	}
	good := ra.Advertisement{HopLimit: 64, RouterLifetime: time.Hour, Prefix: netip.MustParsePrefix("2001:db8:5::/64"),
		ValidLife: time.Hour, PreferredLife: time.Hour, DNS: []netip.Addr{netip.MustParseAddr("2001:db8:5::53")}, DNSLife: time.Hour}
	wide := good
	wide.Prefix = netip.MustParsePrefix("2001:db8:6::/48")
	expired := good
	expired.ValidLife, expired.PreferredLife = 0, 0
	var mu sync.Mutex
	var lines []string
	a.SetLogf(func(f string, args ...any) { mu.Lock(); lines = append(lines, fmt.Sprintf(f, args...)); mu.Unlock() })
	logged := func() string { mu.Lock(); defer mu.Unlock(); return strings.Join(lines, "\n") }
	// Each goes out on b's side of the link, as the server's advertisements would.
	for _, p := range [][]byte{advertisement(llB, 254, good), advertisement(llB, 255, wide), advertisement(llB, 255, expired)} {
		b.inject(p)
	}
	if !waitFor(func() bool { return strings.Count(logged(), "ignored")+strings.Count(logged(), "dropped") == 3 }) {
		t.Fatalf("bad advertisements not reported:\n%s", logged())
	}
	if g := a.IPv6Addr(); g.IsValid() {
		t.Fatalf("took address %v from a bad advertisement:\n%s", g, logged())
	}
	b.inject(advertisement(llB, 255, good))
	a.inject(advertisement(llA, 255, good))
	if !waitFor(func() bool { return a.IPv6Addr().IsValid() && b.IPv6Addr().IsValid() }) ||
		a.IPv6Addr() != netip.MustParseAddr("2001:db8:5::a") {
		t.Fatalf("address %v, want the /64 with our identifier:\n%s", a.IPv6Addr(), logged())
	}
	if !slices.Contains(a.DNSServers(), netip.MustParseAddr("2001:db8:5::53")) {
		t.Errorf("DNS %v: no RDNSS server", a.DNSServers())
	}
	ln, err := b.ListenTCP("tcp", netip.MustParseAddrPort("[2001:db8:5::b]:80"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.WriteString(c, c.RemoteAddr().String())
		c.Close()
	}()
	c, err := a.DialContext(ctx, "tcp6", "[2001:db8:5::b]:80")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(c)
	c.Close()
	if string(got) != "[2001:db8:5::a]:"+strings.SplitN(c.LocalAddr().String(), "]:", 2)[1] {
		t.Errorf("the far end saw %q, local %v", got, c.LocalAddr())
	}
	if _, err := a.DialContext(ctx, "tcp4", "[2001:db8:5::b]:80"); err == nil {
		t.Error(`"tcp4" dialled an IPv6 address`)
	}
}

// TestIPv6Solicits: SetIPv6 sends a Router Solicitation from our link-local address, hop
// limit 255, with a valid checksum (the server's first advertisement may have been lost).
func TestIPv6Solicits(t *testing.T) {
	st, err := New(addrA, nil, 1400)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.SetIPv6(llA, llB); err != nil {
		t.Fatal(err)
	}
	bufs, sizes := [][]byte{make([]byte, 2048)}, []int{0}
	if n, err := st.Read(bufs, sizes, 0); err != nil || n != 1 {
		t.Fatalf("Read: %d, %v", n, err)
	}
	p := bufs[0][:sizes[0]]
	h := header.IPv6(p)
	if !checksums6OK(p) || h.HopLimit() != 255 || h.SourceAddress() != tcpip.AddrFrom16(llA.As16()) ||
		!ra.IsSolicitation(h.Payload()) {
		t.Fatalf("first packet % x is no Router Solicitation from %v", p, llA)
	}
}

func waitFor(cond func() bool) bool {
	for range 500 {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// TestListenFamilies: listeners take the families net.Listen's networks name — "tcp" and
// "udp" on an unspecified address both, the "4" and "6" networks one each — and a
// specific address of the other family is refused.
func TestListenFamilies(t *testing.T) {
	a, b, _ := pair(t)
	for st, ll := range map[*Stack]netip.Addr{a: llA, b: llB} {
		if err := st.SetIPv6(ll, ll); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i, tc := range []struct {
		network  string
		v4, v6   bool
		specific netip.Addr
	}{{"tcp", true, true, netip.Addr{}}, {"tcp4", true, false, netip.Addr{}}, {"tcp6", false, true, netip.IPv6Unspecified()},
		{"tcp", true, false, addrB}, {"tcp6", false, true, llB}} {
		port := uint16(100 + i)
		ln, err := b.ListenTCP(tc.network, netip.AddrPortFrom(tc.specific, port))
		if err != nil {
			t.Fatalf("ListenTCP(%q, %v): %v", tc.network, tc.specific, err)
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				io.WriteString(c, "hi")
				c.Close()
			}
		}()
		for _, dst := range []struct {
			addr netip.Addr
			want bool
		}{{addrB, tc.v4}, {llB, tc.v6}} {
			c, err := a.DialContext(ctx, "tcp", netip.AddrPortFrom(dst.addr, port).String())
			if err == nil {
				got, _ := io.ReadAll(c)
				c.Close()
				if string(got) != "hi" {
					err = fmt.Errorf("read %q", got)
				}
			}
			if (err == nil) != dst.want {
				t.Errorf("ListenTCP(%q, %v): dial %v: %v, want success %v", tc.network, tc.specific, dst.addr, err, dst.want)
			}
		}
		ln.Close()
	}
	for _, bad := range []struct {
		network string
		addr    netip.Addr
	}{{"tcp4", llB}, {"tcp6", addrB}, {"udp", addrB}} {
		if ln, err := b.ListenTCP(bad.network, netip.AddrPortFrom(bad.addr, 200)); err == nil {
			ln.Close()
			t.Errorf("ListenTCP(%q, %v) succeeded", bad.network, bad.addr)
		}
	}

	pc, err := b.ListenUDP("udp", netip.AddrPortFrom(netip.Addr{}, 300))
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for _, dst := range []netip.Addr{addrB, llB} {
		c, err := a.DialContext(ctx, "udp", netip.AddrPortFrom(dst, 300).String())
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("ping"))
		c.Close()
		buf := make([]byte, 16)
		pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, from, err := pc.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "ping" {
			t.Fatalf("udp to %v: %q from %v, %v", dst, buf[:n], from, err)
		}
	}
}
