// SPDX-License-Identifier: MIT

package aaa

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc3162"

	"github.com/pptp-go/pptp/mppe"
	"github.com/pptp-go/pptp/mschap"
	"github.com/pptp-go/pptp/ppp/auth"
)

func writeFiles(t *testing.T, files map[string]string) string {
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestParseConfig(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"radiusclient.conf": "# pppd's radiusclient\nauth_order\tradius\nauthserver\tradius1:1645,radius2\nacctserver radius1:1646\nservers servers\ndictionary /nonexistent/dictionary\nradius_timeout 2\nradius_retries 4\nbindaddr 10.0.0.1\nnas-identifier vpn1\nseqfile /var/run/radius.seq\ndae-server 10.0.0.1\n",
		"servers":           "# host secret\nradius1 s3cret1\nradius2\ts3cret2\n",
	})
	c, err := ParseConfig(filepath.Join(dir, "radiusclient.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Auth) != 2 || c.Auth[0].Addr != "radius1:1645" || string(c.Auth[0].Secret) != "s3cret1" ||
		c.Auth[1].Addr != "radius2:1812" || string(c.Auth[1].Secret) != "s3cret2" {
		t.Errorf("auth servers %v", c.Auth)
	}
	if len(c.Acct) != 1 || c.Acct[0].Addr != "radius1:1646" {
		t.Errorf("acct servers %v", c.Acct)
	}
	if c.Timeout != 2*time.Second || c.Retries != 4 || c.Bind.String() != "10.0.0.1" || c.NASIdentifier != "vpn1" || c.DAE != "10.0.0.1:3799" {
		t.Errorf("config %+v", c)
	}
	if c.Bound(c.Auth) != 16*time.Second {
		t.Errorf("bound %v", c.Bound(c.Auth))
	}
	if len(c.Notes) != 1 || !strings.Contains(c.Notes[0], "dictionary") {
		t.Errorf("notes %q: a missing dictionary is noted, not fatal", c.Notes)
	}
	for _, s := range c.Auth {
		if strings.Contains(s.String(), "s3cret") {
			t.Errorf("a server prints its secret")
		}
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, tc := range []struct{ conf, servers, want string }{
		{"authserver a\nservers servers\nradius_timeout x\n", "a s\n", "radiusclient.conf:3: radius_timeout needs a positive number"},
		{"authserver a\nservers servers\nfrobnicate 1\n", "a s\n", `radiusclient.conf:3: unknown keyword "frobnicate"`},
		{"authserver b\nservers servers\n", "a s\n", "radiusclient.conf:1: server b has no secret"},
		{"authserver a:99999\nservers servers\n", "a s\n", `radiusclient.conf:1: bad server "a:99999"`},
		{"authserver a\nservers servers\n", "a s3cret extra\n", "servers:1: want \"server secret\", got 3 words"},
		{"authserver a\nservers nothere\n", "", "radiusclient.conf:2: open"},
		{"servers servers\n", "a s\n", "radiusclient.conf: no authserver"},
		{"authserver a\nservers servers\nbindaddr ::1\n", "a s\n", "radiusclient.conf:3: bindaddr needs an IPv4 address"},
	} {
		dir := writeFiles(t, map[string]string{"radiusclient.conf": tc.conf, "servers": tc.servers})
		_, err := ParseConfig(filepath.Join(dir, "radiusclient.conf"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.conf, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error shows the secret: %v", err)
		}
	}
}

// fakeServer answers Access-Requests on loopback with what reply builds; replies may be
// corrupted on purpose. It is our own code signing, so it proves the client's checks,
// not interoperability (the e2e tests run FreeRADIUS for that).
type fakeServer struct {
	conn  net.PacketConn
	mu    sync.Mutex
	count int
}

func startFake(t *testing.T, secret string, reply func(n int, req *radius.Packet) [][]byte) *fakeServer {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{conn: conn}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			req, err := radius.Parse(buf[:n], []byte(secret))
			if err != nil {
				continue
			}
			f.mu.Lock()
			f.count++
			k := f.count
			f.mu.Unlock()
			for _, b := range reply(k, req) {
				conn.WriteTo(b, from)
			}
		}
	}()
	return f
}

// accept builds an authentic, signed Access-Accept for req, after edit.
func accept(t *testing.T, req *radius.Packet, edit func(p *radius.Packet)) []byte {
	p := req.Response(radius.CodeAccessAccept)
	if edit != nil {
		edit(p)
	}
	signResponse(p, req.Authenticator)
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func papRequest() *auth.VerifyRequest {
	return &auth.VerifyRequest{Method: auth.PAP, User: "alice", Password: []byte("pw")}
}

func TestRepliesAreAuthenticated(t *testing.T) {
	const secret = "s"
	f := startFake(t, secret, func(_ int, req *radius.Packet) [][]byte {
		good := accept(t, req, func(p *radius.Packet) { rfc2865.FramedIPAddress_Set(p, net.IPv4(10, 0, 0, 9)) })
		badAuth := append([]byte(nil), good...)
		badAuth[5] ^= 1 // Response Authenticator
		forged := req.Response(radius.CodeAccessAccept)
		rfc2865.FramedIPAddress_Set(forged, net.IPv4(10, 6, 6, 6))
		signResponse(forged, req.Authenticator)
		forged.Secret = []byte("other secret")
		forgedB, _ := forged.Encode()
		unsigned := req.Response(radius.CodeAccessAccept)
		rfc2865.FramedIPAddress_Set(unsigned, net.IPv4(10, 7, 7, 7))
		unsignedB, _ := unsigned.Encode()
		return [][]byte{{1, 2, 3}, badAuth, forgedB, unsignedB, good}
	})
	var logs []string
	var mu sync.Mutex
	cfg := &Config{Auth: []Server{{Addr: f.conn.LocalAddr().String(), Secret: []byte(secret)}}, Timeout: time.Second, Retries: 1}
	c := &client{cfg: cfg, logf: func(format string, a ...any) {
		mu.Lock()
		logs = append(logs, format)
		mu.Unlock()
	}}
	v, r := c.authenticate(context.Background(), papRequest(), &nasInfo{})
	if !v.OK || r == nil || r.Grant.PeerIP.String() != "10.0.0.9" {
		t.Fatalf("verdict %+v reply %+v: want the authentic Accept's 10.0.0.9", v, r)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logs) != 4 {
		t.Errorf("%d replies logged as dropped, want 4 (short, bad authenticator, wrong secret, no Message-Authenticator)", len(logs))
	}
}

func TestFailoverIsBounded(t *testing.T) {
	// A closed port (ICMP unreachable) and a server that never answers.
	closed, _ := net.ListenPacket("udp", "127.0.0.1:0")
	closedAddr := closed.LocalAddr().String()
	closed.Close()
	silent := startFake(t, "s", func(int, *radius.Packet) [][]byte { return nil })
	cfg := &Config{Auth: []Server{{Addr: closedAddr, Secret: []byte("s")}, {Addr: silent.conn.LocalAddr().String(), Secret: []byte("s")}},
		Timeout: 100 * time.Millisecond, Retries: 3}
	c := &client{cfg: cfg, logf: t.Logf}
	t0 := time.Now()
	v, _ := c.authenticate(context.Background(), papRequest(), &nasInfo{})
	d := time.Since(t0)
	if v.OK || !errors.Is(v.Err, ErrNoServer) {
		t.Fatalf("verdict %+v, want ErrNoServer", v)
	}
	if d < 550*time.Millisecond || d > 900*time.Millisecond {
		t.Errorf("gave up after %v, want about 2 servers × 3 tries × 100 ms", d)
	}
	silent.mu.Lock()
	defer silent.mu.Unlock()
	if silent.count != 3 {
		t.Errorf("the second server got %d tries, want 3", silent.count)
	}
}

// TestMSCHAPv2Accept: the keys come out of MS-MPPE-Send/Recv-Key (RFC 2548 salt
// encryption, by the library's encoder) and S= out of MS-CHAP2-Success.
func TestMSCHAPv2Accept(t *testing.T) {
	const secret = "s"
	ch := make([]byte, 16)
	peer := make([]byte, 16)
	nt := mschap.GenerateNTResponse(ch, peer, "alice", "pw")
	resp := make([]byte, 49)
	copy(resp[24:], nt[:])
	var sendKey, recvKey [16]byte
	sendKey, recvKey = mppe.KeysV2(mschap.HashNTPasswordHash(mschap.NTPasswordHash("pw")), nt, true)
	sText := mschap.GenerateAuthenticatorResponse("pw", nt, peer, ch, "alice")
	f := startFake(t, secret, func(_ int, req *radius.Packet) [][]byte {
		return [][]byte{accept(t, req, func(p *radius.Packet) {
			addVendor(p, msCHAP2Success, append([]byte{7}, sText...))
			for typ, k := range map[byte][16]byte{msMPPESendKey: sendKey, msMPPERecvKey: recvKey} {
				a, err := radius.NewTunnelPassword(k[:], []byte{0x80 | typ, 0x42}, req.Secret, req.Authenticator[:])
				if err != nil {
					t.Fatal(err)
				}
				addVendor(p, typ, a)
			}
		})}
	})
	cfg := &Config{Auth: []Server{{Addr: f.conn.LocalAddr().String(), Secret: []byte(secret)}}, Timeout: time.Second, Retries: 1}
	c := &client{cfg: cfg, logf: t.Logf}
	v, _ := c.authenticate(context.Background(), &auth.VerifyRequest{Method: auth.MSCHAPv2, User: "alice", ID: 7, Challenge: ch, Response: resp}, &nasInfo{})
	if !v.OK || v.Message != sText || v.StartKeys == nil || v.StartKeys.Send != sendKey || v.StartKeys.Recv != recvKey {
		t.Fatalf("verdict %+v", v)
	}
}

// FuzzParseReply feeds arbitrary bytes as the reply to a fixed request through the checks
// and the attribute decoding (vendor attributes, salt and hidden decryption).
func FuzzParseReply(f *testing.F) {
	secret := []byte("fuzz")
	req, _ := buildAccess(&auth.VerifyRequest{Method: auth.MSCHAPv2, User: "u", Challenge: make([]byte, 16), Response: make([]byte, 49)}, &nasInfo{}, secret)
	wire, _ := encode(req)
	good := req.Response(radius.CodeAccessAccept)
	addVendor(good, msCHAP2Success, []byte("\x00S=0123"))
	addVendor(good, msMPPESendKey, make([]byte, 34))
	addVendor(good, msCHAPMPPEKeys, make([]byte, 32))
	rfc2865.FramedIPAddress_Set(good, net.IPv4(10, 0, 0, 1))
	good.Add(rfc3162.FramedInterfaceID_Type, []byte{0, 0, 0, 0, 0, 0, 0x12, 0x34})
	signResponse(good, req.Authenticator)
	g, _ := good.Encode()
	f.Add(g)
	f.Add([]byte{2, wire[1], 0, 20})
	f.Fuzz(func(t *testing.T, b []byte) {
		checkReply(b, wire, req)
		p, err := radius.Parse(b, secret)
		if err != nil {
			return
		}
		for _, m := range []auth.Method{auth.PAP, auth.CHAPMD5, auth.MSCHAPv1, auth.MSCHAPv2} {
			parseAccess(p, req, m)
		}
		checkMA(b, secret, wire[4:20])
	})
}

// radius_deadtime: after the first server failed, the next logins go to the second at
// once; after the dead time the first is tried again first.
func TestDeadTime(t *testing.T) {
	closed, _ := net.ListenPacket("udp", "127.0.0.1:0")
	closedAddr := closed.LocalAddr().String()
	closed.Close()
	live := startFake(t, "s", func(_ int, req *radius.Packet) [][]byte { return [][]byte{accept(t, req, nil)} })
	cfg := &Config{Auth: []Server{{Addr: closedAddr, Secret: []byte("s")}, {Addr: live.conn.LocalAddr().String(), Secret: []byte("s")}},
		Timeout: 200 * time.Millisecond, Retries: 1, DeadTime: 500 * time.Millisecond}
	c := &client{cfg: cfg, logf: t.Logf}
	login := func() time.Duration {
		t0 := time.Now()
		if v, _ := c.authenticate(context.Background(), papRequest(), &nasInfo{}); !v.OK {
			t.Fatalf("login failed: %v", v.Err)
		}
		return time.Since(t0)
	}
	if d := login(); d < 200*time.Millisecond {
		t.Errorf("first login took %v: the dead server's try should have cost 200 ms", d)
	}
	if d := login(); d > 100*time.Millisecond {
		t.Errorf("second login took %v: the dead server should have been skipped", d)
	}
	time.Sleep(600 * time.Millisecond)
	if d := login(); d < 200*time.Millisecond {
		t.Errorf("after the dead time the first server was not tried again (%v)", d)
	}
}

// TestFramedIPv6Prefix: a /64 becomes the session's advertised prefix; anything else is
// kept for radattr, not advertised, and said.
func TestFramedIPv6Prefix(t *testing.T) {
	for _, tc := range []struct{ attr, grant, warn string }{
		{"2001:db8:77:5::/64", "2001:db8:77:5::/64", ""},
		{"2001:db8:77:5:1::/64", "2001:db8:77:5::/64", ""}, // host bits dropped
		{"2001:db8:77::/48", "invalid Prefix", "not a /64"},
		{"2001:db8:77:5::1/128", "invalid Prefix", "not a /64"},
	} {
		req, _ := buildAccess(papRequest(), &nasInfo{}, []byte("s"))
		reply := req.Response(radius.CodeAccessAccept)
		ip, n, _ := net.ParseCIDR(tc.attr)
		n.IP = ip // as sent, host bits and all
		if err := rfc3162.FramedIPv6Prefix_Set(reply, n); err != nil {
			t.Fatal(err)
		}
		v, r := parseAccess(reply, req, auth.PAP)
		if !v.OK || r.Grant.IPv6Prefix.String() != tc.grant {
			t.Errorf("%s: granted %v, want %s", tc.attr, r.Grant.IPv6Prefix, tc.grant)
		}
		if w := strings.Join(r.Warnings, "; "); tc.warn == "" && w != "" || !strings.Contains(w, tc.warn) {
			t.Errorf("%s: warnings %q, want %q", tc.attr, w, tc.warn)
		}
		if !slices.ContainsFunc(r.Attrs, func(a string) bool { return strings.HasPrefix(a, "Framed-IPv6-Prefix ") }) {
			t.Errorf("%s: not in the radattr lines %q", tc.attr, r.Attrs)
		}
	}
}

// TestFramedInterfaceID: 8 non-zero bytes become the identifier suggested to the peer and
// a radattr line; a zero or short one is ignored and said.
func TestFramedInterfaceID(t *testing.T) {
	for _, tc := range []struct {
		attr  []byte
		grant [8]byte
		line  string
		warn  string
	}{
		{[]byte{0, 0, 0, 0, 0, 0, 0x12, 0x34}, [8]byte{6: 0x12, 7: 0x34}, "Framed-Interface-Id 0:0:0:1234", ""},
		{[]byte{0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55}, [8]byte{0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55}, "Framed-Interface-Id 211:22ff:fe33:4455", ""},
		{make([]byte, 8), [8]byte{}, "", "0:0:0:0 is no identifier"},
		{[]byte{1, 2, 3}, [8]byte{}, "", "of 3 bytes"},
	} {
		req, _ := buildAccess(papRequest(), &nasInfo{}, []byte("s"))
		reply := req.Response(radius.CodeAccessAccept)
		reply.Add(rfc3162.FramedInterfaceID_Type, tc.attr)
		v, r := parseAccess(reply, req, auth.PAP)
		if !v.OK || r.Grant.IPv6PeerID != tc.grant {
			t.Errorf("% x: granted % x, want % x", tc.attr, r.Grant.IPv6PeerID, tc.grant)
		}
		if w := strings.Join(r.Warnings, "; "); tc.warn == "" && w != "" || !strings.Contains(w, tc.warn) {
			t.Errorf("% x: warnings %q, want %q", tc.attr, w, tc.warn)
		}
		if has := slices.Contains(r.Attrs, tc.line); has != (tc.line != "") {
			t.Errorf("% x: radattr lines %q, want %q", tc.attr, r.Attrs, tc.line)
		}
	}
}
