// SPDX-License-Identifier: MIT

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
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
	Acct-Interim-Interval = 1
carol	Cleartext-Password := "cpass"
	Session-Timeout = 3
dave	Cleartext-Password := "dpass"
	Idle-Timeout = 2
`

// newRadiusBed starts FreeRADIUS in its own namespace linked to the server namespace, and
// our pptpd there with plugin radius.so and a radiusclient.conf naming it.
func newRadiusBed(t *testing.T, users string, rad *radtest.Server, opts ...string) (*bed, *radtest.Server) {
	nstest.RequireRoot(t)
	if rad == nil {
		rad = radtest.Start(t, radtest.Options{Users: users})
	}
	b := &bed{t: t, ns: nstest.NewPair(t, "e2r"), dir: t.TempDir(), srvLog: nstest.NewBuffer()}
	nasAddr, radAddr := rad.Link(b.ns.A)
	write := func(name, content string) string {
		p := filepath.Join(b.dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rc := radtest.RadiusclientConf(t, b.dir, []string{radAddr}, fmt.Sprintf("nas-identifier nas-%s\nbindaddr %s\ndae-server %s:3799\n", b.ns.A, nasAddr, nasAddr))
	options := write("pptpd-options", "name pptpd\nms-dns "+pppLocal+"\nplugin radius.so\nplugin radattr.so\nradius-config-file "+rc+"\n"+strings.Join(opts, "\n")+"\n")
	conf := write("pptpd.conf", fmt.Sprintf("option %s\nlocalip %s\nremoteip 10.99.0.100-120\nconnections 200\n", options, pppLocal))
	// A chap-secrets that would let alice in with another password: it must not be read.
	secrets := write("chap-secrets", "alice * \"other\" *\n")
	b.args = []string{"--fg", "--debug", "--conf", conf, "--chap-secrets", secrets, "--pidfile", filepath.Join(b.dir, "pptpd.pid")}
	b.startServer()
	t.Cleanup(func() {
		b.stopServer()
		if t.Failed() {
			t.Logf("pptpd log:\n%s", b.srvLog.String())
			t.Logf("FreeRADIUS log (tail):\n%s", tailLines(rad.Log.String(), 80))
		}
	})
	return b, rad
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
			b.stop(c)
			b.waitEnded(t)
			bad := b.startClient("--user", "bob", "--password", "nope", "--nomppe", "--refuse-mschap", "--refuse-mschap-v2", m.refuse)
			if code := bad.exitCode(); code != 19 {
				t.Errorf("wrong password: exit status %d, want 19\n%s", code, bad.log.String())
			}
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
