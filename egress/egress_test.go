// SPDX-License-Identifier: MIT

package egress

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/things-go/go-socks5"

	"github.com/pptp-go/pptp/internal/testdns"
	"github.com/pptp-go/pptp/netstack"
	"github.com/pptp-go/pptp/proxy"
)

var (
	clientAddr = netip.MustParseAddr("10.77.0.2")
	serverAddr = netip.MustParseAddr("10.77.0.1")
	dnsAddr    = netip.MustParseAddr("10.77.0.53")
)

// link makes a client stack joined to a forwarding stack served by a Session with cfg.
func link(t *testing.T, cfg Config) (*netstack.Stack, *Session, *syncLog) {
	t.Helper()
	cli, _, s, lg := linkStacks(t, cfg, []netip.Addr{dnsAddr})
	return cli, s, lg
}

// linkStacks is link with the client's DNS addresses, returning the server's stack too.
func linkStacks(t *testing.T, cfg Config, dns []netip.Addr) (cli, srv *netstack.Stack, s *Session, lg *syncLog) {
	t.Helper()
	lg = &syncLog{}
	cfg.Logf = lg.logf
	s = NewSession(cfg, "client test", dns)
	srv, err := netstack.NewForwarding(serverAddr, 1400, s.Handler())
	if err != nil {
		t.Fatal(err)
	}
	// The client is a forwarding stack too, refusing every flow to it: unlike New's, it
	// takes packets from loopback sources, so the test's servers can sit on 127.0.0.1.
	refuse := func(bool, netstack.Flow) bool { return false }
	cli, err = netstack.NewForwarding(clientAddr, 1400, netstack.Handler{Allow: refuse,
		TCP: func(r *netstack.TCPRequest) { r.Reject() }, UDP: func(*netstack.UDPRequest) {}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	pumpStacks := func(from, to *netstack.Stack) {
		bufs := make([][]byte, netstack.BatchSize)
		for i := range bufs {
			bufs[i] = make([]byte, 2048)
		}
		sizes := make([]int, netstack.BatchSize)
		for {
			n, err := from.Read(bufs, sizes, 0)
			if err != nil {
				return
			}
			out := make([][]byte, n)
			for i := range n {
				out[i] = bufs[i][:sizes[i]]
			}
			to.Write(out, 0)
		}
	}
	wg.Go(func() { pumpStacks(cli, srv) })
	wg.Go(func() { pumpStacks(srv, cli) })
	t.Cleanup(func() {
		s.Close()
		cli.Close()
		srv.Close()
		wg.Wait()
	})
	return cli, srv, s, lg
}

type syncLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *syncLog) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, strings.TrimSpace(fmtSprintf(format, args...)))
}

func (l *syncLog) has(sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.lines {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// echoServers starts TCP and UDP echo servers on loopback.
func echoServers(t *testing.T) (tcp, udp netip.AddrPort) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		b := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(b)
			if err != nil {
				return
			}
			pc.WriteTo(b[:n], from)
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String()), netip.MustParseAddrPort(pc.LocalAddr().String())
}

func exchange(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, len(msg))
	if _, err := io.ReadFull(c, b); err != nil || string(b) != msg {
		t.Fatalf("echo %q, %v", b, err)
	}
}

func startDNS(t *testing.T) netip.AddrPort {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go testdns.Serve(pc, map[string]netip.Addr{"far.example.": netip.MustParseAddr("192.0.2.99")})
	return netip.MustParseAddrPort(pc.LocalAddr().String())
}

// TestDirect: TCP and UDP flows reach real sockets on the server host, DNS to the
// client's DNS address is answered by the server's resolver, and a denied range is
// refused with a RST and logged.
func TestDirect(t *testing.T) {
	tcpAddr, udpAddr := echoServers(t)
	resolver := startDNS(t)
	cli, s, lg := link(t, Config{Deny: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}, Resolvers: []netip.AddrPort{resolver}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	c, err := cli.DialContext(ctx, "tcp", tcpAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	exchange(t, c, "hello over TCP")
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB both ways
	go c.Write(big)
	got := make([]byte, len(big))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("bulk echo: %v", err)
	}
	c.Close()

	u, err := cli.DialContext(ctx, "udp", udpAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	exchange(t, u, "hello over UDP")
	u.Close()

	res := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return cli.DialContext(ctx, network, netip.AddrPortFrom(dnsAddr, 53).String())
	}}
	addrs, err := res.LookupHost(ctx, "far.example")
	if err != nil || len(addrs) != 1 || addrs[0] != "192.0.2.99" {
		t.Errorf("lookup through the DNS address: %v, %v", addrs, err)
	}

	_, err = cli.DialContext(ctx, "tcp", "127.0.0.2:"+itoa(tcpAddr.Port()))
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("denied destination: %v, want connection refused", err)
	}
	if !lg.has("refused TCP to 127.0.0.2") || s.Stats().Denied.Load() != 1 {
		t.Errorf("refusal not logged or counted: %q, %d", lg.lines, s.Stats().Denied.Load())
	}
	if s.Stats().TCP.Load() != 1 || s.Stats().UDP.Load() < 2 {
		t.Errorf("flows counted: TCP %d UDP %d", s.Stats().TCP.Load(), s.Stats().UDP.Load())
	}
}

// TestDefaultDeny: with no Deny list, the server host's loopback is out of reach.
func TestDefaultDeny(t *testing.T) {
	tcpAddr, _ := echoServers(t)
	cli, _, lg := link(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.DialContext(ctx, "tcp", tcpAddr.String()); err == nil {
		t.Fatal("the server's loopback was reachable")
	}
	if !lg.has("denied by 127.0.0.0/8") {
		t.Errorf("log %q", lg.lines)
	}
}

// TestFlowLimit: flows beyond MaxFlows are refused while the first ones stay open, and
// closing one lets a new one in.
func TestFlowLimit(t *testing.T) {
	tcpAddr, _ := echoServers(t)
	cli, s, lg := link(t, Config{Deny: []netip.Prefix{}, MaxFlows: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var open []net.Conn
	for range 3 {
		c, err := cli.DialContext(ctx, "tcp", tcpAddr.String())
		if err != nil {
			t.Fatal(err)
		}
		exchange(t, c, "x")
		open = append(open, c)
	}
	if _, err := cli.DialContext(ctx, "tcp", tcpAddr.String()); err == nil {
		t.Fatal("a fourth flow was let in")
	}
	if s.Stats().OverLimit.Load() == 0 || !lg.has("3 flows open") {
		t.Errorf("limit not counted or logged: %d, %q", s.Stats().OverLimit.Load(), lg.lines)
	}
	open[0].Close()
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Open.Load() >= 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	c, err := cli.DialContext(ctx, "tcp", tcpAddr.String())
	if err != nil {
		t.Fatalf("after a flow closed: %v", err)
	}
	exchange(t, c, "y")
}

// TestIdleTimeout: a UDP flow with no traffic is closed after UDPIdle.
func TestIdleTimeout(t *testing.T) {
	_, udpAddr := echoServers(t)
	cli, s, _ := link(t, Config{Deny: []netip.Prefix{}, UDPIdle: 200 * time.Millisecond})
	u, err := cli.DialContext(context.Background(), "udp", udpAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	exchange(t, u, "z")
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Open.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := s.Stats().Open.Load(); n != 0 {
		t.Errorf("%d flows still open after the idle timeout", n)
	}
}

// TestSOCKS5Upstream: TCP and UDP (ASSOCIATE) through a SOCKS5 proxy, and a proxy that is
// down makes the client's connection fail fast while the session goes on.
func TestSOCKS5Upstream(t *testing.T) {
	tcpAddr, udpAddr := echoServers(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var proxied sync.Map
	srv := socks5.NewServer(socks5.WithDial(func(ctx context.Context, network, addr string) (net.Conn, error) {
		proxied.Store(network+" "+addr, true)
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}), socks5.WithRule(&socks5.PermitCommand{EnableConnect: true, EnableAssociate: true}),
		socks5.WithBindIP(net.IPv4(127, 0, 0, 1)))
	go srv.Serve(ln)
	t.Cleanup(func() { ln.Close() })
	up, err := proxy.ParseUpstream("socks5://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cli, s, _ := link(t, Config{Deny: []netip.Prefix{}, Upstream: up})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := cli.DialContext(ctx, "tcp", tcpAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	exchange(t, c, "via SOCKS5")
	c.Close()
	if _, ok := proxied.Load("tcp " + tcpAddr.String()); !ok {
		t.Error("the TCP flow did not go through the proxy")
	}
	u, err := cli.DialContext(ctx, "udp", udpAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	exchange(t, u, "UDP via SOCKS5")
	u.Close()

	ln.Close() // the proxy goes away
	start := time.Now()
	if _, err := cli.DialContext(ctx, "tcp", tcpAddr.String()); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("with the proxy down: %v, want connection refused", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("refusal took %v", d)
	}
	if s.Stats().Failed.Load() == 0 {
		t.Error("failure not counted")
	}
}

func TestParseResolvConf(t *testing.T) {
	got := parseResolvConf("# x\nnameserver 192.0.2.53\nsearch example\nnameserver bogus\nnameserver ::1\n")
	want := []netip.AddrPort{netip.MustParseAddrPort("192.0.2.53:53"), netip.MustParseAddrPort("[::1]:53")}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %v", got)
	}
}

func fmtSprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func itoa(p uint16) string { return strconv.Itoa(int(p)) }

// TestLogLimited: refusals of one kind are logged once a minute, with a count of those held
// back.
func TestLogLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lg := &syncLog{}
		s := NewSession(Config{Logf: lg.logf}, "client x", nil)
		for range 3 {
			s.logLimited("deny", "refused %d", 1)
		}
		s.logLimited("limit", "over")
		time.Sleep(61 * time.Second)
		s.logLimited("deny", "refused %d", 2)
		want := []string{"refused 1", "over", "refused 2 (and 2 more like it in the last minute)"}
		if strings.Join(lg.lines, "|") != strings.Join(want, "|") {
			t.Errorf("lines %q, want %q", lg.lines, want)
		}
	})
}

// hostDialer is the host's own network as a proxy.Dialer.
type hostDialer struct{ net.Dialer }

func (hostDialer) LookupHost(ctx context.Context, h string) ([]string, error) {
	return net.DefaultResolver.LookupHost(ctx, h)
}

// TestHTTPUpstream: TCP goes through an HTTP CONNECT proxy; UDP, which it cannot carry, is
// refused when its first datagram arrives, before any socket is opened for it.
func TestHTTPUpstream(t *testing.T) {
	tcpAddr, udpAddr := echoServers(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go proxy.ServeHTTPProxy(ctx, ln, &hostDialer{})
	up, err := proxy.ParseUpstream("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cli, s, lg := link(t, Config{Deny: []netip.Prefix{}, Upstream: up})
	c, err := cli.DialContext(ctx, "tcp", tcpAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	exchange(t, c, "via CONNECT")
	c.Close()
	u, err := cli.DialContext(ctx, "udp", udpAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	u.Write([]byte("q"))
	// Refused in the receive path (gVisor then answers port unreachable): no flow opened.
	deadline := time.Now().Add(5 * time.Second)
	for !lg.has("carries no UDP") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !lg.has("carries no UDP") || s.Stats().TCP.Load() != 1 || s.Stats().UDP.Load() != 0 || s.Stats().Open.Load() != 0 {
		t.Errorf("log %q, TCP flows %d, UDP %d, open %d", lg.lines, s.Stats().TCP.Load(), s.Stats().UDP.Load(), s.Stats().Open.Load())
	}
}

// TestFlood: a burst of connections from one client stops at its session's flow limit, and
// another session is untouched.
func TestFlood(t *testing.T) {
	tcpAddr, _ := echoServers(t)
	cli, s, _ := link(t, Config{Deny: []netip.Prefix{}, MaxFlows: 8})
	other, _, _ := link(t, Config{Deny: []netip.Prefix{}, MaxFlows: 8})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var mu sync.Mutex
	var ok int
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			dctx, dcancel := context.WithTimeout(ctx, 5*time.Second)
			defer dcancel()
			c, err := cli.DialContext(dctx, "tcp", tcpAddr.String())
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write([]byte("x")); err != nil {
				return
			}
			if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
				return // accepted by the stack, then ended: the flow never reached the server
			}
			mu.Lock()
			ok++
			mu.Unlock()
		})
	}
	wg.Wait()
	if ok != 8 || s.Stats().OverLimit.Load() == 0 {
		t.Errorf("%d of 40 connections worked (limit 8); %d refused over the limit", ok, s.Stats().OverLimit.Load())
	}
	c, err := other.DialContext(ctx, "tcp", tcpAddr.String())
	if err != nil {
		t.Fatalf("another session during the flood: %v", err)
	}
	exchange(t, c, "fine")
}
