// SPDX-License-Identifier: MIT

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pptp-go/pptp/internal/nstest"
	"github.com/pptp-go/pptp/internal/radtest"
)

// radiusUsers is the FreeRADIUS users file of these tests.
const radiusUsers = `alice	Cleartext-Password := "wonderland"
	Framed-IP-Address = 10.99.0.150,
	MS-Primary-DNS-Server = 10.99.0.53,
	Class = "class-alice"
bob	Cleartext-Password := "builder"
	Acct-Interim-Interval = 1,
	Framed-Route = "10.77.0.0/24 0.0.0.0 1"
carol	Cleartext-Password := "cpass"
	Session-Timeout = 3
dave	Cleartext-Password := "dpass"
	Idle-Timeout = 2
erin	Cleartext-Password := "epass"
	MS-MPPE-Encryption-Policy = Encryption-Required
`

// newRadiusBed starts FreeRADIUS in its own namespace linked to the server namespace, and
// our pptpd there with plugin radius.so and a radiusclient.conf naming it.
func newRadiusBed(t *testing.T, users string, rad *radtest.Server, opts ...string) (*bed, *radtest.Server) {
	b, rad, _ := newRadiusBedNAS(t, users, rad, opts...)
	return b, rad
}

// newRadiusBedNAS is newRadiusBed that also returns the server namespace's address on
// the link to FreeRADIUS (where the Disconnect/CoA listener is).
func newRadiusBedNAS(t *testing.T, users string, rad *radtest.Server, opts ...string) (*bed, *radtest.Server, string) {
	nstest.RequireRoot(t)
	if rad == nil {
		rad = radtest.Start(t, radtest.Options{Users: users})
	}
	b, nasAddr := newRadiusBedServers(t, []*radtest.Server{rad}, "", opts...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("FreeRADIUS log (tail):\n%s", tailLines(rad.Log.String(), 80))
		}
	})
	return b, rad, nasAddr
}

// newRadiusBedServers starts our pptpd with every server of rads in radiusclient.conf,
// in order, with extra radiusclient.conf lines; it returns the bed and the address of
// the server namespace on its link to the first.
func newRadiusBedServers(t *testing.T, rads []*radtest.Server, extra string, opts ...string) (*bed, string) {
	b := &bed{t: t, ns: nstest.NewPair(t, "e2r"), dir: t.TempDir(), srvLog: nstest.NewBuffer()}
	var radAddrs []string
	var nasAddr string
	for i, r := range rads {
		n, a := r.Link(b.ns.A)
		if i == 0 {
			nasAddr = n
		}
		radAddrs = append(radAddrs, a)
	}
	write := func(name, content string) string {
		p := filepath.Join(b.dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rc := radtest.RadiusclientConf(t, b.dir, radAddrs, fmt.Sprintf("nas-identifier nas-%s\ndae-server %s:3799\n%s", b.ns.A, nasAddr, extra))
	options := write("pptpd-options", "name pptpd\nms-dns "+pppLocal+"\nplugin radius.so\nplugin radattr.so\nradius-config-file "+rc+"\n"+strings.Join(opts, "\n")+"\n")
	conf := write("pptpd.conf", fmt.Sprintf("option %s\nlocalip %s\nremoteip 10.99.0.100-120\nconnections 200\n", options, pppLocal))
	// A chap-secrets that would let alice in with another password: it must not be read.
	secrets := write("chap-secrets", "alice * \"other\" *\n")
	b.args = []string{"--fg", "--debug", "--conf", conf, "--chap-secrets", secrets, "--pidfile", filepath.Join(b.dir, "pptpd.pid")}
	os.Mkdir(filepath.Join(b.dir, "run"), 0o700)
	b.env = []string{"PPTP_GO_RUNDIR=" + filepath.Join(b.dir, "run")}
	b.startServer()
	t.Cleanup(func() {
		b.stopServer()
		if t.Failed() {
			t.Logf("pptpd log:\n%s", b.srvLog.String())
		}
	})
	return b, nasAddr
}

// waitEnded waits until the server has ended every session it started (the next one may
// get the same Framed-IP-Address).
func (b *bed) waitEnded(t *testing.T) {
	t.Helper()
	if !nstest.WaitFor(10*time.Second, func() bool {
		l := b.srvLog.String()
		return strings.Count(l, "session ended") >= strings.Count(l, "Outgoing call established")
	}) {
		t.Fatalf("the server did not end its sessions:\n%s", b.srvLog.String())
	}
}

func tailLines(s string, n int) string {
	l := strings.Split(s, "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// TestRadiusMethods: our client through our pptpd through FreeRADIUS with each method;
// Framed-IP-Address and the DNS server come from RADIUS; chap-secrets is not consulted; a
// wrong password is refused with E=691 (MS-CHAP) or the method's failure.
func TestRadiusMethods(t *testing.T) {
	b, rad := newRadiusBed(t, radiusUsers, nil, "require-mppe-128")
	for _, m := range []struct {
		name string
		args []string
		mppe bool
	}{
		{"MS-CHAPv2", []string{"--require-mppe-128"}, true},
		{"MS-CHAPv1", []string{"--refuse-mschap-v2", "--require-mppe-128"}, true},
	} {
		t.Run(m.name, func(t *testing.T) {
			c := b.startClient(append([]string{"--user", "alice", "--password", "wonderland", "--usepeerdns"}, m.args...)...)
			addr := b.waitAddr(c, "pptp0")
			if addr != "10.99.0.150/32" && addr != "10.99.0.150" {
				t.Errorf("address %q, want Framed-IP-Address 10.99.0.150", addr)
			}
			log := c.log.String()
			if !strings.Contains(log, "MPPE 128-bit") || !strings.Contains(log, m.name) {
				t.Errorf("client log lacks %s / MPPE 128-bit:\n%s", m.name, log)
			}
			if !strings.Contains(log, "10.99.0.53") {
				t.Errorf("client did not get MS-Primary-DNS-Server 10.99.0.53:\n%s", log)
			}
			// plugin radattr.so: the Access-Accept's attributes in run/radattr.pptpd0.
			ra, _ := os.ReadFile(filepath.Join(b.dir, "run", "radattr.pptpd0"))
			if !strings.Contains(string(ra), "Framed-IP-Address 10.99.0.150") || !strings.Contains(string(ra), "User-Name alice") {
				t.Errorf("radattr.pptpd0: %q", ra)
			}
			if out, err := nstest.Output(b.ns.B, "ping", "-c", "3", "-i", "0.2", "-W", "2", pppLocal); err != nil {
				t.Fatalf("ping through the tunnel: %v\n%s", err, out)
			}
			b.stop(c)
			b.waitEnded(t)
		})
	}
	if !strings.Contains(rad.Log.String(), "Login OK: [alice]") {
		t.Errorf("FreeRADIUS logged no successful login of alice")
	}
	for _, pw := range []string{"other", "wrong"} { // "other" is chap-secrets' password
		c := b.startClient("--user", "alice", "--password", pw)
		if code := c.exitCode(); code != 19 {
			t.Errorf("password %q: exit status %d, want 19\n%s", pw, code, c.log.String())
		}
		if !strings.Contains(c.log.String(), "691") {
			t.Errorf("password %q: no E=691:\n%s", pw, c.log.String())
		}
	}
	if srv := b.srvLog.String(); strings.Contains(srv, "wonderland") || strings.Contains(srv, radtest.Secret) {
		t.Errorf("the server log shows a password or the RADIUS secret")
	}
}

// TestRadiusCHAPAndPAP: CHAP-MD5 and PAP (no MPPE) through FreeRADIUS.
func TestRadiusCHAPAndPAP(t *testing.T) {
	b, _ := newRadiusBed(t, radiusUsers, nil, "nomppe", "require-chap", "require-pap")
	for _, m := range []struct{ name, refuse string }{
		{"CHAP-MD5", "--refuse-pap"},
		{"PAP", "--refuse-chap"},
	} {
		t.Run(m.name, func(t *testing.T) {
			args := []string{"--user", "bob", "--password", "builder", "--nomppe", "--refuse-mschap", "--refuse-mschap-v2", m.refuse}
			c := b.startClient(args...)
			addr := b.waitAddr(c, "pptp0")
			if !strings.HasPrefix(addr, "10.99.0.1") {
				t.Errorf("address %q, want one of the pool", addr)
			}
			if !strings.Contains(c.log.String(), m.name) {
				t.Errorf("client log does not name %s:\n%s", m.name, c.log.String())
			}
			if out, err := nstest.Output(b.ns.B, "ping", "-c", "2", "-i", "0.2", "-W", "2", pppLocal); err != nil {
				t.Fatalf("ping through the tunnel: %v\n%s", err, out)
			}
			// Framed-Route: the server routes bob's network through his session.
			if out, _ := nstest.Output(b.ns.A, "ip", "route", "show", "10.77.0.0/24"); !strings.Contains(out, "dev pptpd") {
				t.Errorf("no route for Framed-Route 10.77.0.0/24 via the session: %q", out)
			}
			b.stop(c)
			b.waitEnded(t)
			bad := b.startClient("--user", "bob", "--password", "nope", "--nomppe", "--refuse-mschap", "--refuse-mschap-v2", m.refuse)
			if code := bad.exitCode(); code != 19 {
				t.Errorf("wrong password: exit status %d, want 19\n%s", code, bad.log.String())
			}
			b.waitEnded(t)
			// RADIUS requires encryption for erin; PAP and CHAP-MD5 yield no MPPE keys.
			enc := b.startClient("--user", "erin", "--password", "epass", "--refuse-mschap", "--refuse-mschap-v2", m.refuse)
			if code := enc.exitCode(); code == 0 {
				t.Errorf("MS-MPPE-Encryption-Policy Encryption-Required: a link without MPPE came up\n%s", enc.log.String())
			}
			if !nstest.WaitFor(5*time.Second, func() bool { return strings.Contains(b.srvLog.String(), "MPPE is required but") }) {
				t.Errorf("the server did not say MPPE was required:\n%s", b.srvLog.String())
			}
			b.waitEnded(t)
		})
	}
}

// TestRadiusMPPEKeysFromServer: the MPPE keys are the ones FreeRADIUS sends, not derived
// locally. FreeRADIUS is told not to compute keys (use_mppe = no) and sends fixed
// MS-MPPE-Send-Key / -Recv-Key from the users file instead; our client, given the same
// keys with set-mppe-key, passes traffic, and a client deriving its keys from MS-CHAPv2
// (as every real client does) gets a link on which nothing decrypts.
func TestRadiusMPPEKeysFromServer(t *testing.T) {
	const send, recv = "00112233445566778899aabbccddeeff", "f0e1d2c3b4a5968778695a4b3c2d1e0f"
	users := `alice	Cleartext-Password := "wonderland"
	MS-MPPE-Send-Key = 0x` + send + `,
	MS-MPPE-Recv-Key = 0x` + recv + `,
	MS-MPPE-Encryption-Policy = Encryption-Required,
	MS-MPPE-Encryption-Types = RC4-128bit-Allowed
`
	rad := radtest.Start(t, radtest.Options{Users: users, NoMPPE: true})
	b, _ := newRadiusBed(t, "", rad, "require-mppe-128")
	// The client's send key is the server's receive key.
	c := b.startClient("--user", "alice", "--password", "wonderland", "--require-mppe-128", "--set-mppe-key", recv+send)
	b.waitAddr(c, "pptp0")
	if out, err := nstest.Output(b.ns.B, "ping", "-c", "3", "-i", "0.2", "-W", "2", pppLocal); err != nil {
		t.Fatalf("ping with the keys FreeRADIUS sent: %v\n%s", err, out)
	}
	b.stop(c)
	b.waitEnded(t)

	c = b.startClient("--user", "alice", "--password", "wonderland", "--require-mppe-128")
	b.waitAddr(c, "pptp0")
	if out, err := nstest.Output(b.ns.B, "ping", "-c", "2", "-i", "0.2", "-W", "1", pppLocal); err == nil {
		t.Fatalf("ping passed with locally derived keys: the server did not use FreeRADIUS's keys\n%s", out)
	}
	b.stop(c)
}

// records returns the detail file's records of user with status ("Start", "Stop" …).
func records(rad *radtest.Server, user, status string) []radtest.Record {
	var out []radtest.Record
	for _, r := range rad.Records() {
		if r["User-Name"] == user && r["Acct-Status-Type"] == status {
			out = append(out, r)
		}
	}
	return out
}

// waitStop waits for user's Stop record in the detail file.
func waitStop(t *testing.T, rad *radtest.Server, user string) radtest.Record {
	t.Helper()
	var r []radtest.Record
	if !nstest.WaitFor(10*time.Second, func() bool { r = records(rad, user, "Stop"); return len(r) > 0 }) {
		t.Fatalf("no Stop record for %s:\n%s", user, rad.Detail())
	}
	return r[len(r)-1]
}

// ifaceBytes is the tx_bytes and rx_bytes of ifname in ns (IP bytes, as accounted).
func ifaceBytes(t *testing.T, ns, ifname string) (tx, rx uint64) {
	read := func(f string) uint64 {
		out, err := nstest.Output(ns, "cat", "/sys/class/net/"+ifname+"/statistics/"+f)
		if err != nil {
			t.Fatalf("%s: %v %s", f, err, out)
		}
		n, _ := strconv.ParseUint(strings.TrimSpace(out), 10, 64)
		return n
	}
	return read("tx_bytes"), read("rx_bytes")
}

// TestRadiusAccounting: Start, Interim-Update and Stop reach FreeRADIUS's detail file;
// the octets match what went through the tunnel (iperf3 upload) within 1 %; the Class
// from the Access-Accept is echoed; the Stop after the client's own exit says
// User-Request.
func TestRadiusAccounting(t *testing.T) {
	b, rad := newRadiusBed(t, radiusUsers, nil, "require-mppe-128")
	iperf := nstest.Cmd(context.Background(), b.ns.A, "iperf3", "-s")
	if err := iperf.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { iperf.Process.Kill(); iperf.Wait() })
	c := b.startClient("--user", "bob", "--password", "builder", "--require-mppe-128")
	b.waitAddr(c, "pptp0")
	out, err := nstest.Output(b.ns.B, "iperf3", "-c", pppLocal, "-t", "3", "-J")
	if err != nil {
		t.Fatalf("iperf3: %v\n%s", err, out)
	}
	var res struct {
		End struct {
			// Received by the server: what crossed the tunnel (the sender's count includes
			// what was still queued when the test ended).
			SumReceived struct {
				Bytes uint64 `json:"bytes"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.End.SumReceived.Bytes == 0 {
		t.Fatalf("iperf3 output: %v\n%.3000s", err, out)
	}
	time.Sleep(1500 * time.Millisecond) // one more Interim-Update after the transfer
	tx, rx := ifaceBytes(t, b.ns.B, "pptp0")
	b.stop(c)
	stop := waitStop(t, rad, "bob")
	in, _ := strconv.ParseUint(stop["Acct-Input-Octets"], 10, 64)
	outB, _ := strconv.ParseUint(stop["Acct-Output-Octets"], 10, 64)
	moved := res.End.SumReceived.Bytes
	t.Logf("iperf3 moved %d bytes; client pptp0 tx %d rx %d; Stop: Acct-Input-Octets %d, Acct-Output-Octets %d, Session-Time %s",
		moved, tx, rx, in, outB, stop["Acct-Session-Time"])
	// iperf3 counts TCP payload; the accounted octets are IP packets: the payload plus
	// 52 bytes of IPv4 and TCP (timestamps) headers per packet. That must match within 1 %.
	// (The client's pptp0 tx_bytes cannot be the reference: TSO super-packets count their
	// headers once.)
	pkts, _ := strconv.ParseUint(stop["Acct-Input-Packets"], 10, 64)
	want := float64(moved) + 52*float64(pkts)
	t.Logf("iperf3 payload + headers of %d packets = %.0f; accounted %d (%+.3f %%)", pkts, want, in, 100*(float64(in)-want)/want)
	if d := float64(in) - want; d < -0.01*want || d > 0.01*want {
		t.Errorf("Acct-Input-Octets %d is not within 1%% of iperf3's %d bytes + 52 × %d packets of headers (%.0f)", in, moved, pkts, want)
	}
	if d := float64(outB) - float64(rx); d < -0.01*float64(rx) || d > 0.01*float64(rx) {
		t.Errorf("Acct-Output-Octets %d is not within 1%% of the %d bytes the client received", outB, rx)
	}
	_ = tx
	if stop["Acct-Terminate-Cause"] != "User-Request" {
		t.Errorf("Acct-Terminate-Cause %q, want User-Request", stop["Acct-Terminate-Cause"])
	}
	if n := len(records(rad, "bob", "Interim-Update")); n < 2 {
		t.Errorf("%d Interim-Update records with Acct-Interim-Interval 1 over ~5 s", n)
	}
	if len(records(rad, "bob", "Start")) != 1 {
		t.Errorf("want one Start record:\n%s", rad.Detail())
	}
	for _, k := range []string{"Acct-Session-Id", "NAS-Identifier", "NAS-Port", "Calling-Station-Id", "Acct-Input-Packets", "Acct-Output-Packets", "Acct-Input-Gigawords"} {
		if stop[k] == "" {
			t.Errorf("Stop record lacks %s", k)
		}
	}
	// alice's Class comes back in her accounting.
	c = b.startClient("--user", "alice", "--password", "wonderland", "--require-mppe-128")
	b.waitAddr(c, "pptp0")
	b.stop(c)
	if r := waitStop(t, rad, "alice"); r["Class"] != "0x636c6173732d616c696365" {
		t.Errorf("alice's Stop Class = %q, want the Access-Accept's \"class-alice\"", r["Class"])
	}
}

// TestRadiusTimeoutsAndDisconnect: Session-Timeout and Idle-Timeout end sessions with
// that Acct-Terminate-Cause; a radclient Disconnect-Request ends one within 2 s
// (Admin-Reset), and one for a session that does not exist gets a NAK.
func TestRadiusTimeoutsAndDisconnect(t *testing.T) {
	b, rad, nas := newRadiusBedNAS(t, radiusUsers, nil, "require-mppe-128")
	t.Run("Session-Timeout", func(t *testing.T) {
		t0 := time.Now()
		c := b.startClient("--user", "carol", "--password", "cpass", "--require-mppe-128")
		b.waitAddr(c, "pptp0")
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Session-Timeout 3 did not end the session")
		}
		r := waitStop(t, rad, "carol")
		t.Logf("carol's session ended after %v: cause %s, Acct-Session-Time %s", time.Since(t0).Round(10*time.Millisecond), r["Acct-Terminate-Cause"], r["Acct-Session-Time"])
		if r["Acct-Terminate-Cause"] != "Session-Timeout" || (r["Acct-Session-Time"] != "3" && r["Acct-Session-Time"] != "2") {
			t.Errorf("Stop: cause %q, session time %q; want Session-Timeout after 3 s", r["Acct-Terminate-Cause"], r["Acct-Session-Time"])
		}
		b.waitEnded(t)
	})
	t.Run("Idle-Timeout", func(t *testing.T) {
		c := b.startClient("--user", "dave", "--password", "dpass", "--require-mppe-128")
		b.waitAddr(c, "pptp0")
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Idle-Timeout 2 did not end an idle session")
		}
		if r := waitStop(t, rad, "dave"); r["Acct-Terminate-Cause"] != "Idle-Timeout" {
			t.Errorf("Stop cause %q, want Idle-Timeout", r["Acct-Terminate-Cause"])
		}
		b.waitEnded(t)
	})
	t.Run("Disconnect-Request", func(t *testing.T) {
		out, err := rad.Radclient(nas+":3799", "disconnect", "User-Name = \"nobody\"\nMessage-Authenticator = 0x00\n")
		if !strings.Contains(out, "Disconnect-NAK") {
			t.Errorf("Disconnect-Request for no session: %v\n%s", err, out)
		}
		c := b.startClient("--user", "alice", "--password", "wonderland", "--require-mppe-128")
		b.waitAddr(c, "pptp0")
		t0 := time.Now()
		out, err = rad.Radclient(nas+":3799", "disconnect", "User-Name = \"alice\"\nMessage-Authenticator = 0x00\n")
		if err != nil || !strings.Contains(out, "Disconnect-ACK") {
			t.Fatalf("Disconnect-Request: %v\n%s", err, out)
		}
		select {
		case <-c.done:
		case <-time.After(5 * time.Second):
			t.Fatalf("Disconnect-Request did not end the session")
		}
		d := time.Since(t0)
		t.Logf("Disconnect-Request: ACK, client gone after %v", d.Round(time.Millisecond))
		if d > 2*time.Second {
			t.Errorf("the session ended %v after the Disconnect-Request, want within 2 s", d)
		}
		if r := waitStop(t, rad, "alice"); r["Acct-Terminate-Cause"] != "Admin-Reset" {
			t.Errorf("Stop cause %q, want Admin-Reset", r["Acct-Terminate-Cause"])
		}
		b.waitEnded(t)
		// CoA-Request: a new Session-Timeout, counted from the session's start.
		c = b.startClient("--user", "alice", "--password", "wonderland", "--require-mppe-128")
		b.waitAddr(c, "pptp0")
		out, err = rad.Radclient(nas+":3799", "coa", "User-Name = \"alice\"\nSession-Timeout = 2\nMessage-Authenticator = 0x00\n")
		if err != nil || !strings.Contains(out, "CoA-ACK") {
			t.Fatalf("CoA-Request: %v\n%s", err, out)
		}
		select {
		case <-c.done:
		case <-time.After(6 * time.Second):
			t.Fatalf("the Session-Timeout of the CoA-Request did not end the session")
		}
		stops := records(rad, "alice", "Stop")
		if len(stops) != 2 || stops[1]["Acct-Terminate-Cause"] != "Session-Timeout" {
			nstest.WaitFor(5*time.Second, func() bool { stops = records(rad, "alice", "Stop"); return len(stops) == 2 })
		}
		if len(stops) != 2 || stops[1]["Acct-Terminate-Cause"] != "Session-Timeout" {
			t.Errorf("after the CoA: Stop records %v", stops)
		}
		// A request signed with another secret is dropped, not answered.
		cmd := nstest.Cmd(context.Background(), rad.NS, "radclient", "-x", "-r", "1", "-t", "1", nas+":3799", "disconnect", "wrong-secret")
		cmd.Stdin = strings.NewReader("User-Name = \"alice\"\n")
		if out, _ := cmd.CombinedOutput(); strings.Contains(string(out), "Received") {
			t.Errorf("a Disconnect-Request with the wrong secret was answered:\n%s", out)
		}
	})
}

// TestRadiusFailover: with the first server down, logins go to the second; with both down
// they fail within timeout × tries × servers with a clear log line, while a session that
// is up stays up; its Stop record, queued meanwhile, reaches FreeRADIUS once one is back.
func TestRadiusFailover(t *testing.T) {
	users := "alice\tCleartext-Password := \"wonderland\"\n"
	r1 := radtest.Start(t, radtest.Options{Users: users})
	r2 := radtest.Start(t, radtest.Options{Users: users})
	b, _ := newRadiusBedServers(t, []*radtest.Server{r1, r2}, "", "require-mppe-128")
	login := func() *client {
		c := b.startClient("--user", "alice", "--password", "wonderland", "--require-mppe-128")
		b.waitAddr(c, "pptp0")
		return c
	}
	r1.Stop()
	t0 := time.Now()
	c := login() // radius_timeout 1, radius_retries 2: the first server costs 2 s
	t.Logf("first server down: logged in via the second in %v", time.Since(t0).Round(10*time.Millisecond))
	if !strings.Contains(r2.Log.String(), "Login OK: [alice]") {
		t.Errorf("the second server did not authenticate alice")
	}
	r2.Stop()
	t0 = time.Now()
	c2 := b.startClient("--user", "alice", "--password", "wonderland", "--require-mppe-128")
	// While that login waits for the dead servers, the session that is up keeps working.
	time.Sleep(500 * time.Millisecond)
	if out, err := nstest.Output(b.ns.B, "ping", "-c", "3", "-i", "0.2", "-W", "1", "-I", "pptp0", pppLocal); err != nil {
		t.Errorf("the session that was up stalled while another login waited for RADIUS: %v\n%s", err, out)
	}
	select {
	case <-c2.done:
		t.Errorf("the login with no RADIUS server ended before the ping did")
	default:
	}
	if code := c2.exitCode(); code != 19 {
		t.Errorf("login with no server: exit %d, want 19\n%s", code, c2.log.String())
	}
	d := time.Since(t0)
	t.Logf("both servers down: login refused after %v", d.Round(10*time.Millisecond))
	if d > 4*time.Second+3*time.Second { // 2 servers × 2 tries × 1 s, plus connecting
		t.Errorf("a login with no RADIUS server took %v", d)
	}
	if !strings.Contains(b.srvLog.String(), "no RADIUS server answered") {
		t.Errorf("no clear log line about the dead servers:\n%s", b.srvLog.String())
	}
	if out, err := nstest.Output(b.ns.B, "ping", "-c", "3", "-i", "0.2", "-W", "2", pppLocal); err != nil {
		t.Fatalf("the session that was up stopped working with RADIUS down: %v\n%s", err, out)
	}
	b.stop(c)
	time.Sleep(1500 * time.Millisecond) // the Stop is being retried against dead servers
	r1.Restart()
	if !nstest.WaitFor(15*time.Second, func() bool { return len(records(r1, "alice", "Stop")) > 0 }) {
		t.Fatalf("the Stop record was lost while the servers were down:\nr1:\n%s\nr2:\n%s", r1.Detail(), r2.Detail())
	}
	r := records(r1, "alice", "Stop")[0]
	t.Logf("Stop delivered after the restart with Acct-Delay-Time %s", r["Acct-Delay-Time"])
	if r["Acct-Delay-Time"] == "0" {
		t.Errorf("Acct-Delay-Time 0 for a delayed record")
	}
}

// TestRadiusTwoServers: two of our pptpd (two namespaces) share one FreeRADIUS; each
// accounts its own session, told apart by NAS-Identifier.
func TestRadiusTwoServers(t *testing.T) {
	rad := radtest.Start(t, radtest.Options{Users: "alice\tCleartext-Password := \"wonderland\"\nbob\tCleartext-Password := \"builder\"\n"})
	b1, _ := newRadiusBedServers(t, []*radtest.Server{rad}, "", "require-mppe-128")
	b2, _ := newRadiusBedServers(t, []*radtest.Server{rad}, "", "require-mppe-128")
	c1 := b1.startClient("--user", "alice", "--password", "wonderland", "--require-mppe-128")
	c2 := b2.startClient("--user", "bob", "--password", "builder", "--require-mppe-128")
	b1.waitAddr(c1, "pptp0")
	b2.waitAddr(c2, "pptp0")
	for _, b := range []*bed{b1, b2} {
		if out, err := nstest.Output(b.ns.B, "ping", "-c", "2", "-i", "0.2", "-W", "2", pppLocal); err != nil {
			t.Fatalf("ping: %v\n%s", err, out)
		}
	}
	b1.stop(c1)
	b2.stop(c2)
	s1, s2 := waitStop(t, rad, "alice"), waitStop(t, rad, "bob")
	if s1["NAS-Identifier"] != "nas-"+b1.ns.A || s2["NAS-Identifier"] != "nas-"+b2.ns.A {
		t.Errorf("NAS-Identifier %q and %q, want nas-%s and nas-%s", s1["NAS-Identifier"], s2["NAS-Identifier"], b1.ns.A, b2.ns.A)
	}
	if s1["Acct-Session-Id"] == s2["Acct-Session-Id"] {
		t.Errorf("both sessions have Acct-Session-Id %s", s1["Acct-Session-Id"])
	}
}

// TestRadiusFramedIPv6Prefix: FreeRADIUS's Framed-IPv6-Prefix is the /64 our pptpd routes to
// the session and advertises (no remoteip6 pool at all), and its Framed-Interface-Id the
// client's IPV6CP identifier (so its addresses); both are in radattr and the Stop record. A
// prefix that is not a /64 is refused with a line and the session keeps IPv4 and its
// link-local addresses.
func TestRadiusFramedIPv6Prefix(t *testing.T) {
	users := `frank	Cleartext-Password := "fpass"
	Framed-IPv6-Prefix = 2001:db8:77:5::/64,
	Framed-Interface-Id = 0:0:0:1234
gina	Cleartext-Password := "gpass"
	Framed-IPv6-Prefix = 2001:db8:77::/48
`
	b, rad := newRadiusBed(t, users, nil, "+ipv6")
	const behind = "2001:db8:77:ff::1"
	if out, err := nstest.Output(b.ns.A, "ip", "-6", "addr", "add", behind+"/128", "dev", "lo"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	c := b.startClient("--user", "frank", "--password", "fpass", "--defaultroute6")
	b.waitAddr(c, "pptp0")
	var global string
	if !nstest.WaitFor(10*time.Second, func() bool {
		global, _ = nstest.Output(b.ns.B, "ip", "-6", "-o", "addr", "show", "dev", "pptp0", "scope", "global")
		return strings.Contains(global, "2001:db8:77:5:")
	}) {
		t.Fatalf("no address from the granted prefix:\n%s\nclient:\n%s", global, c.log.String())
	}
	if ll, _ := nstest.Output(b.ns.B, "ip", "-6", "-o", "addr", "show", "dev", "pptp0"); !strings.Contains(ll, "2001:db8:77:5::1234/64") ||
		!strings.Contains(ll, "inet6 fe80::1234 ") {
		t.Errorf("addresses without the granted identifier ::1234:\n%s\nclient:\n%s", ll, c.log.String())
	}
	if r, _ := nstest.Output(b.ns.A, "ip", "-6", "route", "show", "2001:db8:77:5::/64"); !strings.Contains(r, "dev pptpd0") {
		t.Errorf("the server routes the granted /64 %q, want via pptpd0", r)
	}
	if out, err := nstest.Output(b.ns.B, "ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", behind); err != nil {
		t.Fatalf("ping -6 %s: %v\n%s", behind, err, out)
	}
	ra, _ := os.ReadFile(filepath.Join(b.dir, "run", "radattr.pptpd0"))
	if !strings.Contains(string(ra), "Framed-IPv6-Prefix 2001:db8:77:5::/64") || !strings.Contains(string(ra), "Framed-Interface-Id 0:0:0:1234") {
		t.Errorf("radattr.pptpd0: %q", ra)
	}
	b.stop(c)
	b.waitEnded(t)
	if r := waitStop(t, rad, "frank"); r["Framed-IPv6-Prefix"] != "2001:db8:77:5::/64" || r["Framed-Interface-Id"] != "0:0:0:1234" {
		t.Errorf("Stop record without the granted prefix: %v", r)
	}
	if !nstest.WaitFor(5*time.Second, func() bool {
		r, _ := nstest.Output(b.ns.A, "ip", "-6", "route", "show", "2001:db8:77:5::/64")
		return strings.TrimSpace(r) == ""
	}) {
		t.Errorf("the server kept the granted /64's route")
	}

	c = b.startClient("--user", "gina", "--password", "gpass")
	b.waitAddr(c, "pptp0")
	if !nstest.WaitFor(5*time.Second, func() bool {
		return strings.Contains(b.srvLog.String(), "Framed-IPv6-Prefix 2001:db8:77::/48 is not a /64")
	}) {
		t.Errorf("no line about the /48:\n%s", tailLines(b.srvLog.String(), 30))
	}
	var ll string
	nstest.WaitFor(5*time.Second, func() bool {
		ll, _ = nstest.Output(b.ns.B, "ip", "-6", "-o", "addr", "show", "dev", "pptp0")
		return strings.Contains(ll, "fe80::")
	})
	if !strings.Contains(ll, "fe80::") || strings.Contains(ll, "2001:db8:77") {
		t.Errorf("with the /48 refused: want the link-local address alone:\n%s", ll)
	}
	b.stop(c)
}
