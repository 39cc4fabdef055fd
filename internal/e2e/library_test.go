// SPDX-License-Identifier: MIT

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pptp-go/pptp"
	"github.com/pptp-go/pptp/egress"
	"github.com/pptp-go/pptp/internal/nstest"
	"github.com/pptp-go/pptp/internal/testdns"
	"github.com/pptp-go/pptp/netstack"
)

// libDial dials our pptpd from the client namespace with the public package alone.
func libDial(ctx context.Context, b *bed, cfg pptp.Config) (*pptp.Tunnel, error) {
	if cfg.Server == "" {
		cfg.Server = b.ns.AddrA
	}
	var t *pptp.Tunnel
	err := nstest.In(b.ns.B, func() (err error) {
		t, err = pptp.Dial(ctx, cfg)
		return err
	})
	return t, err
}

var alice = pptp.Config{User: "alice", Password: "wonderland"}

// libDial6 dials as alice and waits for the global IPv6 address from the server's
// advertisement (until then the link has no IPv6 route); the tunnel closes with the test.
func libDial6(t *testing.T, b *bed) (context.Context, *pptp.Tunnel) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	tun, err := libDial(ctx, b, alice)
	if err != nil {
		t.Fatalf("Dial: %v\nserver log:\n%s", err, b.srvLog.String())
	}
	t.Cleanup(func() { tun.Close() })
	if !nstest.WaitFor(15*time.Second, func() bool { return tun.Netstack().IPv6Addr().IsValid() }) {
		t.Fatalf("no global address from the advertisement\nserver log:\n%s", b.srvLog.String())
	}
	return ctx, tun
}

// TestLibrary: pptp.Dial with the zero Config's defaults against our pptpd, no TUN: the
// link's parameters, a TCP transfer both ways to a service behind the server, a listener
// reached from the server's side, a name resolved through the tunnel's DNS, and Close.
func TestLibrary(t *testing.T) {
	b := newBed(t, "10.99.0.100-109")
	// Behind the server: an echo-hash service and a DNS server on the server's tunnel
	// address, both in the server's namespace.
	ln, err := nstest.Listen(b.ns.A, "0.0.0.0:7001")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go nstest.Serve(ln, hashEcho)
	stopDNS := serveDNS(t, b.ns.A, "svc.test.", netip.MustParseAddr(pppLocal))
	defer stopDNS()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tun, err := libDial(ctx, b, alice)
	if err != nil {
		t.Fatalf("Dial: %v\nserver log:\n%s", err, b.srvLog.String())
	}
	p := tun.Params()
	if p.Local != netip.MustParseAddr("10.99.0.100") || p.Peer != netip.MustParseAddr(pppLocal) || p.Interface != "" ||
		p.MPPEBits != 128 || p.Encryption != "MPPE 128-bit stateless" || len(p.DNS) != 1 || p.DNS[0].String() != pppLocal ||
		p.User != "alice" || p.Auth != "MS-CHAPv2" || p.MTU == 0 || p.CallID == 0 || p.PeerCallID == 0 {
		t.Errorf("Params = %+v", p)
	}

	// A name through the tunnel's DNS, then a transfer to it.
	addrs, err := tun.LookupHost(ctx, "svc.test")
	if err != nil || len(addrs) != 1 || addrs[0] != pppLocal {
		t.Fatalf("LookupHost(svc.test) = %v, %v", addrs, err)
	}
	if got, err := tun.Resolver().LookupHost(ctx, "svc.test"); err != nil || len(got) != 1 || got[0] != pppLocal {
		t.Errorf("Resolver().LookupHost = %v, %v", got, err)
	}
	c, err := tun.DialContext(ctx, "tcp", "svc.test:7001")
	if err != nil {
		t.Fatal(err)
	}
	// A stall here was seen once in CI and never reproduced since: keep what would explain it.
	defer func() {
		if t.Failed() {
			ss, _ := nstest.Output(b.ns.A, "ss", "-tni")
			nst, _ := nstest.Output(b.ns.A, "nstat", "-a")
			t.Logf("tunnel stats at the failure: %+v\n%s\nserver namespace sockets:\n%s\ncounters:\n%s", tun.Stats(), tun.LinkStats(), ss, nst)
		}
	}()
	sendAndCheck(t, c, 8<<20)

	// The other way: a listener in the tunnel, dialled from the server's namespace.
	tl, err := tun.Listen("tcp", ":7002")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		if c, err := tl.Accept(); err == nil {
			hashEcho(c)
		}
	}()
	sc, err := nstest.Dial(b.ns.A, "10.99.0.100:7002", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	sendAndCheck(t, sc, 1<<20)
	tl.Close()

	// A UDP socket in the tunnel, reached from the server's side and answering it.
	pc, err := tun.ListenPacket("udp", ":7004")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 100)
		if n, from, err := pc.ReadFrom(buf); err == nil {
			pc.WriteTo(append([]byte("re: "), buf[:n]...), from)
		}
	}()
	var uc net.Conn
	if err := nstest.In(b.ns.A, func() (err error) { uc, err = net.Dial("udp4", "10.99.0.100:7004"); return }); err != nil {
		t.Fatal(err)
	}
	uc.Write([]byte("datagram"))
	uc.SetReadDeadline(time.Now().Add(5 * time.Second))
	reply := make([]byte, 100)
	if n, err := uc.Read(reply); err != nil || string(reply[:n]) != "re: datagram" {
		t.Errorf("UDP through the tunnel: %q, %v", reply[:n], err)
	}
	uc.Close()
	pc.Close()
	if _, err := tun.Listen("udp", ":1"); err == nil || !strings.Contains(err.Error(), "only tcp") {
		t.Errorf("Listen(udp) = %v, want an error naming the networks", err)
	}

	st := tun.Stats()
	if st.TxBytes < 8<<20 || st.RxBytes < 1<<20 || st.RxPackets < 700 || st.RxDecryptErrors != 0 || st.RTT <= 0 {
		t.Errorf("Stats = %+v", st)
	}
	select {
	case <-tun.Done():
		t.Fatalf("Done before Close: %v", tun.Err())
	default:
	}
	if err := tun.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	<-tun.Done()
	if err := tun.Err(); err != nil {
		t.Errorf("Err after Close = %v, want nil", err)
	}
	if !nstest.WaitFor(5*time.Second, func() bool { return strings.Contains(b.srvLog.String(), "session ended") }) {
		t.Errorf("server did not log the end of the session:\n%s", b.srvLog.String())
	}
	if _, err := tun.DialContext(ctx, "tcp", pppLocal+":7001"); err == nil {
		t.Errorf("DialContext after Close succeeded")
	}
}

// TestLibraryErrors: each failing stage is named, and a bad Config field too.
func TestLibraryErrors(t *testing.T) {
	b := newBed(t, "10.99.0.110-119")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var de *pptp.DialError
	for _, tc := range []struct {
		name  string
		cfg   pptp.Config
		stage pptp.Stage
		text  string
	}{
		{"no user", pptp.Config{Password: "b"}, pptp.StageConfig, "Config.User"},
		{"bad MTU", pptp.Config{User: "a", Password: "b", MTU: 100}, pptp.StageConfig, "Config.MTU"},
		{"PAP with MPPE", pptp.Config{User: "a", Password: "b", Auth: pptp.PAP}, pptp.StageConfig, "Config.Auth"},
		{"bad encryption", pptp.Config{User: "a", Password: "b", Encryption: 9}, pptp.StageConfig, "Config.Encryption"},
		{"wrong password", pptp.Config{User: "alice", Password: "nope"}, pptp.StageAuth, "E=691"},
		{"nothing listening", pptp.Config{Server: b.ns.AddrA + ":1724", User: "a", Password: "b"}, pptp.StageConnect, "connection refused"},
	} {
		tun, err := libDial(ctx, b, tc.cfg)
		if tun != nil || !errors.As(err, &de) || de.Stage != tc.stage || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: Dial = %v, %v; want stage %v and %q", tc.name, tun, err, tc.stage, tc.text)
		}
		if tun != nil {
			tun.Close()
		}
	}
	// A server without MPPE: the client's CCP fails (the zero Config requires MPPE-128).
	plain := newBed(t, "10.99.0.110-119", "require-mschap-v2", "nomppe")
	if tun, err := libDial(ctx, plain, alice); tun != nil || !errors.As(err, &de) || de.Stage != pptp.StageCCP {
		t.Errorf("Dial to a server without MPPE = %v, %v; want the encryption stage", tun, err)
	}
	if tun, err := libDial(ctx, plain, pptp.Config{User: "alice", Password: "wonderland", Encryption: pptp.AllowMPPE}); err != nil || tun.Params().Encryption != "none" {
		t.Errorf("AllowMPPE to a server without MPPE = %v, %v", tun, err)
	} else {
		tun.Close()
	}
	if _, err := pptp.Dial(ctx, pptp.Config{User: "a", Password: "b"}); err == nil || !strings.Contains(err.Error(), "Config.Server") {
		t.Errorf("Dial without a server: %v", err)
	}
	// A context that ends once the call is placed, during PPP.
	cctx, ccancel := context.WithCancel(ctx)
	cfg := alice
	cfg.Logf = func(format string, _ ...any) {
		if strings.HasPrefix(format, "connected") {
			ccancel()
		}
	}
	tun, err := libDial(cctx, b, cfg)
	if tun != nil || !errors.Is(err, context.Canceled) || !errors.As(err, &de) || de.Stage != pptp.StageLink {
		t.Errorf("cancelled Dial = %v, %v", tun, err)
	}
}

// TestLibraryLeaks: 200 Dial/Close cycles and 50 failed dials (wrong password, dead server,
// cancelled context) leave goroutines, descriptors and Call ID claims where they started.
func TestLibraryLeaks(t *testing.T) {
	// The server holds each slot until its LCP Stopping timer runs out, seconds after
	// the client has gone: enough addresses for every cycle.
	b := newBed(t, "10.99.0.2-254")
	ctx := context.Background()
	// One cycle first: the runtime's and the packages' one-time goroutines start here.
	if tun, err := libDial(ctx, b, alice); err != nil {
		t.Fatal(err)
	} else {
		tun.Close()
	}
	g0, fd0, claims0 := settle(-1), countFDs(os.Getpid()), claims(t, b)
	for i := range 200 {
		tun, err := libDial(ctx, b, alice)
		if err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		tun.Close()
	}
	for i := range 50 {
		var cfg pptp.Config
		dctx, cancel := context.WithCancel(ctx)
		switch i % 3 {
		case 0:
			cfg = pptp.Config{User: "alice", Password: "wrong"}
		case 1:
			cfg = pptp.Config{Server: b.ns.AddrA + ":1724", User: "alice", Password: "x"}
		case 2:
			cfg = alice
			time.AfterFunc(time.Duration(i)*time.Millisecond, cancel)
		}
		if tun, err := libDial(dctx, b, cfg); err == nil {
			tun.Close() // a cancel that came too late
		}
		cancel()
	}
	if g := settle(g0); g != g0 {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines: %d before, %d after:\n%s", g0, g, buf[:runtime.Stack(buf, true)])
	}
	if fd := countFDs(os.Getpid()); fd != fd0 {
		t.Errorf("descriptors: %d before, %d after", fd0, fd)
	}
	if c := claims(t, b); c != claims0 {
		t.Errorf("Call ID claims: %d before, %d after", claims0, c)
	}
}

// settle waits up to 5 s for the goroutine count to come back to want (-1: for it to stop
// changing) and returns it.
func settle(want int) int {
	n := runtime.NumGoroutine()
	for range 50 {
		time.Sleep(100 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m == want || (want < 0 && m == n) {
			return m
		}
		n = m
	}
	return n
}

// claims counts the Call ID claims (abstract unix sockets) in the client namespace.
func claims(t *testing.T, b *bed) int {
	out, err := nstest.Output(b.ns.B, "cat", "/proc/net/unix")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(out, "@pptp-go/call/")
}

// hashEcho reads until EOF and answers with the SHA-256 of what it read.
func hashEcho(c net.Conn) {
	defer c.Close()
	h := sha256.New()
	io.Copy(h, c)
	c.Write(h.Sum(nil))
}

// sendAndCheck sends n random bytes on c, half-closes it and checks the hash that comes back.
func sendAndCheck(t *testing.T, c net.Conn, n int) {
	t.Helper()
	defer c.Close()
	data := make([]byte, n)
	rand.Read(data)
	c.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := c.Write(data); err != nil {
		t.Fatalf("write: %v", err)
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	got, err := io.ReadAll(c)
	want := sha256.Sum256(data)
	if err != nil || !bytes.Equal(got, want[:]) {
		t.Fatalf("hash of %d bytes: got %x (%v), want %x", n, got, err, want)
	}
}

// serveDNS answers A (or AAAA) queries for name with addr on UDP port 53 in namespace ns.
func serveDNS(t *testing.T, ns, name string, addr netip.Addr) (stop func()) {
	var pc net.PacketConn
	if err := nstest.In(ns, func() (err error) {
		pc, err = net.ListenPacket("udp4", "0.0.0.0:53")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	go testdns.Serve(pc, map[string]netip.Addr{name: addr})
	return func() { pc.Close() }
}

// TestLibraryCapabilities: a program on the public package (examples/socks5) needs
// CAP_NET_RAW and nothing else: without CAP_NET_ADMIN it links and carries a curl; without
// CAP_NET_RAW it fails at once with words, not EPERM.
func TestLibraryCapabilities(t *testing.T) {
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv not found")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not found")
	}
	b := newBed(t, "10.99.0.130-139")
	ln, err := nstest.Listen(b.ns.A, "0.0.0.0:7003")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "behind the server\n") }))

	args := nstest.SOCKS5Example(t, b.ns.AddrA, "alice", "wonderland", "127.0.0.1:1080")

	noAdmin := nstest.Cmd(context.Background(), b.ns.B, setpriv, append([]string{"--bounding-set=-net_admin", "--inh-caps=-net_admin", "--"}, args...)...)
	log := nstest.NewBuffer()
	noAdmin.Stdout, noAdmin.Stderr = log, log
	if err := noAdmin.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { noAdmin.Process.Signal(syscall.SIGINT); noAdmin.Wait() }()
	if !nstest.WaitFor(15*time.Second, func() bool { return strings.Contains(log.String(), "SOCKS5 on") }) {
		t.Fatalf("no link without CAP_NET_ADMIN:\n%s", log.String())
	}
	if out, err := nstest.Output(b.ns.B, "curl", "-sS", "--max-time", "20", "--socks5-hostname", "127.0.0.1:1080", "http://"+pppLocal+":7003/"); err != nil || out != "behind the server\n" {
		t.Errorf("curl through the example: %v %q\n%s", err, out, log.String())
	}

	out, err := nstest.Output(b.ns.B, setpriv, append([]string{"--bounding-set=-net_raw", "--inh-caps=-net_raw", "--"}, append(args[:len(args)-1:len(args)-1], "127.0.0.1:1081")...)...)
	if err == nil || !strings.Contains(out, "local set-up") || !strings.Contains(out, "needs root or CAP_NET_RAW") {
		t.Errorf("without CAP_NET_RAW: %v\n%s", err, out)
	}
}

// TestLibraryServer: a Go program's PPTP server (pptp.Serve, in a process of its own in the
// server namespace) whose sessions' flows go on through egress from that process, reached by
// pptp.Dial from the client namespace: a TCP transfer to a service only the server's
// namespace reaches, and the deny list refusing the server's loopback.
func TestLibraryServer(t *testing.T) {
	if os.Getenv("PPTP_TEST_SERVE") != "" {
		t.Skip("the server process's own run")
	}
	ns := nstest.NewPair(t, "ls")
	// The service: on an address of the server namespace's loopback, not routed anywhere.
	nstest.Run(t, ns.A, "ip", "addr", "add", "10.200.0.7/32", "dev", "lo")
	ln, err := nstest.Listen(ns.A, "10.200.0.7:7001")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go nstest.Serve(ln, hashEcho)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srvLog := nstest.NewBuffer()
	cmd := nstest.Cmd(ctx, ns.A, os.Args[0], "-test.run", "^TestLibraryServerProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "PPTP_TEST_SERVE="+ns.AddrA+":1723")
	cmd.Stdout, cmd.Stderr = srvLog, srvLog
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	if !nstest.WaitFor(10*time.Second, func() bool { return strings.Contains(srvLog.String(), "serving") }) {
		t.Fatalf("the server process did not start:\n%s", srvLog.String())
	}
	var tun *pptp.Tunnel
	err = nstest.In(ns.B, func() (err error) {
		tun, err = pptp.Dial(ctx, pptp.Config{Server: ns.AddrA, User: "alice", Password: "wonderland"})
		return err
	})
	if err != nil {
		t.Fatalf("Dial: %v\nserver:\n%s", err, srvLog.String())
	}
	defer tun.Close()
	if p := tun.Params(); p.MPPEBits != 128 || p.Local != netip.MustParseAddr("10.201.0.10") {
		t.Errorf("Params = %+v", p)
	}
	c, err := tun.DialContext(ctx, "tcp", "10.200.0.7:7001")
	if err != nil {
		t.Fatalf("through the library server: %v\nserver:\n%s", err, srvLog.String())
	}
	sendAndCheck(t, c, 1<<20)
	// The server answers with a RST from 127.0.0.1, which the client's stack drops as a
	// martian: the dial fails by its deadline.
	lctx, lcancel := context.WithTimeout(ctx, 3*time.Second)
	defer lcancel()
	if _, err := tun.DialContext(lctx, "tcp", "127.0.0.1:7001"); err == nil {
		t.Error("the server host's loopback was reachable")
	}
	if !nstest.WaitFor(5*time.Second, func() bool { return strings.Contains(srvLog.String(), "denied by 127.0.0.0/8") }) {
		t.Errorf("refusal not logged:\n%s", srvLog.String())
	}
	if !strings.Contains(srvLog.String(), `session of "alice" from `+ns.AddrB) {
		t.Errorf("Handle did not see the session:\n%s", srvLog.String())
	}
}

// TestLibraryServerProcess is TestLibraryServer's server, run in the server namespace.
func TestLibraryServerProcess(t *testing.T) {
	addr := os.Getenv("PPTP_TEST_SERVE")
	if addr == "" {
		t.Skip("run by TestLibraryServer")
	}
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	t.Log("serving")
	err = pptp.Serve(ctx, ln, pptp.ServerConfig{
		Password: func(user string) (string, bool) { return "wonderland", user == "alice" },
		Local:    netip.MustParseAddr("10.201.0.1"),
		Pool:     []netip.Addr{netip.MustParseAddr("10.201.0.10"), netip.MustParseAddr("10.201.0.11")},
		Handle: func(s *pptp.ServerSession) (netstack.Handler, func()) {
			t.Logf("session of %q from %v: %s, %s", s.User, s.Client, s.Auth, s.Encryption)
			es := egress.NewSession(egress.Config{Logf: t.Logf}, "client "+s.Client.String(), nil)
			return es.Handler(), es.Close
		},
		Logf: t.Logf,
	})
	if err != nil {
		t.Error(err)
	}
}
