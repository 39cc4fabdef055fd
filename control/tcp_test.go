// SPDX-License-Identifier: MIT

package control

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serveOne accepts one connection on a loopback listener and runs Accept on it.
func serveOne(t *testing.T, cfg ServerConfig) (addr string, calls chan *Call) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	calls = make(chan *Call, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			close(calls)
			return
		}
		c, err := Accept(context.Background(), conn, cfg)
		if err != nil {
			t.Errorf("Accept: %v", err)
		}
		calls <- c
	}()
	return ln.Addr().String(), calls
}

func TestTCPLoopback(t *testing.T) {
	var clog, slog logbuf
	addr, calls := serveOne(t, ServerConfig{IdleWait: 40 * time.Millisecond, MaxEchoWait: time.Second, Logf: slog.logf,
		NewCall: func(uint16, OCRQ) (uint16, error) { return 4242, nil }})
	cl, err := Dial(context.Background(), addr, ClientConfig{LocalAddr: netip.MustParseAddr("127.0.0.2"),
		IdleWait: 30 * time.Millisecond, MaxEchoWait: time.Second, Logf: clog.logf})
	if err != nil {
		t.Fatal(err)
	}
	sv := <-calls
	if sv == nil {
		t.Fatal("no server call")
	}
	if cl.LocalAddr() != netip.MustParseAddr("127.0.0.2") || cl.RemoteAddr() != netip.MustParseAddr("127.0.0.1") ||
		sv.RemoteAddr() != netip.MustParseAddr("127.0.0.2") || sv.LocalAddr() != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("addresses: client %v→%v, server %v→%v", cl.LocalAddr(), cl.RemoteAddr(), sv.LocalAddr(), sv.RemoteAddr())
	}
	if cl.PeerCallID() != 4242 || sv.PeerCallID() != cl.LocalCallID() {
		t.Errorf("call IDs: client %d/%d server %d/%d", cl.LocalCallID(), cl.PeerCallID(), sv.LocalCallID(), sv.PeerCallID())
	}
	// Both ends probe; whichever is quicker keeps the other quiet, so wait for the server
	// to have answered at least two of the client's echoes.
	deadline := time.Now().Add(5 * time.Second)
	for slog.count("Echo Request received.") < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := slog.count("Echo Request received."); n < 2 {
		t.Fatalf("server saw %d Echo-Requests", n)
	}
	if n := clog.count("Echo Reply received."); n < 1 {
		t.Errorf("client saw %d Echo-Replies", n)
	}
	if err := cl.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sv.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("server call did not end")
	}
	wantErr(t, sv.Err(), "client cleared the call (Call-Clear-Request)")
	sv.Close()
}

func TestTCPServerClosesFirst(t *testing.T) {
	addr, calls := serveOne(t, ServerConfig{})
	cl, err := Dial(context.Background(), addr, ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	sv := <-calls
	start := time.Now()
	if err := sv.Close(); err != nil {
		t.Fatal(err)
	}
	<-cl.Done()
	wantErr(t, cl.Err(), "server cleared the call: Call-Disconnect-Notify result 3 (Administrative Shutdown)")
	cl.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("teardown took %v", d)
	}
}

func TestTCPServerDropsSilentClients(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// Three clients at once: silent, garbage, half a header. Each is dropped on its own.
	var conns []net.Conn
	for _, send := range []string{"", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x00", "\x00\x9c"} {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte(send))
		conns = append(conns, c)
	}
	start := time.Now()
	errc := make(chan error, 3)
	for range conns {
		conn, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			_, err := Accept(context.Background(), conn, ServerConfig{StartTimeout: 300 * time.Millisecond})
			errc <- err
		}()
	}
	var malformed, timeouts int
	for range conns {
		err := <-errc
		switch {
		case errors.Is(err, ErrMalformed):
			malformed++
		case err != nil && strings.Contains(err.Error(), "no Start-Control-Connection-Request within 300ms"):
			timeouts++
		default:
			t.Errorf("Accept: %v", err)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v: connections were not handled in parallel within StartTimeout", d)
	}
	if malformed != 1 || timeouts != 2 {
		t.Errorf("%d malformed, %d timeouts", malformed, timeouts)
	}
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("connection not closed by the server: %v", err)
		}
	}
}

func TestDialErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	_, err = Dial(context.Background(), addr, ClientConfig{})
	wantErr(t, err, "connect to "+addr+": connection refused")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("%v does not wrap ECONNREFUSED", err)
	}

	_, err = Dial(context.Background(), "vpn.invalid", ClientConfig{ConnectTimeout: 3 * time.Second})
	var dnsErr *net.DNSError
	if err == nil || !strings.HasPrefix(err.Error(), "cannot resolve vpn.invalid: ") || !errors.As(err, &dnsErr) {
		t.Errorf("resolve: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Dial(ctx, "127.0.0.1", ClientConfig{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Dial: %v", err)
	}
}

func TestSplitServer(t *testing.T) {
	for _, tc := range []struct {
		in   string
		host string
		port uint16
	}{
		{"vpn.example", "vpn.example", 1723},
		{"vpn.example:1724", "vpn.example", 1724},
		{"192.0.2.9", "192.0.2.9", 1723},
		{"[2001:db8::1]:99", "2001:db8::1", 99},
		{"2001:db8::1", "2001:db8::1", 1723},
	} {
		if h, p := splitServer(tc.in); h != tc.host || p != tc.port {
			t.Errorf("%q: %q %d", tc.in, h, p)
		}
	}
}

// SO_MARK needs CAP_NET_ADMIN: as root it is set, otherwise Dial says why it failed.
func TestDialMark(t *testing.T) {
	addr, calls := serveOne(t, ServerConfig{})
	cl, err := Dial(context.Background(), addr, ClientConfig{Mark: 0x42})
	if os.Geteuid() != 0 {
		if err == nil || !strings.Contains(err.Error(), "SO_MARK") {
			t.Fatalf("unprivileged Dial with a mark: %v", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	cl.Close()
	if sv := <-calls; sv != nil {
		sv.Close()
	}
}

func TestDialConnectTimeout(t *testing.T) {
	inNetns(t, func() {
		start := time.Now()
		_, err := Dial(context.Background(), silentAddr, ClientConfig{ConnectTimeout: 300 * time.Millisecond})
		d := time.Since(start)
		wantErr(t, err, "connect to "+silentAddr+":1723: no answer within 300ms: i/o timeout")
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("%v does not wrap os.ErrDeadlineExceeded", err)
		}
		if d < 300*time.Millisecond || d > 2*time.Second {
			t.Errorf("gave up after %v", d)
		}
	})
}
