// SPDX-License-Identifier: MIT

package gre

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vishvananda/netns"
)

// nsPair is two network namespaces joined by a veth pair: A at addrA, B at
// addrB. Everything is removed at the end of the test.
type nsPair struct {
	a, b         netns.NsHandle
	addrA, addrB netip.Addr
	nameA, nameB string // namespace names, for ip -n
	devA, devB   string // A's and B's ends of the veth pair
}

var nsCounter atomic.Uint32

func run(tb testing.TB, args ...string) {
	tb.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		tb.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func newNSPair(tb testing.TB) *nsPair {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root for network namespaces and raw sockets")
	}
	id := nsCounter.Add(1)
	tag := fmt.Sprintf("%d-%d", os.Getpid(), id)
	nsA, nsB := "gretest-a-"+tag, "gretest-b-"+tag
	vethA, vethB := fmt.Sprintf("grA%d", id), fmt.Sprintf("grB%d", id)
	p := &nsPair{
		addrA: netip.AddrFrom4([4]byte{10, 47, byte(id), 1}),
		addrB: netip.AddrFrom4([4]byte{10, 47, byte(id), 2}),
		nameA: nsA, nameB: nsB, devA: vethA, devB: vethB,
	}
	for _, ns := range []string{nsA, nsB} {
		run(tb, "ip", "netns", "add", ns)
		tb.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	}
	run(tb, "ip", "link", "add", vethA, "netns", nsA, "type", "veth", "peer", "name", vethB, "netns", nsB)
	for _, c := range []struct{ ns, dev, addr string }{
		{nsA, vethA, p.addrA.String() + "/24"},
		{nsB, vethB, p.addrB.String() + "/24"},
	} {
		run(tb, "ip", "-n", c.ns, "addr", "add", c.addr, "dev", c.dev)
		run(tb, "ip", "-n", c.ns, "link", "set", c.dev, "up")
		run(tb, "ip", "-n", c.ns, "link", "set", "lo", "up")
	}
	var err error
	if p.a, err = netns.GetFromName(nsA); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.a.Close() })
	if p.b, err = netns.GetFromName(nsB); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.b.Close() })
	return p
}

// dialIn opens a Conn inside ns; the socket keeps its namespace afterwards.
func dialIn(tb testing.TB, ns netns.NsHandle, remote netip.Addr, opt Options) *Conn {
	tb.Helper()
	var c *Conn
	inNS(tb, ns, func() (err error) {
		c, err = Dial(remote, opt)
		return err
	})
	tb.Cleanup(func() { c.Close() })
	return c
}

// inNS runs fn on a thread switched into ns (sockets it opens stay there); an error fails
// the test.
func inNS(tb testing.TB, ns netns.NsHandle, fn func() error) {
	tb.Helper()
	ch := make(chan error, 1)
	go func() {
		// A thread whose namespace could not be restored must die with
		// its goroutine, so it is only unlocked after a clean restore.
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			ch <- err
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			ch <- err
			return
		}
		err = fn()
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
		ch <- err
	}()
	if err := <-ch; err != nil {
		tb.Fatal(err)
	}
}
