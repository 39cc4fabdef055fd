// SPDX-License-Identifier: MIT

package egress

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/things-go/go-socks5"

	"github.com/pptp-go/pptp/netstack"
	"github.com/pptp-go/pptp/proxy"
	"github.com/pptp-go/pptp/ra"
)

var (
	clientLL = netip.MustParseAddr("fe80::c")
	serverLL = netip.MustParseAddr("fe80::5")
	dns6Addr = netip.MustParseAddr("2001:db8:53::53")
)

// link6 is link with IPv6 on both stacks (link-local addresses only: the test's servers
// are on the server host's ::1).
func link6(t *testing.T, cfg Config) (*netstack.Stack, *Session, *syncLog) {
	t.Helper()
	cli, srv, s, lg := linkStacks(t, cfg, []netip.Addr{dnsAddr, dns6Addr})
	if err := srv.SetIPv6Router(serverLL, clientLL, ra.Advertisement{}); err != nil {
		t.Fatal(err)
	}
	if err := cli.SetIPv6Router(clientLL, serverLL, ra.Advertisement{}); err != nil {
		t.Fatal(err)
	}
	return cli, s, lg
}

// echoServers6 starts TCP and UDP echo servers on ::1.
func echoServers6(t *testing.T) (tcp, udp netip.AddrPort) {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
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
	pc, err := net.ListenPacket("udp6", "[::1]:0")
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

// TestDirectIPv6: a client's TCP and UDP flows to IPv6 destinations reach real sockets on
// the server host, DNS to the client's IPv6 DNS address (dns6) is answered by the server's
// resolver, its echo requests are forwarded with an ICMPv6 socket, and the default deny
// list keeps ::1 out of reach.
func TestDirectIPv6(t *testing.T) {
	tcpAddr, udpAddr := echoServers6(t)
	resolver := startDNS(t)
	cli, s, lg := link6(t, Config{Deny: []netip.Prefix{netip.MustParsePrefix("2001:db8:dead::/48")}, Resolvers: []netip.AddrPort{resolver}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	c, err := cli.DialContext(ctx, "tcp6", tcpAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	exchange(t, c, "hello over TCP/IPv6")
	c.Close()
	u, err := cli.DialContext(ctx, "udp6", udpAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	exchange(t, u, "hello over UDP/IPv6")
	u.Close()

	res := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return cli.DialContext(ctx, network, netip.AddrPortFrom(dns6Addr, 53).String())
	}}
	if addrs, err := res.LookupHost(ctx, "far.example"); err != nil || len(addrs) != 1 || addrs[0] != "192.0.2.99" {
		t.Errorf("lookup through the IPv6 DNS address: %v, %v", addrs, err)
	}

	p, err := cli.DialContext(ctx, "ping6", "::1")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	req := make([]byte, 8+3)
	req[0] = 128 // echo request
	binary.BigEndian.PutUint16(req[6:], 5)
	copy(req[8:], "six")
	p.Write(req)
	p.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 100)
	if n, err := p.Read(buf); err != nil || n != len(req) || buf[0] != 129 || string(buf[8:n]) != "six" {
		t.Errorf("ping6 ::1: % x, %v", buf[:n], err)
	}
	if s.Stats().Pings.Load() != 1 {
		t.Errorf("pings counted: %d", s.Stats().Pings.Load())
	}

	if _, err := cli.DialContext(ctx, "tcp6", "[2001:db8:dead::1]:80"); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("denied IPv6 destination: %v, want connection refused", err)
	}
	if !lg.has("denied by 2001:db8:dead::/48") {
		t.Errorf("refusal not logged: %q", lg.lines)
	}
}

// TestDefaultDenyIPv6: with the default list, the server host's ::1, the unspecified
// address and IPv4-mapped addresses (which the server would dial over IPv4, to its own
// 127.0.0.1) are refused.
func TestDefaultDenyIPv6(t *testing.T) {
	tcpAddr, _ := echoServers6(t)
	cli, s, lg := link6(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.DialContext(ctx, "tcp6", tcpAddr.String()); err == nil {
		t.Fatal("the server's ::1 was reachable")
	}
	if !lg.has("denied by ::1/128") {
		t.Errorf("log %q", lg.lines)
	}
	// A client's stack maps these to IPv4 itself, so the flows are put to the policy as
	// the forwarding stack would see them arrive.
	for _, dst := range []string{"[::ffff:127.0.0.1]:22", "[::ffff:10.1.2.3]:80", "[::]:22", "0.0.0.0:22"} {
		f := netstack.Flow{Src: netip.MustParseAddrPort("[fe80::c]:40000"), Dst: netip.MustParseAddrPort(dst)}
		if s.allow(false, f) {
			t.Errorf("%s allowed", dst)
		}
	}
}

// TestUpstreamsIPv6: IPv6 flows go through a SOCKS5 upstream (address type 4, CONNECT and
// UDP ASSOCIATE) and an HTTP CONNECT one ([v6]:port) to the destination.
func TestUpstreamsIPv6(t *testing.T) {
	tcpAddr, udpAddr := echoServers6(t)
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
	cli, _, _ := link6(t, Config{Deny: []netip.Prefix{}, Upstream: up})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := cli.DialContext(ctx, "tcp6", tcpAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	exchange(t, c, "IPv6 via SOCKS5")
	c.Close()
	if _, ok := proxied.Load("tcp " + tcpAddr.String()); !ok {
		t.Error("the TCP flow did not go through the proxy")
	}
	u, err := cli.DialContext(ctx, "udp6", udpAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	exchange(t, u, "UDP/IPv6 via SOCKS5")
	u.Close()

	hln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hln.Close()
	connects := make(chan string, 1)
	go http.Serve(hln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		connects <- r.Host
		up, err := net.Dial("tcp", r.Host)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		c, _, _ := w.(http.Hijacker).Hijack()
		io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
		go func() { io.Copy(up, c); up.Close() }()
		io.Copy(c, up)
		c.Close()
	}))
	hup, err := proxy.ParseUpstream("http://" + hln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	hcli, _, _ := link6(t, Config{Deny: []netip.Prefix{}, Upstream: hup})
	c, err = hcli.DialContext(ctx, "tcp6", tcpAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	exchange(t, c, "IPv6 via CONNECT")
	c.Close()
	if h := <-connects; h != tcpAddr.String() {
		t.Errorf("CONNECT %s, want %s", h, tcpAddr)
	}
}
