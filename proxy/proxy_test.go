// SPDX-License-Identifier: MIT

package proxy

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/proxy"
	"golang.zx2c4.com/wireguard/tun"

	"github.com/pptp-go/pptp/internal/testdns"
	"github.com/pptp-go/pptp/netstack"
)

var (
	nsClient = netip.MustParseAddr("10.64.0.2") // proxy side
	nsServer = netip.MustParseAddr("10.64.0.1") // "the VPN": web and DNS server
)

const (
	webName  = "web.tunnel.test" // resolvable only through the tunnel's DNS
	bigSize  = 5 << 20
	pageBody = "hello through the tunnel\n"
)

// bigBody is the deterministic 5 MiB test body and its SHA-256.
var bigBody, bigSum = func() ([]byte, [32]byte) {
	b := make([]byte, bigSize)
	r := rand.NewChaCha8([32]byte{'n', 'e', 't', 'i', 'f'})
	r.Read(b)
	return b, sha256.Sum256(b)
}()

// tunnelPair wires two netstacks back to back in memory, like the two ends of a PPP link,
// and runs a web server (:80) and a DNS server (:53) on the server side.
type tunnelPair struct {
	clientNet *netstack.Stack
	stop      func()
}

func newTunnelPair(t testing.TB) *tunnelPair {
	t.Helper()
	cdev, err := netstack.New(nsClient, []netip.Addr{nsServer}, 1400)
	if err != nil {
		t.Fatal(err)
	}
	cnet := cdev
	sdev, err := netstack.New(nsServer, nil, 1400)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { pump(cdev, sdev) })
	wg.Go(func() { pump(sdev, cdev) })

	ln, err := sdev.ListenTCP("tcp", netip.AddrPortFrom(nsServer, 80))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%sHost=%s Proxy-Connection=%q\n", pageBody, r.Host, r.Header.Get("Proxy-Connection"))
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(bigBody)))
		w.Write(bigBody)
	})
	web := &http.Server{Handler: mux}
	wg.Go(func() { web.Serve(ln) })

	uc, err := sdev.ListenUDP("udp", netip.AddrPortFrom(nsServer, 53))
	if err != nil {
		t.Fatal(err)
	}
	wg.Go(func() { testdns.Serve(uc, map[string]netip.Addr{webName + ".": nsServer}) })

	return &tunnelPair{clientNet: cnet, stop: func() {
		web.Close()
		uc.Close()
		cdev.Close()
		sdev.Close()
		wg.Wait()
	}}
}

// pump moves packets from one device to the other at the session's offsets.
func pump(from, to tun.Device) {
	const offset = 16
	bufs := make([][]byte, from.BatchSize())
	for i := range bufs {
		bufs[i] = make([]byte, offset+65535)
	}
	sizes := make([]int, len(bufs))
	out := make([][]byte, len(bufs))
	for {
		n, err := from.Read(bufs, sizes, offset)
		if err != nil {
			return
		}
		for i := range n {
			out[i] = bufs[i][:offset+sizes[i]]
		}
		if _, err := to.Write(out[:n], offset); err != nil && errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

// serve starts fn on a fresh loopback listener and returns its address and a stop function
// that cancels ctx and checks that fn returned nil promptly.
func serve(t testing.TB, fn func(context.Context, net.Listener, Dialer) error, tnet Dialer) (string, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx, ln, tnet) }()
	return ln.Addr().String(), func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v after cancel", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("serve did not return after cancel")
		}
	}
}

func fetch(t *testing.T, c *http.Client, u string) []byte {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: body: %v", u, err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s %s", u, resp.Status, b)
	}
	return b
}

func checkPageAndBig(t *testing.T, c *http.Client, base string) {
	t.Helper()
	page := fetch(t, c, base+"/page")
	if !strings.HasPrefix(string(page), pageBody) {
		t.Errorf("page %q", page)
	}
	big := fetch(t, c, base+"/big")
	if len(big) != bigSize || sha256.Sum256(big) != bigSum {
		t.Errorf("big body: %d bytes, sha256 mismatch=%v", len(big), sha256.Sum256(big) != bigSum)
	}
}

func TestServeSOCKS5(t *testing.T) {
	tp := newTunnelPair(t)
	defer tp.stop()
	addr, stop := serve(t, ServeSOCKS5, tp.clientNet)
	defer stop()

	d, err := proxy.SOCKS5("tcp", addr, nil, proxy.Direct)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{DialContext: d.(proxy.ContextDialer).DialContext}, Timeout: 60 * time.Second}
	defer c.CloseIdleConnections()
	checkPageAndBig(t, c, "http://"+webName) // name resolved by the proxy through the tunnel DNS
	checkPageAndBig(t, c, "http://"+nsServer.String())

	// Unknown name: the tunnel DNS says NXDOMAIN, the proxy says host unreachable.
	if _, err := d.(proxy.ContextDialer).DialContext(context.Background(), "tcp", "nowhere.tunnel.test:80"); err == nil {
		t.Error("dial to an unknown name succeeded")
	}
	// Closed port in the tunnel.
	if _, err := d.(proxy.ContextDialer).DialContext(context.Background(), "tcp", nsServer.String()+":81"); err == nil {
		t.Error("dial to a closed port succeeded")
	}

	// UDP ASSOCIATE would relay outside the tunnel: refused (reply code 2, ruleset).
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	conn.Write([]byte{5, 1, 0})
	greet := make([]byte, 2)
	if _, err := io.ReadFull(conn, greet); err != nil || greet[1] != 0 {
		t.Fatalf("greeting %v %v", greet, err)
	}
	conn.Write([]byte{5, 3, 0, 1, 0, 0, 0, 0, 0, 0})
	rep := make([]byte, 2)
	if _, err := io.ReadFull(conn, rep); err != nil || rep[1] != 2 {
		t.Errorf("UDP ASSOCIATE reply %v %v, want code 2 (not allowed by ruleset)", rep, err)
	}
}

func TestServeHTTPProxyForward(t *testing.T) {
	tp := newTunnelPair(t)
	defer tp.stop()
	addr, stop := serve(t, ServeHTTPProxy, tp.clientNet)
	defer stop()

	pu, _ := url.Parse("http://" + addr)
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}, Timeout: 60 * time.Second}
	defer c.CloseIdleConnections()
	checkPageAndBig(t, c, "http://"+webName)
	checkPageAndBig(t, c, "http://"+nsServer.String())

	// Hop-by-hop headers do not travel; Host does.
	req, _ := http.NewRequest("GET", "http://"+webName+"/page", nil)
	req.Header.Set("Proxy-Connection", "keep-alive")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "Host="+webName+" ") || !strings.Contains(string(b), `Proxy-Connection=""`) {
		t.Errorf("server saw %q", b)
	}

	// Unreachable upstream: 502 with the reason.
	resp, err = c.Get("http://" + nsServer.String() + ":81/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("closed port: %s", resp.Status)
	}

	// Not a proxy request.
	resp, err = http.Get("http://" + addr + "/page")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("origin-form request: %s", resp.Status)
	}
}

// TestServeHTTPProxyConnect sends CONNECT and the tunnelled request in one write, so the
// proxy must forward bytes it buffered while reading the CONNECT.
func TestServeHTTPProxyConnect(t *testing.T) {
	tp := newTunnelPair(t)
	defer tp.stop()
	addr, stop := serve(t, ServeHTTPProxy, tp.clientNet)
	defer stop()

	for _, path := range []string{"/page", "/big"} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(60 * time.Second))
		fmt.Fprintf(conn, "CONNECT %s:80 HTTP/1.1\r\nHost: %s:80\r\n\r\nGET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", webName, webName, path, webName)
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"})
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("CONNECT: %v %v", resp, err)
		}
		resp, err = http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("tunnelled GET %s: %v", path, err)
		}
		b, err := io.ReadAll(resp.Body)
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		switch path {
		case "/page":
			if !strings.HasPrefix(string(b), pageBody) {
				t.Errorf("page %q", b)
			}
		case "/big":
			if len(b) != bigSize || sha256.Sum256(b) != bigSum {
				t.Errorf("big body via CONNECT: %d bytes, hash mismatch", len(b))
			}
		}
	}

	// CONNECT to a closed port: 502.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "CONNECT %s:81 HTTP/1.1\r\nHost: x\r\n\r\n", nsServer)
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: "CONNECT"})
	if err != nil || resp.StatusCode != http.StatusBadGateway {
		t.Errorf("CONNECT to a closed port: %v %v", resp, err)
	}
}

// TestServeStopsConnections: cancelling ctx closes a live CONNECT tunnel and a live SOCKS5
// connection, not only the listener.
func TestServeStopsConnections(t *testing.T) {
	tp := newTunnelPair(t)
	defer tp.stop()
	for name, fn := range map[string]func(context.Context, net.Listener, Dialer) error{
		"http": ServeHTTPProxy, "socks5": ServeSOCKS5,
	} {
		addr, stop := serve(t, fn, tp.clientNet)
		var conn net.Conn
		var err error
		if name == "http" {
			conn, err = net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(conn, "CONNECT %s:80 HTTP/1.1\r\nHost: x\r\n\r\n", nsServer)
			if resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: "CONNECT"}); err != nil || resp.StatusCode != 200 {
				t.Fatalf("CONNECT: %v %v", resp, err)
			}
		} else {
			d, _ := proxy.SOCKS5("tcp", addr, nil, proxy.Direct)
			conn, err = d.Dial("tcp", nsServer.String()+":80")
			if err != nil {
				t.Fatal(err)
			}
		}
		stop()
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = conn.Read(make([]byte, 1))
		if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("%s: connection still open after cancel: %v", name, err)
		}
		conn.Close()
	}
}

// BenchmarkHTTPProxyBig measures proxy throughput through two in-memory netstacks (both
// TCP/IP stacks and the copy loops run on this machine's two cores).
func BenchmarkHTTPProxyBig(b *testing.B) {
	tp := newTunnelPair(b)
	defer tp.stop()
	addr, stop := serve(b, ServeHTTPProxy, tp.clientNet)
	defer stop()
	pu, _ := url.Parse("http://" + addr)
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}}
	defer c.CloseIdleConnections()
	b.SetBytes(bigSize)
	b.ReportAllocs()
	for b.Loop() {
		resp, err := c.Get("http://" + nsServer.String() + "/big")
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if n != bigSize {
			b.Fatalf("%d bytes", n)
		}
	}
}

// With credentials set, SOCKS5 refuses a client offering no authentication and one with a
// wrong password (RFC 1929), and serves one with the right ones; the HTTP proxy answers 407
// without Proxy-Authorization and forwards with it, never passing the header on.
func TestProxiesWithAuth(t *testing.T) {
	tp := newTunnelPair(t)
	defer tp.stop()
	a := Auth{User: "me", Password: "s3cret"}
	addr, stop := serve(t, func(ctx context.Context, ln net.Listener, d Dialer) error { return ServeSOCKS5Auth(ctx, ln, d, a) }, tp.clientNet)
	defer stop()
	for _, tc := range []struct {
		auth *proxy.Auth
		ok   bool
	}{{nil, false}, {&proxy.Auth{User: "me", Password: "wrong"}, false}, {&proxy.Auth{User: "me", Password: "s3cret"}, true}} {
		d, err := proxy.SOCKS5("tcp", addr, tc.auth, proxy.Direct)
		if err != nil {
			t.Fatal(err)
		}
		c, err := d.(proxy.ContextDialer).DialContext(context.Background(), "tcp", nsServer.String()+":80")
		if (err == nil) != tc.ok {
			t.Errorf("SOCKS5 with %+v: %v", tc.auth, err)
		}
		if c != nil {
			c.Close()
		}
	}

	haddr, hstop := serve(t, func(ctx context.Context, ln net.Listener, d Dialer) error { return ServeHTTPProxyAuth(ctx, ln, d, a) }, tp.clientNet)
	defer hstop()
	for _, tc := range []struct {
		userinfo string
		status   int
	}{{"", http.StatusProxyAuthRequired}, {"me:nope@", http.StatusProxyAuthRequired}, {"me:s3cret@", 200}} {
		pu, _ := url.Parse("http://" + tc.userinfo + haddr)
		c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}, Timeout: 60 * time.Second}
		resp, err := c.Get("http://" + webName + "/page")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		c.CloseIdleConnections()
		if resp.StatusCode != tc.status {
			t.Errorf("HTTP proxy with %q: %s", tc.userinfo, resp.Status)
		}
		if tc.status == 200 && strings.Contains(string(b), "Proxy-Authorization") {
			t.Errorf("the credentials were forwarded: %q", b)
		}
	}
}
