// SPDX-License-Identifier: MIT

package session

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"golang.zx2c4.com/wireguard/tun"

	"github.com/pptp-go/pptp/ppp"
	"github.com/pptp-go/pptp/ra"
)

// mixBatch turns every other packet of tb into IPv6 (a 40-byte header whose payload length
// fills the packet), as a dual-stack TUN read returns them.
func mixBatch(tb *benchTx) []byte {
	v6 := bytes.Clone(tb.tmpl)
	v6[0] = 0x60
	pl := len(v6) - 40
	v6[4], v6[5] = byte(pl>>8), byte(pl)
	for i := 1; i < len(tb.bufs); i += 2 {
		copy(tb.bufs[i][TunOffset:], v6)
	}
	return v6
}

// IPv6 crosses the datapath once IPV6CP is open, mixed with IPv4 in one batch, unchanged,
// in every MPPE mode, without allocating; before that it is dropped on send and on receipt.
func TestDatapathIPv6(t *testing.T) {
	for _, m := range benchModes {
		t.Run(m.name, func(t *testing.T) {
			p := newPair(t, m, 1400)
			v6 := mixBatch(p.batch)
			var bad, got6 atomic.Int64
			p.dev.check = func(b []byte) {
				want := p.batch.tmpl
				if b[0]>>4 == 6 {
					want = v6
					got6.Add(1)
				}
				if !bytes.Equal(b, want) {
					bad.Add(1)
				}
			}
			// IPv6 off: the sender drops it.
			p.tx.sendBatch(p.batch.bufs, p.batch.sizes, p.batch.out)
			p.sent += benchBatch / 2
			p.dev.waitFor(p.sent)
			if d := p.tx.stats.TxDropped.Load(); d != benchBatch/2 || got6.Load() != 0 {
				t.Fatalf("IPv6 before IPV6CP: %d dropped, %d delivered", d, got6.Load())
			}
			// Receiver still off: sent, but not delivered.
			p.tx.ipv6.Store(true)
			p.batch.refill(true)
			mixBatch(p.batch)
			p.tx.sendBatch(p.batch.bufs, p.batch.sizes, p.batch.out)
			p.sent += benchBatch / 2
			p.dev.waitFor(p.sent)
			if got6.Load() != 0 {
				t.Fatal("IPv6 delivered before the receiver's IPV6CP opened")
			}
			p.rx.ipv6.Store(true)
			for range 300 {
				for i, b := range p.batch.bufs {
					if i%2 == 1 {
						copy(b[TunOffset:], v6)
					} else {
						copy(b[TunOffset:], p.batch.tmpl)
					}
				}
				p.tx.sendBatch(p.batch.bufs, p.batch.sizes, p.batch.out)
				p.sent += benchBatch
				p.dev.waitFor(p.sent)
			}
			if bad.Load() != 0 || got6.Load() != 300*benchBatch/2 {
				t.Fatalf("%d changed, %d IPv6 delivered", bad.Load(), got6.Load())
			}
			if testing.Short() {
				return
			}
			p.dev.check = nil
			refill := func() {
				for i, b := range p.batch.bufs {
					if i%2 == 1 {
						copy(b[TunOffset:TunOffset+40], v6)
					} else {
						copy(b[TunOffset:TunOffset+20], p.batch.tmpl)
					}
				}
			}
			round := func() {
				refill()
				p.tx.sendBatch(p.batch.bufs, p.batch.sizes, p.batch.out)
				p.sent += benchBatch
				p.dev.waitFor(p.sent)
			}
			if a := testing.AllocsPerRun(200, round); a != 0 {
				t.Errorf("%v allocations per mixed batch, want 0", a)
			}
		})
	}
}

func TestIPv6HeaderOK(t *testing.T) {
	h := make([]byte, 60)
	h[0], h[5] = 0x60, 20
	if !ipv6HeaderOK(h) {
		t.Error("good header refused")
	}
	for _, b := range [][]byte{h[:39], append([]byte{0x40}, h[1:]...), func() []byte { c := bytes.Clone(h); c[5] = 21; return c }()} {
		if ipv6HeaderOK(b) {
			t.Errorf("bad header % x accepted", b[:8])
		}
	}
}

func TestIPv6Pool(t *testing.T) {
	p, err := NewIPv6Pool(netip.MustParsePrefix("2001:db8:99::/62"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		s, ok := p.Get()
		if !ok {
			break
		}
		got = append(got, s.String())
	}
	if want := "2001:db8:99:1::/64 2001:db8:99:2::/64 2001:db8:99:3::/64"; strings.Join(got, " ") != want {
		t.Fatalf("handed out %v, want %s (the ::/64 kept back)", got, want)
	}
	p.Put(netip.MustParsePrefix("2001:db8:99:2::/64"))
	if s, ok := p.Get(); !ok || s.String() != "2001:db8:99:2::/64" {
		t.Fatalf("after Put: %v %v", s, ok)
	}
	one, _ := NewIPv6Pool(netip.MustParsePrefix("2001:db8:5:6::/64"))
	if s, ok := one.Get(); !ok || s.String() != "2001:db8:5:6::/64" {
		t.Fatalf("/64 pool: %v %v", s, ok)
	}
	if _, ok := one.Get(); ok {
		t.Fatal("/64 pool handed out twice")
	}
	if _, err := NewIPv6Pool(netip.MustParsePrefix("2001:db8::/80")); err == nil {
		t.Fatal("/80 pool accepted")
	}
}

// A server's session drops IPv6 from sources other than its client's link-local address
// and /64, and counts it, as it does for IPv4.
func TestDatapathIPv6AntiSpoof(t *testing.T) {
	p := newPair(t, benchModes[1], 200)
	v6 := mixBatch(p.batch)
	p.tx.ipv6.Store(true)
	p.rx.ipv6.Store(true)
	var got6 atomic.Int64
	p.dev.check = func(b []byte) {
		if b[0]>>4 == 6 {
			got6.Add(1)
		}
	}
	src := netip.AddrFrom16([16]byte(v6[8:24]))
	p.rx.setSources6(netip.MustParseAddr("fe80::1"), netip.MustParsePrefix("2001:db8:99:1::/64"))
	p.tx.sendBatch(p.batch.bufs, p.batch.sizes, p.batch.out)
	p.sent += benchBatch / 2
	p.dev.waitFor(p.sent)
	if s := p.rx.stats.RxSpoofed.Load(); s != benchBatch/2 || got6.Load() != 0 {
		t.Fatalf("foreign source %v: %d spoofed, %d delivered", src, s, got6.Load())
	}
	p.rx.setSources6(netip.MustParseAddr("fe80::1"), netip.PrefixFrom(src, 64).Masked())
	p.batch.refill(true)
	mixBatch(p.batch)
	p.tx.sendBatch(p.batch.bufs, p.batch.sizes, p.batch.out)
	p.sent += benchBatch
	p.dev.waitFor(p.sent)
	if got6.Load() != benchBatch/2 {
		t.Fatalf("sources of the client's /64: %d of %d delivered", got6.Load(), benchBatch/2)
	}
}

// routerDev is a session stack that records SetIPv6Router.
type routerDev struct {
	tun.Device
	local, peer netip.Addr
	ad          ra.Advertisement
}

func (d *routerDev) SetIPv6Router(local, peer netip.Addr, ad ra.Advertisement) error {
	d.local, d.peer, d.ad = local, peer, ad
	return nil
}

// TestConfigureStack6: a netstack session's IPV6CP takes a /64 from the pool and hands it,
// with dns6, to its stack whether the stack is made before or after IPV6CP opened; undo
// returns the /64; a stack without IPv6 is said so in the log.
func TestConfigureStack6(t *testing.T) {
	pool, err := NewIPv6Pool(netip.MustParsePrefix("2001:db8:40::/56"))
	if err != nil {
		t.Fatal(err)
	}
	dns := []netip.Addr{netip.MustParseAddr("2001:db8:40::53")}
	s := &Server{cfg: ServerConfig{IPv6: ServerIPv6{Pool: pool, DNS: dns}}}
	sess := &PPP{dp: &datapath{}}
	p := ppp.IPv6Params{LocalID: [8]byte{0, 0, 0, 0, 0, 0, 0, 1}, PeerID: [8]byte{0, 0, 0, 0, 0, 0, 0, 2}}
	for _, first := range []string{"IPCP", "IPV6CP"} {
		logf := func(f string, a ...any) { t.Logf(f, a...) }
		var st stack6
		dev := &routerDev{}
		if first == "IPCP" {
			st.made(dev)
		}
		undo, err := s.configureStack6(logf, func() *PPP { return sess }, func() netip.Prefix { return netip.Prefix{} }, &st)(p)
		if err != nil {
			t.Fatal(err)
		}
		if first == "IPV6CP" {
			if dev.ad.Prefix.IsValid() {
				t.Fatal("configured before the stack existed")
			}
			st.made(dev)
		}
		want := netip.MustParsePrefix("2001:db8:40:1::/64")
		if dev.local != p.Local() || dev.peer != p.Peer() || dev.ad.Prefix != want || !slices.Equal(dev.ad.DNS, dns) || dev.ad.RouterLifetime == 0 {
			t.Errorf("%s first: stack got %v %v %+v; want %v", first, dev.local, dev.peer, dev.ad, want)
		}
		if s6 := sess.dp.src6.Load(); s6 == nil || s6.prefix != want || s6.ll != p.Peer() {
			t.Errorf("%s first: anti-spoofing %+v", first, s6)
		}
		undo()
		if got, _ := pool.Get(); got != want { // returned by undo: the first again
			t.Errorf("%s first: pool gave %v after undo, want %v back", first, got, want)
		}
		pool.Put(want)
	}
	var lines []string
	var st stack6
	st.made(&LazyDevice{})
	undo, _ := s.configureStack6(func(f string, a ...any) { lines = append(lines, fmt.Sprintf(f, a...)) },
		func() *PPP { return sess }, func() netip.Prefix { return netip.Prefix{} }, &st)(p)
	undo()
	if !strings.Contains(strings.Join(lines, "\n"), "carries no IPv6") {
		t.Errorf("a stack without IPv6: %q", lines)
	}
}
