// SPDX-License-Identifier: MIT

package control

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestInterleave(t *testing.T) {
	in := []netip.Addr{netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2"), netip.MustParseAddr("2001:db8::3"),
		netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("::ffff:192.0.2.2")}
	var got []string
	for _, a := range interleave(in, 99) {
		got = append(got, a.String())
	}
	want := "[2001:db8::1]:99 192.0.2.1:99 [2001:db8::2]:99 192.0.2.2:99 [2001:db8::3]:99"
	if strings.Join(got, " ") != want {
		t.Fatalf("interleave = %v, want %s", got, want)
	}
}

func TestResolveServerAddrsLiterals(t *testing.T) {
	for in, want := range map[string]string{"192.0.2.1": "192.0.2.1:1723", "2001:db8::1": "[2001:db8::1]:1723",
		"[2001:db8::1]:99": "[2001:db8::1]:99", "fe80::1%eth0": "[fe80::1%eth0]:1723"} {
		got, err := ResolveServerAddrs(context.Background(), in)
		if err != nil || len(got) != 1 || got[0].String() != want {
			t.Errorf("%s: %v %v, want %s", in, got, err, want)
		}
	}
	_, err := ResolveServerAddrs(context.Background(), "fe80::1")
	if err == nil || !strings.Contains(err.Error(), "link-local IPv6 address needs its zone") {
		t.Errorf("fe80::1 without zone: %v", err)
	}
}

// listen6 listens on [::1] (in the current namespace) with a PPTP server behind it.
func listen6(t *testing.T) (netip.AddrPort, chan *Call) {
	t.Helper()
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	calls := make(chan *Call, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			close(calls)
			return
		}
		c, _ := Accept(context.Background(), conn, ServerConfig{})
		calls <- c
	}()
	return netip.MustParseAddrPort(ln.Addr().String()), calls
}

// A name whose first address swallows SYNs and whose second is a real server over IPv6:
// the second starts HappyEyeballsDelay after the first and wins; the call is placed on it.
func TestConnectHappyEyeballsSkipsSilentAddress(t *testing.T) {
	inNetns(t, func() {
		good, calls := listen6(t)
		addrs := []netip.AddrPort{netip.AddrPortFrom(netip.MustParseAddr(silentAddr), good.Port()), good}
		start := time.Now()
		conn, err := Connect(context.Background(), addrs, ClientConfig{ConnectTimeout: 5 * time.Second})
		d := time.Since(start)
		if err != nil {
			t.Fatalf("Connect: %v", err)
		}
		if got := conn.RemoteAddr().String(); got != good.String() {
			t.Errorf("connected to %s, want %s", got, good)
		}
		if d < HappyEyeballsDelay-20*time.Millisecond || d > HappyEyeballsDelay+time.Second {
			t.Errorf("connected after %v: the second address should start %v after the first", d, HappyEyeballsDelay)
		}
		call, err := Client(context.Background(), conn, ClientConfig{})
		if err != nil {
			t.Fatalf("Client over the winner: %v", err)
		}
		call.Close()
		if sv := <-calls; sv != nil {
			sv.Close()
		}
	})
}

// A refused first address hands over at once, without waiting out the delay.
func TestConnectHappyEyeballsRefusedFallsThroughAtOnce(t *testing.T) {
	inNetns(t, func() {
		good, calls := listen6(t)
		closed, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		refused := netip.MustParseAddrPort(closed.Addr().String())
		closed.Close()
		start := time.Now()
		conn, err := Connect(context.Background(), []netip.AddrPort{refused, good}, ClientConfig{})
		if err != nil {
			t.Fatalf("Connect: %v", err)
		}
		if d := time.Since(start); d > HappyEyeballsDelay/2 {
			t.Errorf("took %v after a refusal", d)
		}
		if conn.RemoteAddr().String() != good.String() {
			t.Errorf("connected to %s", conn.RemoteAddr())
		}
		conn.Close()
		if sv := <-calls; sv != nil {
			sv.Close()
		}
	})
}

// When every address fails the error names each, and is an ErrConnect.
func TestConnectHappyEyeballsAllFail(t *testing.T) {
	inNetns(t, func() {
		closed, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		refused := netip.MustParseAddrPort(closed.Addr().String())
		closed.Close()
		silent := netip.AddrPortFrom(netip.MustParseAddr(silentAddr), 1723)
		_, err = Connect(context.Background(), []netip.AddrPort{silent, refused}, ClientConfig{ConnectTimeout: 600 * time.Millisecond})
		want := "connect to " + refused.String() + ": connection refused; connect to " + silent.String() + ": no answer within 600ms: i/o timeout"
		if err == nil || err.Error() != want {
			t.Fatalf("Connect = %v\nwant %s", err, want)
		}
		if !errors.Is(err, ErrConnect) {
			t.Errorf("%v is not an ErrConnect", err)
		}
	})
}
