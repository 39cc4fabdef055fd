// SPDX-License-Identifier: MIT

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/pptp-go/pptp/internal/nstest"
)

// runStatus runs `BIN ARGS…` (pptp status, pptpd kick …) and returns its stdout, stderr and
// exit status. The status sockets are files, so this works from any network namespace.
func runStatus(t *testing.T, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e strings.Builder
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if cmd.ProcessState == nil {
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	return o.String(), e.String(), cmd.ProcessState.ExitCode()
}

// garbage sends junk to a status socket and checks it gets an error line and a close.
func garbage(t *testing.T, path string) {
	t.Helper()
	for _, junk := range []string{"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", "\x00\x01\x02\xff\n", strings.Repeat("status ", 100) + "\n", "kick\n"} {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatalf("dial %s: %v", path, err)
		}
		c.Write([]byte(junk))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(c)
		line, err := br.ReadString('\n')
		var rep struct{ Error string }
		if err != nil || json.Unmarshal([]byte(line), &rep) != nil || rep.Error == "" {
			t.Errorf("%q: reply %q, %v; want an error", junk, line, err)
		}
		// EOF, or a reset when the server closed with our junk still unread: closed either way.
		if _, err := br.ReadByte(); err == nil || os.IsTimeout(err) {
			t.Errorf("%q: connection not closed after the error (%v)", junk, err)
		}
		c.Close()
	}
}

// TestClientStatus: `pptp status` against a running client, the socket's mode, garbage on
// it, --status-file while running, and a client that is gone (exited, or killed).
func TestClientStatus(t *testing.T) {
	b := newBed(t, "10.99.0.100-109")
	run := filepath.Join(t.TempDir(), "run")
	t.Setenv("PPTP_GO_RUNDIR", run)
	statusFile := filepath.Join(t.TempDir(), "status.json")
	// --idle-wait 1: a control-connection echo within the test, for the echo RTT.
	c := b.startClient("--user", "alice", "--password", "wonderland", "--require-mppe-128", "--status-file", statusFile, "--idle-wait", "1")
	b.waitAddr(c, "pptp0")
	if out, err := nstest.Output(b.ns.B, "ping", "-c", "3", "-i", "0.2", "-W", "2", pppLocal); err != nil {
		t.Fatalf("ping: %v\n%s", err, out)
	}
	sock := filepath.Join(run, "pptp-pptp0.sock")
	if !nstest.WaitFor(5*time.Second, func() bool { _, err := os.Stat(sock); return err == nil }) {
		t.Fatalf("no status socket %s:\n%s", sock, c.log.String())
	}
	fi, _ := os.Stat(sock)
	di, _ := os.Stat(run)
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Errorf("socket mode %v in a %v directory, want 0600 in 0700", fi.Mode().Perm(), di.Mode().Perm())
	}

	out, errOut, code := runStatus(t, pptpBin, "status", "pptp0")
	t.Logf("pptp status pptp0:\n%s", out)
	for _, want := range []string{"pptp0: up to " + b.ns.AddrA, "address     10.99.0.100 peer 10.99.0.1, MTU",
		"cipher      MPPE 128-bit stateless", `auth        MS-CHAPv2 as "alice"`, "received    ", "RTT         GRE "} {
		if !strings.Contains(out, want) {
			t.Errorf("pptp status lacks %q (exit %d, %s)", want, code, errOut)
		}
	}
	out, _, code = runStatus(t, pptpBin, "status", "--json", "pptp0")
	var r struct {
		State, Interface, Local, Peer, Cipher, Auth, User string
		PID                                               int
		RxPackets                                         uint64 `json:"rx_packets"`
		TxPackets                                         uint64 `json:"tx_packets"`
		Uptime                                            *int64 `json:"uptime_seconds"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 0 {
		t.Fatalf("pptp status --json: %v (exit %d)\n%s", err, code, out)
	}
	if r.State != "up" || r.Local != "10.99.0.100" || r.Peer != pppLocal || r.User != "alice" || r.PID != c.cmd.Process.Pid ||
		r.RxPackets < 3 || r.TxPackets < 3 || r.Uptime == nil {
		t.Errorf("pptp status --json: %+v\n%s", r, out)
	}
	if out, _, _ := runStatus(t, pptpBin, "status", "--json"); !strings.HasPrefix(strings.TrimSpace(out), "[") {
		t.Errorf("pptp status --json without a name is not a list:\n%s", out)
	}
	// Root only: another user cannot even connect.
	if setpriv, err := exec.LookPath("setpriv"); err == nil {
		_, errOut, code := runStatus(t, setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", pptpBin, "status", "pptp0")
		if code == 0 || !strings.Contains(errOut, "permission denied") {
			t.Errorf("pptp status as nobody: exit %d, %q; want permission denied", code, errOut)
		}
	}
	// Garbage on the socket: an error and a close, and the link goes on.
	garbage(t, sock)
	if out, err := nstest.Output(b.ns.B, "ping", "-c", "2", "-i", "0.2", "-W", "2", pppLocal); err != nil {
		t.Errorf("ping after garbage on the status socket: %v\n%s", err, out)
	}
	// --status-file: there while running, then rewritten.
	var st struct {
		State   string
		Updated time.Time
		Link    struct{ Local string }
	}
	readStatus := func() error {
		raw, err := os.ReadFile(statusFile)
		if err == nil {
			err = json.Unmarshal(raw, &st)
		}
		return err
	}
	if err := readStatus(); err != nil || st.State != "up" || st.Link.Local != "10.99.0.100" {
		t.Errorf("status file while running: %+v, %v", st, err)
	}
	first := st.Updated
	if !nstest.WaitFor(8*time.Second, func() bool { return readStatus() == nil && st.Updated.After(first) }) {
		t.Errorf("status file not rewritten within 8 s (updated %v)", first)
	}
	out, _, _ = runStatus(t, pptpBin, "status", "--json", "pptp0")
	var rtt struct {
		GRE  int64 `json:"gre_rtt_us"`
		Echo int64 `json:"echo_rtt_us"`
	}
	if err := json.Unmarshal([]byte(out), &rtt); err != nil || rtt.GRE <= 0 || rtt.Echo <= 0 || rtt.Echo > 1e6 {
		t.Errorf("round trips (GRE, control echo after 1 s idle): %+v, %v\n%s", rtt, err, out)
	}

	b.stop(c)
	if err := readStatus(); err != nil || st.State != "ended" {
		t.Errorf("status file at exit: %+v, %v", st, err)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("status socket left after exit: %v", err)
	}
	_, errOut, code = runStatus(t, pptpBin, "status", "pptp0")
	if code == 0 || !strings.Contains(errOut, "no pptp client is running on pptp0") {
		t.Errorf("status of an exited client: exit %d, %q", code, errOut)
	}
	matches, _ := filepath.Glob(filepath.Join(run, "*.tmp"))
	if len(matches) > 0 {
		t.Errorf("temporary files left: %v", matches)
	}

	// Killed: the socket file stays behind; status says the client is gone and removes it.
	c = b.startClient("--user", "alice", "--password", "wonderland", "--nohostroute")
	b.waitAddr(c, "pptp0")
	if !nstest.WaitFor(5*time.Second, func() bool { _, err := os.Stat(sock); return err == nil }) {
		t.Fatalf("no status socket after the second start:\n%s", c.log.String())
	}
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
	_, errOut, code = runStatus(t, pptpBin, "status", "pptp0")
	if code == 0 || !strings.Contains(errOut, "is gone") {
		t.Errorf("status of a killed client: exit %d, %q", code, errOut)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("stale socket not removed: %v", err)
	}
}

// scrape reads pptpd's /metrics inside the server namespace and parses the exposition.
func scrape(t *testing.T, b *bed, addr string) map[string]map[string]float64 {
	t.Helper()
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
			return nstest.Dial(b.ns.A, a, 5*time.Second)
		},
	}}
	resp, err := hc.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("exposition does not parse: %v", err)
	}
	out := map[string]map[string]float64{}
	for name, f := range fams {
		out[name] = map[string]float64{}
		for _, m := range f.Metric {
			var labels []string
			for _, l := range m.Label {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			out[name][strings.Join(labels, ",")] = v
		}
	}
	return out
}

// TestServerStatusKickMetrics: `pptpd status` lists the sessions, `pptpd kick` ends one by
// user and one by address (LCP Terminate, CDN) and leaves the others, an unknown target is
// an error naming it, and /metrics counts what happened.
func TestServerStatusKickMetrics(t *testing.T) {
	const metricsAddr = "127.0.0.1:9523"
	run := filepath.Join(t.TempDir(), "run")
	t.Setenv("PPTP_GO_RUNDIR", run)
	b := newBedConf(t, "10.99.0.100-109", "metrics "+metricsAddr+"\n")
	alice := b.startClient("--user", "alice", "--password", "wonderland", "--require-mppe-128", "--debug")
	b.waitAddr(alice, "pptp0")
	bob := b.startClient("--user", "user1", "--password", "pass1", "--ifname", "pptp1")
	b.waitAddr(bob, "pptp1")
	bad := b.startClient("--user", "user2", "--password", "wrong", "--ifname", "pptp2")
	if code := bad.exitCode(); code != 19 {
		t.Errorf("wrong password: exit %d, want 19", code)
	}
	stranger := b.startClient("--user", "mallory", "--password", "x", "--ifname", "pptp3")
	if code := stranger.exitCode(); code != 19 {
		t.Errorf("unknown user: exit %d, want 19", code)
	}
	if out, err := nstest.Output(b.ns.B, "ping", "-c", "3", "-i", "0.2", "-W", "2", "-I", "pptp0", pppLocal); err != nil {
		t.Fatalf("ping: %v\n%s", err, out)
	}

	out, errOut, code := runStatus(t, pptpdBin, "status")
	t.Logf("pptpd status:\n%s", out)
	if code != 0 {
		t.Fatalf("pptpd status: exit %d, %s", code, errOut)
	}
	for _, want := range []string{"INTERFACE", "alice", "user1", b.ns.AddrB, "10.99.0.100", "10.99.0.101", "MPPE 128-bit stateless", "2 sessions"} {
		if !strings.Contains(out, want) {
			t.Errorf("pptpd status lacks %q", want)
		}
	}
	out, _, _ = runStatus(t, pptpdBin, "status", "--json")
	var list []struct {
		Interface, State, User, Client, Address, Cipher string
		RxPackets                                       uint64 `json:"rx_packets"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 2 {
		t.Fatalf("pptpd status --json: %v\n%s", err, out)
	}
	for _, s := range list {
		if s.State != "up" || s.Client != b.ns.AddrB || s.Cipher == "" || (s.User == "alice") != (s.Address == "10.99.0.100") {
			t.Errorf("session %+v", s)
		}
		if s.User == "alice" && s.RxPackets < 3 {
			t.Errorf("alice's session counted %d packets from the client, want ≥ 3", s.RxPackets)
		}
	}

	sock := filepath.Join(run, "pptpd.sock")
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("pptpd socket: %v %v", fi.Mode(), err)
	}
	garbage(t, sock)

	_, errOut, code = runStatus(t, pptpdBin, "kick", "nobody")
	if code == 0 || !strings.Contains(errOut, `no session of user "nobody"`) {
		t.Errorf("kick nobody: exit %d, %q", code, errOut)
	}
	_, errOut, code = runStatus(t, pptpdBin, "kick", "10.99.0.199")
	if code == 0 || !strings.Contains(errOut, `no session of address "10.99.0.199"`) {
		t.Errorf("kick 10.99.0.199: exit %d, %q", code, errOut)
	}

	// Kick by user: alice's client sees the server end the link and exits.
	out, errOut, code = runStatus(t, pptpdBin, "kick", "alice")
	if code != 0 || !strings.Contains(out, "kicked pptpd") || !strings.Contains(out, `user "alice"`) || strings.Contains(out, "still ending") {
		t.Errorf("kick alice: exit %d\n%s%s", code, out, errOut)
	}
	select {
	case <-alice.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("alice's client still running 10 s after the kick:\n%s", alice.log.String())
	}
	al := alice.log.String()
	// The clean end: LCP Terminate-Request, then Call-Disconnect-Notify (Administrative Shutdown).
	if !strings.Contains(al, `rcvd [LCP TermReq`) || !strings.Contains(al, "Call disconnect notification received") {
		t.Errorf("alice's client did not see an LCP Terminate-Request and a CDN:\n%s", al)
	}
	// 15 (the server terminated the link) or 16 (it cleared the call): the CDN comes while
	// the client's LCP still waits out its Restart timer after the Terminate-Ack.
	if code := alice.exitCode(); code != 15 && code != 16 || !strings.Contains(al, "Administrative Shutdown") {
		t.Errorf("alice's client exit status %d, want 15 or 16 after the server's Terminate and CDN:\n%s", code, al)
	}
	if out, err := nstest.Output(b.ns.B, "ping", "-c", "2", "-i", "0.2", "-W", "2", "-I", "pptp1", pppLocal); err != nil {
		t.Errorf("user1's link broke when alice was kicked: %v\n%s", err, out)
	}
	out, _, _ = runStatus(t, pptpdBin, "status")
	if strings.Contains(out, "alice") || !strings.Contains(out, "user1") || !strings.Contains(out, "1 session\n") {
		t.Errorf("after kicking alice:\n%s", out)
	}

	m := scrape(t, b, metricsAddr)
	t.Logf("metrics: sessions %v, set-ups %v, auth failures %v, bytes %v, lost %v",
		m["pptpd_sessions"], m["pptpd_session_setups_total"], m["pptpd_auth_failures_total"], m["pptpd_bytes_total"], m["pptpd_gre_lost_packets_total"])
	checks := []struct {
		name, labels string
		ok           func(float64) bool
	}{
		{"pptpd_sessions", "state=up", func(v float64) bool { return v == 1 }},
		{"pptpd_session_setups_total", "", func(v float64) bool { return v == 2 }},
		{"pptpd_auth_failures_total", "reason=bad_password", func(v float64) bool { return v == 1 }},
		{"pptpd_auth_failures_total", "reason=unknown_user", func(v float64) bool { return v == 1 }},
		{"pptpd_auth_failures_total", "reason=timeout", func(v float64) bool { return v == 0 }},
		{"pptpd_bytes_total", "direction=rx", func(v float64) bool { return v >= 3*84 }}, // alice's pings, after her session ended
		{"pptpd_packets_total", "direction=tx", func(v float64) bool { return v >= 5 }},
		{"pptpd_gre_lost_packets_total", "", func(v float64) bool { return v == 0 }},
	}
	for _, c := range checks {
		v, ok := m[c.name][c.labels]
		if !ok || !c.ok(v) {
			t.Errorf("%s{%s} = %v (present %v)", c.name, c.labels, v, ok)
		}
	}

	// Kick by assigned address.
	out, errOut, code = runStatus(t, pptpdBin, "kick", "10.99.0.101")
	if code != 0 || !strings.Contains(out, `user "user1"`) {
		t.Errorf("kick 10.99.0.101: exit %d\n%s%s", code, out, errOut)
	}
	select {
	case <-bob.done:
	case <-time.After(10 * time.Second):
		t.Errorf("user1's client still running 10 s after the kick")
	}
	if !nstest.WaitFor(5*time.Second, func() bool {
		return strings.Count(b.srvLog.String(), "kicked (pptpd kick") == 2 && strings.Count(b.srvLog.String(), "session ended") >= 2
	}) {
		t.Errorf("server log:\n%s", b.srvLog.String())
	}
	b.stopServer()
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("pptpd left its socket: %v", err)
	}
	if _, errOut, code := runStatus(t, pptpdBin, "status"); code == 0 || !strings.Contains(errOut, "pptpd is not running") {
		t.Errorf("status with pptpd stopped: exit %d, %q", code, errOut)
	}
	b.startServer() // the cleanup stops it again
}
