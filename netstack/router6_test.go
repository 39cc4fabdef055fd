// SPDX-License-Identifier: MIT

package netstack

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"

	"github.com/pptp-go/pptp/ra"
)

var sessionAd = ra.Advertisement{HopLimit: 64, RouterLifetime: ra.RouterLife, Prefix: netip.MustParsePrefix("2001:db8:7::/64"),
	ValidLife: ra.ValidLife, PreferredLife: ra.PreferredLife, DNS: []netip.Addr{netip.MustParseAddr("2001:db8:7::53")}, DNSLife: ra.RouterLife}

// logTo collects a stack's debug lines.
func logTo(st *Stack) func() string {
	var mu sync.Mutex
	var lines []string
	st.SetLogf(func(f string, args ...any) { mu.Lock(); lines = append(lines, fmt.Sprintf(f, args...)); mu.Unlock() })
	return func() string { mu.Lock(); defer mu.Unlock(); return strings.Join(lines, "\n") }
}

// TestForwardIPv6: a client stack (New, SetIPv6) against a forwarding one (SetIPv6Router)
// takes its global address, route and DNS from the forwarding stack's answer to its
// solicitation; its TCP connections and UDP flows to IPv6 addresses reach the handler
// with their true endpoints; its echo requests to others go to Handler.Ping (and only its
// Reply answers them); an advertisement from the client does not configure the router.
func TestForwardIPv6(t *testing.T) {
	far := netip.MustParseAddrPort("[2001:db8:99::1]:80")
	pingable := netip.MustParseAddr("2001:db8:99::44")
	flows := make(chan Flow, 4)
	b, err := NewForwarding(addrB, 1400, Handler{
		Allow: func(udp bool, f Flow) bool { return true },
		TCP: func(r *TCPRequest) {
			flows <- r.Flow
			c, err := r.Accept()
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(c, c)
			c.Close()
		},
		UDP: func(r *UDPRequest) {
			flows <- r.Flow
			c, err := r.Accept()
			if err != nil {
				t.Error(err)
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 100)
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if n, err := c.Read(buf); err == nil {
					c.Write(append([]byte("re:"), buf[:n]...))
				}
			}()
		},
		Ping: func(r *PingRequest) {
			if r.Dst == pingable {
				go r.Reply()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(addrA, nil, 1400)
	if err != nil {
		t.Fatal(err)
	}
	join(t, a, b)
	blog, alog := logTo(b), logTo(a)
	if err := b.SetIPv6(llB, llA); err == nil {
		t.Error("SetIPv6 took a forwarding stack")
	}
	if err := a.SetIPv6Router(llA, llB, sessionAd); err == nil {
		t.Error("SetIPv6Router took a client's stack")
	}
	if err := b.SetIPv6Router(llB, llA, sessionAd); err != nil {
		t.Fatal(err)
	}
	if err := a.SetIPv6(llA, llB); err != nil { // its solicitation is answered
		t.Fatal(err)
	}
	want := netip.MustParseAddr("2001:db8:7::a")
	if !waitFor(func() bool { return a.IPv6Addr() == want }) {
		t.Fatalf("client's address %v, want %v:\n%s\n%s", a.IPv6Addr(), want, alog(), blog())
	}
	if !slices.Contains(a.DNSServers(), netip.MustParseAddr("2001:db8:7::53")) {
		t.Errorf("client's DNS %v: no RDNSS server", a.DNSServers())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := a.DialContext(ctx, "tcp", far.String())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "over six")
	buf := make([]byte, 100)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := io.ReadFull(c, buf[:8]); err != nil || string(buf[:n]) != "over six" {
		t.Fatalf("TCP echo %q, %v", buf[:n], err)
	}
	c.Close()
	if f := <-flows; f.Dst != far || f.Src.Addr() != want {
		t.Errorf("TCP flow %v → %v, want %v → %v", f.Src, f.Dst, want, far)
	}
	u, err := a.DialContext(ctx, "udp6", "[2001:db8:99::2]:5353")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	u.Write([]byte("q"))
	u.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := u.Read(buf); err != nil || string(buf[:n]) != "re:q" {
		t.Fatalf("UDP reply %q, %v", buf[:n], err)
	}
	if f := <-flows; f.Dst != netip.MustParseAddrPort("[2001:db8:99::2]:5353") || f.Src.Addr() != want {
		t.Errorf("UDP flow %v → %v", f.Src, f.Dst)
	}

	echo := func(dst netip.Addr) error {
		p, err := a.DialContext(ctx, "ping6", dst.String())
		if err != nil {
			return err
		}
		defer p.Close()
		req := make([]byte, 8+4)
		req[0] = byte(header.ICMPv6EchoRequest)
		binary.BigEndian.PutUint16(req[6:], 9)
		copy(req[8:], "six!")
		if _, err := p.Write(req); err != nil {
			return err
		}
		p.SetReadDeadline(time.Now().Add(time.Second))
		n, err := p.Read(buf)
		if err != nil {
			return err
		}
		if n != len(req) || buf[0] != byte(header.ICMPv6EchoReply) || binary.BigEndian.Uint16(buf[6:]) != 9 || string(buf[8:n]) != "six!" {
			return fmt.Errorf("reply % x", buf[:n])
		}
		return nil
	}
	if err := echo(pingable); err != nil {
		t.Errorf("ping6 %v: %v", pingable, err)
	}
	if err := echo(netip.MustParseAddr("2001:db8:99::45")); err == nil {
		t.Error("an echo the handler did not answer got a reply")
	}

	// A client advertising a prefix of its own: dropped, named in the log.
	a.inject(advertisement(llA, 255, ra.Advertisement{RouterLifetime: time.Hour, Prefix: netip.MustParsePrefix("2001:db8:bad::/64"),
		ValidLife: time.Hour, PreferredLife: time.Hour}))
	if !waitFor(func() bool { return strings.Contains(blog(), "dropped a Router Advertisement from the client") }) {
		t.Errorf("the client's advertisement not reported:\n%s", blog())
	}
}

// readRA reads the next packet st sends and checks it is sessionAd's advertisement from
// src to all-nodes, hop limit 255, checksum valid.
func readRA(t *testing.T, st *Stack, src netip.Addr) {
	t.Helper()
	bufs, sizes := [][]byte{make([]byte, 2048)}, []int{0}
	if n, err := st.Read(bufs, sizes, 0); err != nil || n != 1 {
		t.Fatalf("Read: %d, %v", n, err)
	}
	p := bufs[0][:sizes[0]]
	h := header.IPv6(p)
	if !checksums6OK(p) || h.HopLimit() != 255 || h.SourceAddress() != tcpip.AddrFrom16(src.As16()) ||
		h.DestinationAddress() != tcpip.AddrFrom16(allNodes.As16()) {
		t.Fatalf("% x is no advertisement from %v to all-nodes", p, src)
	}
	ad, err := ra.Parse(h.Payload())
	if err != nil || ad.Prefix != sessionAd.Prefix || !slices.Equal(ad.DNS, sessionAd.DNS) || ad.RouterLifetime != sessionAd.RouterLifetime {
		t.Fatalf("advertisement %+v, %v; want %+v", ad, err, sessionAd)
	}
}

// TestRouterSolicitations: the forwarding stack advertises when IPv6 starts, answers a
// solicitation, answers one more only minRADelay later (a client soliciting in a loop),
// and drops solicitations that are not from its link (hop limit below 255).
func TestRouterSolicitations(t *testing.T) {
	st, err := NewForwarding(addrB, 1400, Handler{Allow: func(bool, Flow) bool { return true }, TCP: func(*TCPRequest) {}, UDP: func(*UDPRequest) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	logged := logTo(st)
	if err := st.SetIPv6Router(llB, llA, sessionAd); err != nil {
		t.Fatal(err)
	}
	readRA(t, st, llB) // unsolicited, at once
	rs := routerSolicitation(llA)
	st.Write([][]byte{slices.Clone(rs)}, 0)
	readRA(t, st, llB)
	st.Write([][]byte{slices.Clone(rs)}, 0)
	if n := st.ep.NumQueued(); n != 0 || !strings.Contains(logged(), "not answered") {
		t.Fatalf("a second solicitation at once: %d packets queued, log:\n%s", n, logged())
	}
	far := routerSolicitation(llA)
	header.IPv6(far).SetHopLimit(64) // the checksum does not cover it
	st.Write([][]byte{far}, 0)
	if n := st.ep.NumQueued(); n != 0 || !strings.Contains(logged(), "hop limit 64") {
		t.Fatalf("a routed solicitation: %d packets queued, log:\n%s", n, logged())
	}
}

// TestRepeat: the periodic advertisement's loop calls at every interval and stops with its
// context (in a synctest bubble: exact times; gVisor's goroutines cannot run in one).
func TestRepeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		start := time.Now()
		var at []time.Duration
		done := make(chan struct{})
		go func() { repeat(ctx, ra.Interval, func() { at = append(at, time.Since(start)) }); close(done) }()
		time.Sleep(3*ra.Interval + time.Second)
		cancel()
		<-done
		time.Sleep(2 * ra.Interval)
		if want := []time.Duration{ra.Interval, 2 * ra.Interval, 3 * ra.Interval}; !slices.Equal(at, want) {
			t.Errorf("called at %v, want %v", at, want)
		}
	})
}

// TestRouterAdvertisesPeriodically: without solicitations the advertisement is repeated
// every raInterval (a real, short one: the stack's own timing is TestRepeat's).
func TestRouterAdvertisesPeriodically(t *testing.T) {
	defer func(d time.Duration) { raInterval = d }(raInterval)
	raInterval = 50 * time.Millisecond
	st, err := NewForwarding(addrB, 1400, Handler{Allow: func(bool, Flow) bool { return true }, TCP: func(*TCPRequest) {}, UDP: func(*UDPRequest) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.SetIPv6Router(llB, llA, sessionAd); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for range 3 {
		readRA(t, st, llB)
	}
	if d := time.Since(start); d < 2*raInterval {
		t.Errorf("3 advertisements in %v, want the 2nd and 3rd %v apart", d, raInterval)
	}
}
