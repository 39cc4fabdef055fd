// SPDX-License-Identifier: MIT

// Package e2e runs our pptp against our pptpd in two network namespaces joined by a veth pair:
// real TUN devices, real raw GRE sockets, real processes.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pptp-go/pptp/control"
	"github.com/pptp-go/pptp/gre"
	"github.com/pptp-go/pptp/internal/nstest"
)

var pptpBin, pptpdBin string

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Println("e2e: skipped, needs root")
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "pptp-e2e")
	if err != nil {
		panic(err)
	}
	// Our binaries read options, secrets and ip-up/ip-down scripts from here, not from
	// the host's /etc/ppp (tests that need them write their own).
	pppDir = filepath.Join(dir, "ppp")
	os.Mkdir(pppDir, 0o700)
	os.Setenv("PPTP_GO_PPPDIR", pppDir)
	os.Setenv("PPTP_GO_RUNDIR", filepath.Join(dir, "run")) // status sockets: not in the host's /run
	pptpBin, pptpdBin = os.Getenv("PPTP_BIN"), os.Getenv("PPTPD_BIN")
	if pptpBin == "" || pptpdBin == "" {
		pptpBin, pptpdBin = filepath.Join(dir, "pptp"), filepath.Join(dir, "pptpd")
		for bin, pkg := range map[string]string{pptpBin: "../../cmd/pptp", pptpdBin: "../../cmd/pptpd"} {
			if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
				fmt.Printf("building %s: %v\n%s", pkg, err, out)
				os.Exit(1)
			}
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// pppDir is PPTP_GO_PPPDIR for every pptp and pptpd the tests start.
var pppDir string

// bed is one server namespace with our pptpd and one client namespace.
type bed struct {
	t      *testing.T
	ns     *nstest.Pair
	dir    string
	srv    *exec.Cmd
	srvLog *nstest.Buffer
	args   []string // pptpd's command line
	env    []string // added to pptpd's environment
}

const pppLocal = "10.99.0.1"

// newBed starts pptpd (MS-CHAPv2 + MPPE-128 required unless opts say otherwise).
func newBed(t *testing.T, pool string, opts ...string) *bed {
	return newBedConf(t, pool, "", opts...)
}

// newBedConf is newBed with extra pptpd.conf lines.
func newBedConf(t *testing.T, pool, confExtra string, opts ...string) *bed {
	return newBedPrep(t, nil, pool, confExtra, opts...)
}

// newBedPrep is newBedConf with prep run on the namespaces before pptpd starts.
func newBedPrep(t *testing.T, prep func(*nstest.Pair), pool, confExtra string, opts ...string) *bed {
	nstest.RequireRoot(t)
	b := &bed{t: t, ns: nstest.NewPair(t, "e2e"), dir: t.TempDir(), srvLog: nstest.NewBuffer()}
	if prep != nil {
		prep(b.ns)
	}
	if len(opts) == 0 {
		opts = []string{"require-mschap-v2", "require-mppe-128"}
	}
	write := func(name, content string) string {
		p := filepath.Join(b.dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	options := write("pptpd-options", "name pptpd\nms-dns "+pppLocal+"\n"+strings.Join(opts, "\n")+"\n")
	conf := write("pptpd.conf", fmt.Sprintf("option %s\nlocalip %s\nremoteip %s\nconnections 200\n%s", options, pppLocal, pool, confExtra))
	secrets := write("chap-secrets", "alice pptpd \"wonderland\" *\n")
	for i := 0; i < 60; i++ {
		secrets = write("chap-secrets", readFile(t, secrets)+fmt.Sprintf("user%d * pass%d *\n", i, i))
	}
	b.args = []string{"--fg", "--debug", "--conf", conf, "--chap-secrets", secrets, "--pidfile", filepath.Join(b.dir, "pptpd.pid")}
	b.startServer()
	t.Cleanup(func() {
		b.stopServer()
		if t.Failed() {
			t.Logf("pptpd log:\n%s", b.srvLog.String())
		}
	})
	return b
}

// startServer starts pptpd and waits until it listens.
func (b *bed) startServer() {
	t := b.t
	b.srv = nstest.Cmd(context.Background(), b.ns.A, pptpdBin, b.args...)
	if b.env != nil {
		b.srv.Env = append(os.Environ(), b.env...)
	}
	b.srv.Stdout, b.srv.Stderr = b.srvLog, b.srvLog
	if err := b.srv.Start(); err != nil {
		t.Fatal(err)
	}
	if !nstest.WaitFor(5*time.Second, func() bool {
		out, _ := nstest.Output(b.ns.A, "ss", "-Hltn", "sport = :1723")
		return strings.Contains(out, "1723")
	}) {
		t.Fatalf("pptpd is not listening:\n%s", b.srvLog.String())
	}
}

// stopServer ends pptpd with SIGTERM (it closes every session first).
func (b *bed) stopServer() {
	b.srv.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { b.srv.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		b.srv.Process.Kill()
		b.t.Errorf("pptpd did not exit within 10 s of SIGTERM")
	}
}

func readFile(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// client is one running pptp process.
type client struct {
	cmd  *exec.Cmd
	log  *nstest.Buffer
	done chan struct{}
	err  error
}

func (b *bed) startClient(args ...string) *client {
	return b.startClientVia(nil, args...)
}

// startClientVia runs the client under a wrapper command (e.g. setpriv).
func (b *bed) startClientVia(wrap []string, args ...string) *client {
	argv := append(append(wrap, pptpBin, b.ns.AddrA), args...)
	return startCmd(b.t, nstest.Cmd(context.Background(), b.ns.B, argv[0], argv[1:]...))
}

// startCmd starts cmd as a client: its output in the log, killed at the end of the test.
func startCmd(t testing.TB, cmd *exec.Cmd) *client {
	c := &client{log: nstest.NewBuffer(), done: make(chan struct{}), cmd: cmd}
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.err = c.cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		c.cmd.Process.Signal(syscall.SIGKILL)
		<-c.done
	})
	return c
}

func (c *client) exitCode() int {
	<-c.done
	if c.cmd.ProcessState == nil {
		return -1
	}
	return c.cmd.ProcessState.ExitCode()
}

// waitAddr waits until ifname in the client namespace has an IPv4 address and returns it.
func (b *bed) waitAddr(c *client, ifname string) string {
	var addr string
	ok := nstest.WaitFor(15*time.Second, func() bool {
		out, _ := nstest.Output(b.ns.B, "ip", "-4", "-o", "addr", "show", "dev", ifname)
		if f := strings.Fields(out); len(f) >= 4 && f[2] == "inet" {
			addr = f[3]
			return true
		}
		select {
		case <-c.done:
			return true
		default:
		}
		return false
	})
	if !ok || addr == "" {
		b.t.Fatalf("%s got no address; client log:\n%s\nserver log:\n%s", ifname, c.log.String(), b.srvLog.String())
	}
	return addr
}

func (b *bed) stop(c *client) {
	c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		b.t.Fatalf("pptp did not exit within 10 s of SIGINT:\n%s", c.log.String())
	}
	if code := c.cmd.ProcessState.ExitCode(); code != 0 {
		b.t.Errorf("pptp exit status %d after SIGINT, want 0:\n%s", code, c.log.String())
	}
}

// TestConnectPingTransferDisconnect: the core proof on our own pair.
func TestConnectPingTransferDisconnect(t *testing.T) {
	b := newBed(t, "10.99.0.100-109")
	routesBefore, _ := nstest.Output(b.ns.B, "ip", "-4", "route", "show", "table", "all")
	c := b.startClient("--user", "alice", "--password", "wonderland", "--require-mppe-128", "--route", "10.99.7.0/24")
	addr := b.waitAddr(c, "pptp0")
	if addr != "10.99.0.100" {
		t.Errorf("address %q, want 10.99.0.100", addr)
	}
	log := c.log.String()
	for _, want := range []string{"MPPE 128-bit stateless", "address 10.99.0.100 peer 10.99.0.1"} {
		if !strings.Contains(log, want) {
			t.Errorf("client log lacks %q:\n%s", want, log)
		}
	}
	if !strings.Contains(log, "--password") {
		t.Errorf("no warning that --password shows in ps:\n%s", log)
	}
	if strings.Contains(log, "wonderland") || strings.Contains(b.srvLog.String(), "wonderland") {
		t.Errorf("a log shows the password")
	}
	if out, err := nstest.Output(b.ns.B, "ping", "-c", "5", "-i", "0.2", "-W", "2", pppLocal); err != nil {
		t.Fatalf("ping through the tunnel: %v\n%s", err, out)
	}
	routes, _ := nstest.Output(b.ns.B, "ip", "-4", "route", "show")
	if !strings.Contains(routes, "10.99.7.0/24 dev pptp0") {
		t.Errorf("--route 10.99.7.0/24 missing:\n%s", routes)
	}
	transfer(t, b, 20<<20)
	b.stop(c)
	if out, _ := nstest.Output(b.ns.B, "ip", "link", "show", "pptp0"); !strings.Contains(out, "does not exist") {
		t.Errorf("pptp0 still exists after exit: %s", out)
	}
	if after, _ := nstest.Output(b.ns.B, "ip", "-4", "route", "show", "table", "all"); after != routesBefore {
		t.Errorf("routes changed:\nbefore:\n%s\nafter:\n%s", routesBefore, after)
	}
	if !nstest.WaitFor(5*time.Second, func() bool { return strings.Contains(b.srvLog.String(), "session ended") }) {
		t.Errorf("server did not log the end of the session:\n%s", b.srvLog.String())
	}
}

// transfer sends n random bytes from the client namespace to a listener in the server
// namespace through the tunnel and compares SHA-256 on both ends.
func transfer(t *testing.T, b *bed, n int64) {
	t.Helper()
	start := time.Now()
	r := rate(t, b, pppLocal, n)
	t.Logf("%d MB through the tunnel intact in %v (%.0f Mbit/s)", n>>20, time.Since(start).Round(time.Millisecond), r)
}

// TestWrongPassword: non-zero exit with the server's E=691 in words; no address consumed.
func TestWrongPassword(t *testing.T) {
	b := newBed(t, "10.99.0.100-100")
	c := b.startClient("--user", "alice", "--password", "nope")
	if code := c.exitCode(); code != 19 {
		t.Errorf("exit status %d, want 19 (pppd: authentication failed)\n%s", code, c.log.String())
	}
	if log := c.log.String(); !strings.Contains(log, "691") {
		t.Errorf("client message lacks E=691:\n%s", log)
	}
	srv := b.srvLog.String()
	if !strings.Contains(srv, "alice") || strings.Contains(srv, "nope") {
		t.Errorf("server log should name the user and never the secret:\n%s", srv)
	}
	// Once the failed session is over, the only address in the pool must be free again.
	if !nstest.WaitFor(10*time.Second, func() bool { return strings.Contains(b.srvLog.String(), "session ended") }) {
		t.Fatalf("server did not end the failed session:\n%s", b.srvLog.String())
	}
	c2 := b.startClient("--user", "alice", "--password", "wonderland")
	b.waitAddr(c2, "pptp0")
	b.stop(c2)
}

// TestNothingListening: a clear message within the connect timeout, no hang.
func TestNothingListening(t *testing.T) {
	nstest.RequireRoot(t)
	ns := nstest.NewPair(t, "e2n")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	out, err := nstest.Cmd(ctx, ns.B, pptpBin, ns.AddrA, "--user", "a", "--password", "b").CombinedOutput()
	if err == nil {
		t.Fatalf("pptp succeeded with nothing listening:\n%s", out)
	}
	if !strings.Contains(string(out), "refused") {
		t.Errorf("message does not say connection refused:\n%s", out)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestFiftyClients: 50 of our clients on one pptpd at once, each pinging through its own
// tunnel, then all disconnected: the server is left with no session TUN devices, and its
// file descriptors and threads return to where they were.
func TestFiftyClients(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	const n = 50
	b := newBed(t, "10.99.0.100-199")
	fdsBefore := countFDs(b.srv.Process.Pid)
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = b.startClient("--user", fmt.Sprintf("user%d", i), "--password", fmt.Sprintf("pass%d", i),
			"--ifname", fmt.Sprintf("c%d", i), "--nohostroute")
		time.Sleep(20 * time.Millisecond)
	}
	for i, c := range clients {
		b.waitAddr(c, fmt.Sprintf("c%d", i))
	}
	for i := range clients {
		if out, err := nstest.Output(b.ns.B, "ping", "-c", "2", "-i", "0.2", "-W", "2", "-I", fmt.Sprintf("c%d", i), pppLocal); err != nil {
			t.Errorf("client %d ping: %v\n%s", i, err, out)
		}
	}
	links, _ := nstest.Output(b.ns.A, "ip", "-o", "link", "show")
	if got := strings.Count(links, "pptpd"); got != n {
		t.Errorf("server has %d session interfaces, want %d", got, n)
	}
	for _, c := range clients {
		c.cmd.Process.Signal(syscall.SIGINT)
	}
	for i, c := range clients {
		select {
		case <-c.done:
		case <-time.After(20 * time.Second):
			t.Fatalf("client %d did not exit", i)
		}
	}
	if !nstest.WaitFor(15*time.Second, func() bool {
		links, _ := nstest.Output(b.ns.A, "ip", "-o", "link", "show")
		return !strings.Contains(links, "pptpd")
	}) {
		links, _ := nstest.Output(b.ns.A, "ip", "-o", "link", "show")
		t.Errorf("session interfaces left on the server:\n%s", links)
	}
	if addrs, _ := nstest.Output(b.ns.A, "ip", "-4", "-o", "addr", "show"); strings.Contains(addrs, pppLocal) {
		t.Errorf("addresses left on the server:\n%s", addrs)
	}
	// All from one address: the first call has a GRE socket of its own, the others share
	// the server's gre.Mux.
	// (Each call logs that as it ends, which may be after its interface has gone.)
	muxed := func() int { return strings.Count(b.srvLog.String(), "; shared GRE socket") }
	nstest.WaitFor(10*time.Second, func() bool { return muxed() >= n-1 })
	if got := muxed(); got != n-1 {
		t.Errorf("%d calls on the shared GRE socket, want %d", got, n-1)
	}
	nstest.WaitFor(5*time.Second, func() bool { return countFDs(b.srv.Process.Pid) <= fdsBefore })
	if after := countFDs(b.srv.Process.Pid); after > fdsBefore {
		t.Errorf("server file descriptors: %d before, %d after all sessions ended", fdsBefore, after)
	}
}

func countFDs(pid int) int {
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(ents)
}

// TestProxyMode: no TUN at all; SOCKS5 and HTTP proxies on the client's loopback reach a web
// server on the far side through the PPP link and a user-space TCP/IP stack.
func TestProxyMode(t *testing.T) {
	b := newBed(t, "10.99.0.100-109")
	c := testProxy(t, b, nil)
	b.stop(c)
}

// TestProxyModeWithoutNetAdmin: proxy mode needs only CAP_NET_RAW. Without CAP_NET_ADMIN
// net.core.rmem_max caps the GRE receive buffer, and when that holds fewer packets than the
// default window the client advertises (and says) the smaller one.
func TestProxyModeWithoutNetAdmin(t *testing.T) {
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv not found")
	}
	b := newBed(t, "10.99.0.110-119")
	c := testProxy(t, b, []string{setpriv, "--bounding-set=-net_admin", "--inh-caps=-net_admin", "--"})
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`CapEff:\s*([0-9a-f]+)`).FindSubmatch(status); m == nil {
		t.Fatalf("no CapEff in the client's status:\n%s", status)
	} else if eff, _ := strconv.ParseUint(string(m[1]), 16, 64); eff&(1<<12) != 0 {
		t.Fatalf("the client kept CAP_NET_ADMIN (CapEff %s)", m[1])
	}
	raw, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	if err != nil {
		t.Fatal(err)
	}
	rmemMax, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	want := gre.WindowFor(2*rmemMax, control.DefaultWindow) // the kernel doubles what is asked
	said := strings.Contains(c.log.String(), "advertising a window of")
	if want < control.DefaultWindow && !strings.Contains(c.log.String(), fmt.Sprintf("advertising a window of %d", want)) ||
		want == control.DefaultWindow && said {
		t.Errorf("net.core.rmem_max %d: want window %d:\n%s", rmemMax, want, c.log.String())
	}
	b.stop(c)
}

// testProxy starts a client in proxy mode and fetches a page from the server's namespace
// through its SOCKS5 and its HTTP proxy.
func testProxy(t *testing.T, b *bed, wrap []string) *client {
	ln, err := nstest.Listen(b.ns.A, "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	nstest.Serve(ln, func(c net.Conn) {
		defer c.Close()
		buf := make([]byte, 4096)
		c.Read(buf)
		io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello through the tunnel\n")
	})
	c := b.startClientVia(wrap, "--user", "alice", "--password", "wonderland", "--socks", "127.0.0.1:1080", "--http-proxy", "127.0.0.1:8080")
	if !nstest.WaitFor(15*time.Second, func() bool { return strings.Contains(c.log.String(), "HTTP proxy listening") }) {
		t.Fatalf("proxies did not come up:\n%s", c.log.String())
	}
	url := "http://" + pppLocal + ":" + port + "/"
	for _, proxy := range [][]string{{"--socks5", "127.0.0.1:1080"}, {"-x", "http://127.0.0.1:8080"}} {
		out, err := nstest.Output(b.ns.B, "curl", append([]string{"-s", "--max-time", "10"}, append(proxy, url)...)...)
		if err != nil || !strings.Contains(out, "hello through the tunnel") {
			t.Errorf("curl %v: %v %q\n%s", proxy, err, out, c.log.String())
		}
	}
	if links, _ := nstest.Output(b.ns.B, "ip", "-o", "link"); strings.Contains(links, "pptp") {
		t.Errorf("proxy mode created an interface:\n%s", links)
	}
	return c
}

// TestPoolExhausted: with one address in the pool a second client gets a clear refusal and
// the first session is untouched.
func TestPoolExhausted(t *testing.T) {
	b := newBed(t, "10.99.0.100-100")
	c1 := b.startClient("--user", "user1", "--password", "pass1", "--ifname", "one", "--nohostroute")
	b.waitAddr(c1, "one")
	c2 := b.startClient("--user", "user2", "--password", "pass2", "--ifname", "two", "--nohostroute")
	select {
	case <-c2.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("second client still running:\n%s", c2.log.String())
	}
	if code := c2.cmd.ProcessState.ExitCode(); code == 0 {
		t.Errorf("second client exit status 0")
	}
	if log := c2.log.String(); !strings.Contains(log, "Busy") && !strings.Contains(log, "refused") {
		t.Errorf("refusal not explained:\n%s", log)
	}
	t.Logf("second client: %s", strings.TrimSpace(c2.log.String()))
	if out, err := nstest.Output(b.ns.B, "ping", "-c", "2", "-i", "0.2", "-W", "2", "-I", "one", pppLocal); err != nil {
		t.Errorf("first session broken by the refusal: %v\n%s", err, out)
	}
	b.stop(c1)
}

// TestLaunchModeWithoutPPPD: launch mode on a machine without pppd or kernel PPP says so and
// points to the built-in mode.
func TestLaunchModeWithoutPPPD(t *testing.T) {
	if _, err := os.Stat("/dev/ppp"); err == nil {
		t.Skip("this machine has kernel PPP")
	}
	out, err := exec.Command(pptpBin, "127.0.0.1", "--launch-pppd", "--", "noauth").CombinedOutput()
	if err == nil {
		t.Fatalf("launch mode succeeded without pppd:\n%s", out)
	}
	if !strings.Contains(string(out), "built-in mode") {
		t.Errorf("message does not point to the built-in mode:\n%s", out)
	}
	t.Logf("%s", strings.TrimSpace(string(out)))
}

// TestPidFile: --pidfile holds our pid while we run and is gone after; a stale file left by a
// dead process does not block a start.
// TestGRETx: both ends send through the packet-socket fast path by default, and
// through the IP output path with gre-tx ip (pptpd.conf) and --gre-tx ip (pptp).
func TestGRETx(t *testing.T) {
	serverCounts := regexp.MustCompile(`session ended \(GRE sent (\d+), (\d+) of them fast`)
	for _, mode := range []string{"auto", "ip"} {
		t.Run(mode, func(t *testing.T) {
			b := newBedConf(t, "10.99.0.100-109", "gre-tx "+mode+"\n")
			status := filepath.Join(t.TempDir(), "status.json")
			c := b.startClient("--user", "alice", "--password", "wonderland", "--gre-tx", mode, "--status-file", status)
			b.waitAddr(c, "pptp0")
			transfer(t, b, 4<<20)
			b.stop(c)
			var st struct{ GRE map[string]int64 }
			raw, err := os.ReadFile(status)
			if err == nil {
				err = json.Unmarshal(raw, &st)
			}
			sent, fast := st.GRE["tx_sent"], st.GRE["tx_fast"]
			if err != nil || sent < 3000 || (mode == "ip") != (fast == 0) || mode == "auto" && fast < sent*9/10 {
				t.Errorf("client, --gre-tx %s: %d sent, %d fast (%v)", mode, sent, fast, err)
			}
			var m []string
			nstest.WaitFor(5*time.Second, func() bool {
				m = serverCounts.FindStringSubmatch(b.srvLog.String())
				return m != nil
			})
			if m == nil || (mode == "ip") != (m[2] == "0") || m[1] == "0" {
				t.Errorf("server, gre-tx %s: %q\n%s", mode, m, b.srvLog.String())
			}
		})
	}
}

func TestPidFile(t *testing.T) {
	b := newBed(t, "10.99.0.100-109")
	pidfile := filepath.Join(t.TempDir(), "pptp.pid")
	if err := os.WriteFile(pidfile, []byte("999999\n"), 0o644); err != nil { // no such process
		t.Fatal(err)
	}
	status := filepath.Join(t.TempDir(), "status.json")
	c := b.startClient("--user", "alice", "--password", "wonderland", "--pidfile", pidfile, "--status-file", status)
	b.waitAddr(c, "pptp0")
	nstest.Output(b.ns.B, "ping", "-c", "2", "-i", "0.2", pppLocal)
	got, _ := os.ReadFile(pidfile)
	if strings.TrimSpace(string(got)) != fmt.Sprint(c.cmd.Process.Pid) {
		t.Errorf("pid file holds %q, want %d", got, c.cmd.Process.Pid)
	}
	b.stop(c)
	if _, err := os.Stat(pidfile); !os.IsNotExist(err) {
		t.Errorf("pid file left behind after exit: %v", err)
	}
	// --status-file: the link and the counters as JSON at exit.
	var st struct {
		Link struct{ Local, Peer, Encryption string }
		GRE  map[string]int64
		Data map[string]int64
	}
	raw, err := os.ReadFile(status)
	if err == nil {
		err = json.Unmarshal(raw, &st)
	}
	if err != nil || st.Link.Local != "10.99.0.100" || st.Link.Peer != pppLocal || st.GRE["tx_sent"] == 0 || st.Data["rx_packets"] < 2 {
		t.Errorf("status file (%v):\n%s", err, raw)
	}
}

// TestPersistRedials: with persist, a link that came up and then dropped is no failed attempt
// (maxfail 2 survives three drops, as pppd counts only consecutive failures), and SIGHUP ends
// the link and redials; without persist SIGHUP ends the client with status 0.
func TestPersistRedials(t *testing.T) {
	b := newBed(t, "10.99.0.100-109")
	c := b.startClient("--user", "alice", "--password", "wonderland", "--nohostroute",
		"persist", "maxfail", "2", "holdoff", "1")
	ups := func(n int) {
		t.Helper()
		if !nstest.WaitFor(20*time.Second, func() bool { return strings.Count(c.log.String(), "link up on pptp0") >= n }) {
			t.Fatalf("link not up %d times:\n%s", n, c.log.String())
		}
	}
	ups(1)
	for i := 2; i <= 4; i++ {
		// The server restarts: its SIGTERM ends the call, and the client redials.
		b.stopServer()
		b.startServer()
		ups(i)
	}
	c.cmd.Process.Signal(syscall.SIGHUP)
	ups(5)
	select {
	case <-c.done:
		t.Fatalf("client exited:\n%s", c.log.String())
	default:
	}
	b.stop(c)

	c2 := b.startClient("--user", "alice", "--password", "wonderland", "--nohostroute", "--ifname", "pptp1")
	b.waitAddr(c2, "pptp1")
	c2.cmd.Process.Signal(syscall.SIGHUP)
	select {
	case <-c2.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("SIGHUP without persist did not end the client:\n%s", c2.log.String())
	}
	if code := c2.exitCode(); code != 0 {
		t.Fatalf("exit status %d after SIGHUP:\n%s", code, c2.log.String())
	}
}

// TestSharedHostRoute: two clients to one server share its host route; the first to end
// leaves it to the other, the last removes it. They take pptp0 and pptp1 by themselves.
func TestSharedHostRoute(t *testing.T) {
	b := newBed(t, "10.99.0.100-109")
	hostRoute := func() string {
		out, _ := nstest.Output(b.ns.B, "ip", "-4", "route", "show", b.ns.AddrA)
		return strings.TrimSpace(out)
	}
	// Without --ifname each takes the first free pptpN, as pppd the next free unit.
	c1 := b.startClient("--user", "user1", "--password", "pass1")
	b.waitAddr(c1, "pptp0")
	c2 := b.startClient("--user", "user2", "--password", "pass2")
	b.waitAddr(c2, "pptp1")
	if r := hostRoute(); !strings.Contains(r, "proto 77") {
		t.Fatalf("host route %q", r)
	}
	b.stop(c1)
	if r := hostRoute(); !strings.Contains(r, "proto 77") {
		t.Fatalf("host route gone while the second client runs (%q):\n%s", r, c1.log.String())
	}
	if out, err := nstest.Output(b.ns.B, "ping", "-c", "2", "-i", "0.2", "-W", "2", "-I", "pptp1", pppLocal); err != nil {
		t.Errorf("second client ping: %v\n%s", err, out)
	}
	b.stop(c2)
	if r := hostRoute(); r != "" {
		t.Fatalf("host route left after both ended: %q", r)
	}
}

// TestIPUpDown: pppd's ip-up and ip-down run on both ends with pppd's arguments and
// environment: ip-up once the link is up, ip-down before the interface goes.
func TestIPUpDown(t *testing.T) {
	log := filepath.Join(t.TempDir(), "scripts.log")
	script := "#!/bin/sh\necho \"$(basename $0) $* IPLOCAL=$IPLOCAL IPREMOTE=$IPREMOTE PEERNAME=$PEERNAME DNS1=$DNS1 addr=$(ip -4 -o addr show dev $1 | wc -l)\" >> " + log + "\n"
	for _, name := range []string{"ip-up", "ip-down"} {
		p := filepath.Join(pppDir, name)
		if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(p) })
	}
	b := newBed(t, "10.99.0.100-109")
	c := b.startClient("--user", "alice", "--password", "wonderland", "--nohostroute", "--usepeerdns", "ipparam", "office")
	b.waitAddr(c, "pptp0")
	want := []string{
		"ip-up pptp0 /dev/null 38400 10.99.0.100 10.99.0.1 office IPLOCAL=10.99.0.100 IPREMOTE=10.99.0.1 PEERNAME= DNS1=10.99.0.1 addr=1",
		"ip-up pptpd0 /dev/null 38400 10.99.0.1 10.99.0.100 " + b.ns.AddrB + " IPLOCAL=10.99.0.1 IPREMOTE=10.99.0.100 PEERNAME=alice DNS1= addr=1",
	}
	lines := func() string { out, _ := os.ReadFile(log); return string(out) }
	if !nstest.WaitFor(10*time.Second, func() bool { return strings.Count(lines(), "ip-up") == 2 }) {
		t.Fatalf("ip-up did not run on both ends:\n%s", lines())
	}
	b.stop(c)
	want = append(want,
		"ip-down pptp0 /dev/null 38400 10.99.0.100 10.99.0.1 office IPLOCAL=10.99.0.100 IPREMOTE=10.99.0.1 PEERNAME= DNS1=10.99.0.1 addr=1",
		"ip-down pptpd0 /dev/null 38400 10.99.0.1 10.99.0.100 "+b.ns.AddrB+" IPLOCAL=10.99.0.1 IPREMOTE=10.99.0.100 PEERNAME=alice DNS1= addr=1")
	if !nstest.WaitFor(10*time.Second, func() bool { return strings.Count(lines(), "ip-down") == 2 }) {
		t.Fatalf("ip-down did not run on both ends:\n%s", lines())
	}
	got := strings.Split(strings.TrimSpace(lines()), "\n")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("scripts ran as\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestProxyListenFailsFirst: a proxy address that cannot be listened on fails before the
// call is placed (status 2, naming the option), so no server session is spent on it.
func TestProxyListenFailsFirst(t *testing.T) {
	b := newBed(t, "10.99.0.100-109")
	c := b.startClient("--user", "alice", "--password", "wonderland", "--socks", "192.0.2.99:1080")
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("client still running:\n%s", c.log.String())
	}
	if code := c.exitCode(); code != 2 || !strings.Contains(c.log.String(), "--socks 192.0.2.99:1080") {
		t.Fatalf("exit status %d:\n%s", code, c.log.String())
	}
	if strings.Contains(b.srvLog.String(), "LCP opened") || strings.Contains(c.log.String(), "connected to") {
		t.Fatalf("a call was placed:\n%s\nserver:\n%s", c.log.String(), b.srvLog.String())
	}
}

// TestFailedLoginsDelayNext: after failed logins from a source, the server answers that
// source's next call only after a delay that doubles per failure (1 s, 2 s, ...), even for
// the right password; a login that did not follow failures is not delayed.
func TestFailedLoginsDelayNext(t *testing.T) {
	b := newBed(t, "10.99.0.100-103") // a session's address may still be held as the next starts
	start := time.Now()
	c := b.startClient("--user", "alice", "--password", "wonderland")
	b.waitAddr(c, "pptp0")
	clean := time.Since(start)
	b.stop(c)
	for range 2 {
		c := b.startClient("--user", "alice", "--password", "nope")
		if code := c.exitCode(); code != 19 {
			t.Fatalf("exit status %d, want 19\n%s", code, c.log.String())
		}
	}
	// The second failure is recorded when its session ends on the server.
	if !nstest.WaitFor(10*time.Second, func() bool { return strings.Count(b.srvLog.String(), "authentication failed") >= 2 }) {
		t.Fatalf("server log:\n%s", b.srvLog.String())
	}
	start = time.Now()
	c = b.startClient("--user", "alice", "--password", "wonderland")
	b.waitAddr(c, "pptp0")
	delayed := time.Since(start)
	b.stop(c)
	t.Logf("connect: %v without failures before, %v after two", clean, delayed)
	if delayed < time.Second {
		t.Errorf("connected %v after two failed logins: no delay", delayed)
	}
}

// TestNothingHeldBeforeLogin: a call that never authenticates holds no pool address and no
// TUN device: with one address in the pool, a real client still gets it while the silent
// call is open.
func TestNothingHeldBeforeLogin(t *testing.T) {
	// One address, so connections 1; both calls come from the one client namespace, so it
	// may place two.
	b := newBedConf(t, "10.99.0.100-100", "max-calls-per-source 2\n")
	c, err := nstest.Dial(b.ns.B, b.ns.AddrA+":1723", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rq := control.SCCRQ(make([]byte, control.SCCRQLen))
	rq.Init()
	rq.SetProtocolVersion(control.ProtocolVersion)
	oc := control.OCRQ(make([]byte, control.OCRQLen))
	oc.Init()
	oc.SetCallID(0x4444)
	oc.SetRecvWindow(64)
	buf := make([]byte, 4096)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write(rq)
	if _, err := control.ReadMessage(c, buf); err != nil {
		t.Fatal(err)
	}
	c.Write(oc)
	m, err := control.ReadMessage(c, buf)
	if err != nil || control.OCRP(m).ResultCode() != control.OCRPConnected {
		t.Fatalf("silent call not placed: %v %x", err, m)
	}
	links, _ := nstest.Output(b.ns.A, "ip", "-o", "link", "show")
	if strings.Contains(links, "pptpd") {
		t.Fatalf("a TUN device exists for a call that has not logged in:\n%s", links)
	}
	cl := b.startClient("--user", "alice", "--password", "wonderland", "--nohostroute")
	if addr := b.waitAddr(cl, "pptp0"); !strings.HasPrefix(addr, "10.99.0.100") {
		t.Fatalf("client got %s", addr)
	}
	b.stop(cl)
}
