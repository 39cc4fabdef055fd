// SPDX-License-Identifier: MIT

package gre

import (
	"fmt"
	"net/netip"
	"os"
	"sync/atomic"
	"testing"

	"github.com/pptp-go/pptp/internal/nstest"
)

// nsPair is an nstest.Pair with the addresses parsed: namespace a at addrA on devA, b at
// addrB on devB.
type nsPair struct {
	a, b         string
	addrA, addrB netip.Addr
	devA, devB   string
}

func newNSPair(tb testing.TB) *nsPair {
	tb.Helper()
	p := nstest.NewPair(tb, "gretest")
	return &nsPair{a: p.A, b: p.B, devA: p.DevA, devB: p.DevB,
		addrA: netip.MustParseAddr(p.AddrA), addrB: netip.MustParseAddr(p.AddrB)}
}

var pairSeq atomic.Int32

// newNSPair6 is newNSPair joined by IPv6 alone: the veth's IPv4 addresses are removed and
// each end has a ULA (fd00:…, no duplicate address detection, so usable at once).
func newNSPair6(tb testing.TB) *nsPair {
	tb.Helper()
	p := newNSPair(tb)
	n := pairSeq.Add(1)
	for i, c := range []struct {
		ns, dev string
		addr    *netip.Addr
	}{{p.a, p.devA, &p.addrA}, {p.b, p.devB, &p.addrB}} {
		nstest.Run(tb, c.ns, "ip", "-4", "addr", "flush", "dev", c.dev)
		*c.addr = netip.MustParseAddr(fmt.Sprintf("fd00:%x:%x::%d", os.Getpid()&0xffff, n, i+1))
		nstest.Run(tb, c.ns, "ip", "-6", "addr", "add", c.addr.String()+"/64", "dev", c.dev, "nodad")
	}
	return p
}

// families runs test over an IPv4 pair and over an IPv6 one.
func families(t *testing.T, test func(t *testing.T, p func(testing.TB) *nsPair)) {
	t.Run("ipv4", func(t *testing.T) { test(t, newNSPair) })
	t.Run("ipv6", func(t *testing.T) { test(t, newNSPair6) })
}

// dialIn opens a Conn inside ns; the socket keeps its namespace afterwards.
func dialIn(tb testing.TB, ns string, remote netip.Addr, opt Options) *Conn {
	tb.Helper()
	var c *Conn
	inNS(tb, ns, func() (err error) {
		c, err = Dial(remote, opt)
		return err
	})
	tb.Cleanup(func() { c.Close() })
	return c
}

// inNS runs fn inside ns (sockets it opens stay there); an error fails the test.
func inNS(tb testing.TB, ns string, fn func() error) {
	tb.Helper()
	if err := nstest.In(ns, fn); err != nil {
		tb.Fatal(err)
	}
}
