// SPDX-License-Identifier: MIT

package aaa

import (
	"context"
	"net"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc3576"
)

// TestDAE: NAKs name the reason and are signed; a request with a bad
// Message-Authenticator or the wrong secret gets no answer at all.
func TestDAE(t *testing.T) {
	secret := []byte("dae-secret")
	r := New(&Config{Auth: []Server{{Addr: "127.0.0.1:1812", Secret: secret}}, Timeout: time.Second, Retries: 1, NASIdentifier: "nas1"}, t.Logf)
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.ServeDAE(ctx, conn)
	send := func(p *radius.Packet, corruptMA bool) (*radius.Packet, error) {
		wire, err := encode(p)
		if err != nil {
			t.Fatal(err)
		}
		if corruptMA {
			wire[findMA(wire)] ^= 1
			q, _ := radius.Parse(wire, p.Secret)
			wire, _ = q.Encode() // a valid Request Authenticator over the bad MA
		}
		c, err := net.Dial("udp", conn.LocalAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write(wire)
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		buf := make([]byte, 4096)
		n, err := c.Read(buf)
		if err != nil {
			return nil, err
		}
		if !radius.IsAuthenticResponse(buf[:n], wire, p.Secret) {
			t.Fatalf("reply with a bad Response Authenticator")
		}
		if err := checkMA(buf[:n], p.Secret, wire[4:20]); err != nil {
			t.Fatalf("reply: %v", err)
		}
		return radius.Parse(buf[:n], p.Secret)
	}
	req := func(secret []byte, user, nasID string) *radius.Packet {
		p := radius.New(radius.CodeDisconnectRequest, secret)
		if user != "" {
			rfc2865.UserName_SetString(p, user)
		}
		if nasID != "" {
			rfc2865.NASIdentifier_SetString(p, nasID)
		}
		addMA(p)
		return p
	}
	for _, tc := range []struct {
		name  string
		p     *radius.Packet
		cause rfc3576.ErrorCause
	}{
		{"unknown session", req(secret, "nobody", ""), causeNotFound},
		{"no selector", req(secret, "", ""), causeMissingAttribute},
		{"other NAS", req(secret, "alice", "nas2"), causeNASMismatch},
	} {
		reply, err := send(tc.p, false)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if reply.Code != radius.CodeDisconnectNAK || rfc3576.ErrorCause_Get(reply) != tc.cause {
			t.Errorf("%s: %v with Error-Cause %v, want NAK %v", tc.name, reply.Code, rfc3576.ErrorCause_Get(reply), tc.cause)
		}
	}
	if _, err := send(req(secret, "nobody", ""), true); err == nil {
		t.Errorf("a request with a bad Message-Authenticator was answered")
	}
	if _, err := send(req([]byte("wrong"), "nobody", ""), false); err == nil {
		t.Errorf("a request with the wrong secret was answered")
	}
}

// daeWriter records what the handler answers.
type daeWriter struct{ got *radius.Packet }

func (w *daeWriter) Write(p *radius.Packet) error { w.got = p; return nil }

// FuzzDAERequest feeds arbitrary Disconnect/CoA requests to the handler (after the
// library's parsing, as the listener does): it must answer or drop, never panic, and any
// answer must be a signed ACK or NAK of the request's kind.
func FuzzDAERequest(f *testing.F) {
	secret := []byte("fuzz")
	r := New(&Config{Auth: []Server{{Addr: "127.0.0.1:1812", Secret: secret}}, Timeout: time.Second, Retries: 1, NASIdentifier: "nas1"}, nil)
	seed := radius.New(radius.CodeDisconnectRequest, secret)
	rfc2865.UserName_SetString(seed, "alice")
	addMA(seed)
	b, _ := encode(seed)
	f.Add(b)
	coa := radius.New(radius.CodeCoARequest, secret)
	rfc2865.SessionTimeout_Set(coa, 5)
	rfc2865.FramedIPAddress_Set(coa, net.IPv4(10, 0, 0, 1))
	b, _ = encode(coa)
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := radius.Parse(b, secret)
		if err != nil {
			return
		}
		w := &daeWriter{}
		r.serveDAE(w, &radius.Request{Packet: p, RemoteAddr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}})
		if w.got == nil {
			return
		}
		switch {
		case p.Code == radius.CodeDisconnectRequest && (w.got.Code == radius.CodeDisconnectACK || w.got.Code == radius.CodeDisconnectNAK):
		case p.Code == radius.CodeCoARequest && (w.got.Code == radius.CodeCoAACK || w.got.Code == radius.CodeCoANAK):
		default:
			t.Fatalf("%v answered with %v", p.Code, w.got.Code)
		}
		if w.got.Code == radius.CodeDisconnectACK || w.got.Code == radius.CodeCoAACK {
			t.Fatalf("ACK with no session registered")
		}
	})
}
