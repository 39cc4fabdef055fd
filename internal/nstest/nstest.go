// SPDX-License-Identifier: MIT

// Package nstest builds throwaway network namespaces for tests: one alone or two joined by a
// veth pair, functions and commands run inside them, netlink handles for them, and everything
// removed at the end of the test. Names carry the pid and a counter, so parallel test
// processes on one machine do not clash. It imports no project package, so any package's
// tests can use it.
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

	"github.com/vishvananda/netlink"
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

// next returns a fresh number and "<prefix><pid>-<number>".
func next(prefix string) (int, string) {
	n := int(seq.Add(1))
	return n, fmt.Sprintf("%s%d-%d", prefix, os.Getpid(), n)
}

// New creates an empty namespace with lo up, removed at the end of the test, and returns its
// name. It skips the test unless it runs as root.
func New(t testing.TB, prefix string) string {
	t.Helper()
	_, name := next(prefix)
	create(t, name)
	return name
}

func create(t testing.TB, name string) {
	t.Helper()
	RequireRoot(t)
	ip(t, "netns", "add", name)
	t.Cleanup(func() { Remove(name) })
	ip(t, "-n", name, "link", "set", "lo", "up")
}

func ip(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// Remove kills what still runs in namespace ns and deletes it.
func Remove(ns string) {
	if out, err := exec.Command("ip", "netns", "pids", ns).Output(); err == nil {
		for _, pid := range strings.Fields(string(out)) {
			exec.Command("kill", "-KILL", pid).Run()
		}
	}
	exec.Command("ip", "netns", "del", ns).Run()
}

// Pair is two namespaces joined by a veth pair: A (the server side) has AddrA on DevA, B has
// AddrB on DevB.
type Pair struct {
	A, B         string
	AddrA, AddrB string
	DevA, DevB   string
}

// NewPair creates the namespaces with a /24 between them from 198.18.0.0/15 (RFC 2544),
// removed at the end of the test. It skips the test unless it runs as root.
func NewPair(t testing.TB, prefix string) *Pair {
	t.Helper()
	n, id := next(prefix)
	subnet := fmt.Sprintf("198.%d.%d", 18+n/256%2, n%256)
	p := &Pair{A: id + "a", B: id + "b", AddrA: subnet + ".1", AddrB: subnet + ".2",
		DevA: fmt.Sprintf("v%da%d", os.Getpid(), n), DevB: fmt.Sprintf("v%db%d", os.Getpid(), n)}
	create(t, p.A)
	create(t, p.B)
	ip(t, "link", "add", p.DevA, "netns", p.A, "type", "veth", "peer", "name", p.DevB, "netns", p.B)
	for _, c := range [][3]string{{p.A, p.DevA, p.AddrA}, {p.B, p.DevB, p.AddrB}} {
		ip(t, "-n", c[0], "addr", "add", c[2]+"/24", "dev", c[1])
		ip(t, "-n", c[0], "link", "set", c[1], "up")
	}
	return p
}

// In runs fn on the calling goroutine, locked to its OS thread and switched into namespace
// ns, and switches back however fn ends (also by t.Fatal, which fn may call). Sockets, devices
// and processes fn creates stay in ns; goroutines fn starts do not run in it.
func In(ns string, fn func() error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	h, err := netns.GetFromName(ns)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer h.Close()
	if err := netns.Set(h); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer func() {
		// A thread left in ns must not run other goroutines; there is no safe way on.
		if err := netns.Set(orig); err != nil {
			panic(fmt.Sprintf("nstest: leaving namespace %s: %v", ns, err))
		}
		runtime.UnlockOSThread()
	}()
	return fn()
}

// Handle returns a netlink handle working in namespace ns, closed at the end of the test.
func Handle(t testing.TB, ns string) *netlink.Handle {
	t.Helper()
	nh, err := netns.GetFromName(ns)
	if err != nil {
		t.Fatalf("namespace %s: %v", ns, err)
	}
	defer nh.Close()
	h, err := netlink.NewHandleAt(nh)
	if err != nil {
		t.Fatalf("netlink handle in %s: %v", ns, err)
	}
	t.Cleanup(h.Close)
	return h
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
	err := In(ns, func() (err error) { c, err = net.DialTimeout("tcp", addr, timeout); return })
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

// Run runs a command in ns and fails the test if it fails.
func Run(t testing.TB, ns string, name string, args ...string) {
	t.Helper()
	if out, err := Output(ns, name, args...); err != nil {
		t.Fatalf("in %s: %s %s: %v\n%s", ns, name, strings.Join(args, " "), err, out)
	}
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

// SOCKS5Example builds examples/socks5 (from a package two levels below the module root)
// into a temporary directory, writes password to a file beside it, and returns the
// command line that runs it against server as user, listening on listen.
func SOCKS5Example(t testing.TB, server, user, password, listen string) []string {
	t.Helper()
	dir := t.TempDir()
	bin := dir + "/socks5"
	if out, err := exec.Command("go", "build", "-o", bin, "../../examples/socks5").CombinedOutput(); err != nil {
		t.Fatalf("building examples/socks5: %v\n%s", err, out)
	}
	pw := dir + "/password"
	if err := os.WriteFile(pw, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{bin, "-server", server, "-user", user, "-password-file", pw, "-listen", listen}
}
