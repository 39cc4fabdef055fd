// SPDX-License-Identifier: MIT

package gre

import (
	"net/netip"
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
