// SPDX-License-Identifier: MIT

// Package nstest builds throwaway network namespaces for end-to-end tests: two namespaces
// joined by a veth pair, sockets opened inside either, commands run inside either, and
// everything removed at the end of the test.
package nstest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// RequireRoot skips the test unless it runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: network namespaces, TUN devices and raw sockets")
	}
}

var seq atomic.Int32

// Pair is two namespaces joined by a veth pair: A (the server side) has AddrA, B has AddrB.
type Pair struct {
	A, B         string
	AddrA, AddrB string
	t            testing.TB
}

// NewPair creates the namespaces with a /24 between them from 198.18.N.0 (RFC 2544 range).
func NewPair(t testing.TB, prefix string) *Pair {
	t.Helper()
	n := int(seq.Add(1))
	id := fmt.Sprintf("%s%d-%d", prefix, os.Getpid()%10000, n)
	p := &Pair{A: id + "a", B: id + "b", t: t,
		AddrA: fmt.Sprintf("198.18.%d.1", n), AddrB: fmt.Sprintf("198.18.%d.2", n)}
	va, vb := fmt.Sprintf("v%da%d", os.Getpid()%10000, n), fmt.Sprintf("v%db%d", os.Getpid()%10000, n)
	t.Cleanup(func() { p.Remove() })
	for _, c := range [][]string{
		{"netns", "add", p.A}, {"netns", "add", p.B},
		{"-n", p.A, "link", "set", "lo", "up"}, {"-n", p.B, "link", "set", "lo", "up"},
		{"link", "add", va, "netns", p.A, "type", "veth", "peer", "name", vb, "netns", p.B},
		{"-n", p.A, "addr", "add", p.AddrA + "/24", "dev", va}, {"-n", p.A, "link", "set", va, "up"},
		{"-n", p.B, "addr", "add", p.AddrB + "/24", "dev", vb}, {"-n", p.B, "link", "set", vb, "up"},
	} {
		if out, err := exec.Command("ip", c...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(c, " "), err, out)
		}
	}
	return p
}

// Remove kills what still runs in the namespaces and deletes them.
func (p *Pair) Remove() {
	for _, ns := range []string{p.A, p.B} {
		if out, err := exec.Command("ip", "netns", "pids", ns).Output(); err == nil {
			for _, pid := range strings.Fields(string(out)) {
				exec.Command("kill", "-KILL", pid).Run()
			}
		}
		exec.Command("ip", "netns", "del", ns).Run()
	}
}

// In runs fn on a locked OS thread switched into namespace ns. Sockets created by fn stay in
// ns after it returns and can be used from any goroutine.
func In(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is left locked (and so discarded) if switching back fails.
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		h, err := netns.GetFromName(ns)
		if err != nil {
			errc <- err
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			errc <- err
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err == nil {
			runtime.UnlockOSThread()
		}
		errc <- ferr
	}()
	return <-errc
}

// Listen opens a TCP listener inside ns.
func Listen(ns, addr string) (net.Listener, error) {
	var ln net.Listener
	err := In(ns, func() (err error) { ln, err = net.Listen("tcp4", addr); return })
	return ln, err
}

// Serve accepts connections on ln until it is closed, each handled in a goroutine of its own.
func Serve(ln net.Listener, handle func(net.Conn)) {
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
}

// Dial opens a TCP connection from inside ns.
func Dial(ns, addr string, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	err := In(ns, func() (err error) { c, err = net.DialTimeout("tcp4", addr, timeout); return })
	return c, err
}

// Cmd returns a command that runs inside ns.
func Cmd(ctx context.Context, ns string, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...)
}

// Output runs a command in ns and returns its combined output.
func Output(ns string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := Cmd(ctx, ns, name, args...).CombinedOutput()
	return string(out), err
}

// Buffer is a goroutine-safe bytes.Buffer for a process's output.
type Buffer struct {
	mu  chan struct{}
	buf bytes.Buffer
}

func NewBuffer() *Buffer { return &Buffer{mu: make(chan struct{}, 1)} }

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.Write(p)
}

func (b *Buffer) String() string {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.String()
}

// WaitFor polls cond every 50 ms until it is true or timeout passes.
func WaitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return cond()
}
