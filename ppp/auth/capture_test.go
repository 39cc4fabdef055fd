// SPDX-License-Identifier: MIT

package auth

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"testing"

	"github.com/pptp-go/pptp/internal/capture"
	"github.com/pptp-go/pptp/mschap"
)

// Addresses of the captured sessions (../shared/captures/README.md).
var (
	capClient = netip.MustParseAddr("192.0.2.3")
	capServer = netip.MustParseAddr("192.0.2.2")
)

// authPackets returns the packets of protocol proto sent by src: PPP frames
// with or without FF 03 and with a 1- or 2-byte protocol field.
func authPackets(t *testing.T, name string, src netip.Addr, proto uint16) [][]byte {
	t.Helper()
	path := "../../../shared/captures/" + name + ".pcap"
	if _, err := os.Stat(path); err != nil {
		t.Skipf("capture not available: %v", err)
	}
	pkts, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, f := range capture.GREPayloads(pkts, src) {
		if len(f) >= 2 && f[0] == 0xFF && f[1] == 0x03 {
			f = f[2:]
		}
		var p uint16
		switch {
		case len(f) >= 1 && f[0]&1 == 1:
			p, f = uint16(f[0]), f[1:]
		case len(f) >= 2:
			p, f = binary.BigEndian.Uint16(f), f[2:]
		default:
			continue
		}
		if p == proto {
			out = append(out, f)
		}
	}
	return out
}

// capturedCHAP returns the server's Challenge, the client's Response and
// the server's Success or Failure.
func capturedCHAP(t *testing.T, name string) (ch, resp, verdict CHAPPacket) {
	t.Helper()
	srv := authPackets(t, name, capServer, ProtoCHAP)
	cli := authPackets(t, name, capClient, ProtoCHAP)
	if len(srv) != 2 || len(cli) != 1 {
		t.Fatalf("%s: %d server and %d client CHAP packets, want 2 and 1", name, len(srv), len(cli))
	}
	var err error
	for _, x := range []struct {
		dst  *CHAPPacket
		b    []byte
		code byte
	}{{&ch, srv[0], CHAPChallenge}, {&resp, cli[0], CHAPResponse}, {&verdict, srv[1], 0}} {
		if *x.dst, err = ParseCHAP(x.b); err != nil {
			t.Fatalf("%s: %x: %v", name, x.b, err)
		}
		if x.code != 0 && (*x.dst).Code() != x.code {
			t.Fatalf("%s: code %d, want %d", name, (*x.dst).Code(), x.code)
		}
	}
	return ch, resp, verdict
}

// The real pppd 2.4.9 exchanges (user test, password test, server "pptpd"):
// our peer must send byte-identical Responses and accept the real
// verdicts, and our authenticator must send the same Success.
func TestCaptureMSCHAPv2(t *testing.T) {
	ch, resp, succ := capturedCHAP(t, "mschapv2-mppe128-stateless")
	if succ.Code() != CHAPSuccess {
		t.Fatalf("verdict code %d", succ.Code())
	}
	peerCh := resp.Value()[:16]

	peer := NewPeerWithRand(MSCHAPv2, "test", "test", bytes.NewReader(peerCh))
	ours, res := peer.Input(ch)
	if res != nil || !bytes.Equal(ours, resp) {
		t.Fatalf("our Response\n %x\npppd's\n %x", ours, []byte(resp))
	}
	_, res = peer.Input(succ)
	if res == nil || res.Err != nil || res.Keys == nil {
		t.Fatalf("peer result on pppd's Success %q: %+v", succ.Message(), res)
	}

	rnd := append([]byte{ch.Identifier()}, ch.Value()...)
	au := NewAuthenticator(MSCHAPv2, string(ch.Name()), secrets(map[string]string{"test": "test"}), bytes.NewReader(rnd))
	if got := au.Start(); !bytes.Equal(got, ch) {
		t.Errorf("our Challenge %x, pppd's %x", got, []byte(ch))
	}
	reply, ares := au.Input(resp)
	if ares == nil || ares.Err != nil || !bytes.Equal(reply, succ) {
		t.Fatalf("our Success %q, pppd's %q (%+v)", CHAPPacket(reply).Message(), succ.Message(), ares)
	}
	if *ares.Keys != *res.Keys {
		t.Error("keys of the two roles differ")
	}
	wantS := mschap.GenerateAuthenticatorResponse("test", res.Keys.NTResponse, peerCh, ch.Value(), "test")
	if !bytes.HasPrefix(succ.Message(), []byte(wantS)) {
		t.Errorf("pppd's S= %q, ours %s", succ.Message(), wantS)
	}
}

func TestCaptureMSCHAPv2WrongPassword(t *testing.T) {
	ch, resp, fail := capturedCHAP(t, "mschapv2-wrong-password")
	if fail.Code() != CHAPFailure {
		t.Fatalf("verdict code %d", fail.Code())
	}
	peer := NewPeerWithRand(MSCHAPv2, "test", "wrong", bytes.NewReader(resp.Value()[:16]))
	if ours, _ := peer.Input(ch); !bytes.Equal(ours, resp) {
		t.Fatalf("our Response\n %x\npppd's\n %x", ours, []byte(resp))
	}
	_, res := peer.Input(fail)
	var f *mschap.Failure
	if res == nil || !errors.As(res.Err, &f) || f.Code != 691 || f.Message != "Access denied" ||
		!bytes.Equal(f.Challenge, ch.Value()) || res.Keys != nil {
		t.Fatalf("peer result %+v", res)
	}

	rnd := append([]byte{ch.Identifier()}, ch.Value()...)
	au := NewAuthenticator(MSCHAPv2, "pptpd", secrets(map[string]string{"test": "test"}), bytes.NewReader(rnd))
	au.Start()
	reply, ares := au.Input(resp)
	if ares == nil || ares.Err == nil || CHAPPacket(reply).Code() != CHAPFailure || CHAPPacket(reply).Identifier() != ch.Identifier() {
		t.Fatalf("authenticator accepted the wrong password: %x %+v", reply, ares)
	}
}

func TestCaptureMSCHAPv1(t *testing.T) {
	ch, resp, succ := capturedCHAP(t, "mschapv1-mppe128-stateless")
	peer := NewPeer(MSCHAPv1, "test", "test")
	ours, _ := peer.Input(ch)
	if !bytes.Equal(ours, resp) {
		t.Fatalf("our Response\n %x\npppd's\n %x", ours, []byte(resp))
	}
	_, res := peer.Input(succ)
	if res == nil || res.Err != nil || res.Keys == nil || !bytes.Equal(res.Keys.Challenge[:], ch.Value()) {
		t.Fatalf("peer result %+v", res)
	}
	rnd := append([]byte{ch.Identifier()}, ch.Value()...)
	au := NewAuthenticator(MSCHAPv1, "pptpd", secrets(map[string]string{"test": "test"}), bytes.NewReader(rnd))
	if got := au.Start(); !bytes.Equal(got, ch) {
		t.Errorf("our Challenge %x, pppd's %x", got, []byte(ch))
	}
	reply, ares := au.Input(resp)
	if ares == nil || ares.Err != nil || !bytes.Equal(reply, succ) || *ares.Keys != *res.Keys {
		t.Fatalf("our Success %q, pppd's %q (%+v)", CHAPPacket(reply).Message(), succ.Message(), ares)
	}
}

func TestCaptureCHAPMD5(t *testing.T) {
	ch, resp, succ := capturedCHAP(t, "chapmd5-nomppe")
	peer := NewPeer(CHAPMD5, "test", "test")
	ours, _ := peer.Input(ch)
	if !bytes.Equal(ours, resp) {
		t.Fatalf("our Response %x, pppd's %x", ours, []byte(resp))
	}
	if _, res := peer.Input(succ); res == nil || res.Err != nil || res.Message != "Access granted" {
		t.Fatalf("peer result %+v", res)
	}
	// pppd chose a 23-byte challenge; ours are 16 bytes, so put the
	// captured one into the authenticator's state directly.
	au := newCHAPAuthenticator(CHAPMD5, "pptpd", secrets(map[string]string{"test": "test"}), nil)
	au.started, au.id, au.challenge, au.chPkt = true, ch.Identifier(), ch.Value(), ch
	reply, ares := au.Input(resp)
	if ares == nil || ares.Err != nil || !bytes.Equal(reply, succ) {
		t.Fatalf("our Success %q, pppd's %q (%+v)", CHAPPacket(reply).Message(), succ.Message(), ares)
	}
}

func TestCapturePAP(t *testing.T) {
	srv := authPackets(t, "pap-nomppe", capServer, ProtoPAP)
	cli := authPackets(t, "pap-nomppe", capClient, ProtoPAP)
	if len(srv) != 1 || len(cli) != 1 {
		t.Fatalf("%d server and %d client PAP packets", len(srv), len(cli))
	}
	peer := NewPeer(PAP, "test", "test")
	if got := peer.Start(); !bytes.Equal(got, cli[0]) {
		t.Errorf("our Authenticate-Request %x, pppd's %x", got, cli[0])
	}
	if _, res := peer.Input(srv[0]); res == nil || res.Err != nil {
		t.Fatalf("peer result on pppd's %q: %+v", srv[0], res)
	}
	au := NewAuthenticator(PAP, "pptpd", secrets(map[string]string{"test": "test"}), nil)
	reply, res := au.Input(cli[0])
	if res == nil || res.Err != nil || !bytes.Equal(reply, srv[0]) {
		t.Fatalf("our Ack %q, pppd's %q (%+v)", reply, srv[0], res)
	}
}
