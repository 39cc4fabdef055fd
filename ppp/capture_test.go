// SPDX-License-Identifier: MIT

package ppp

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/pptp-go/pptp/internal/capture"
	"github.com/pptp-go/pptp/mppe"
	"github.com/pptp-go/pptp/mschap"
	"github.com/pptp-go/pptp/ppp/auth"
)

const captureDir = "../../shared/captures/"

var (
	capServer = netip.MustParseAddr("192.0.2.2")
	capClient = netip.MustParseAddr("192.0.2.3")
)

// TestCaptureReplay replays the server side of real pptpd + pppd 2.4.9 sessions to a client
// engine and checks that every reply we give is the one pppd gave (option sets compared byte
// for byte; identifiers mapped to ours), that our authentication packet is byte-identical to
// pppd's (MS-CHAPv2 fed pppd's peer challenge), and that the MPPE keys we derive decrypt the
// server's real encrypted packets.
func TestCaptureReplay(t *testing.T) {
	for _, tc := range []replayCase{
		{"mschapv2-mppe128-stateless", auth.MSCHAPv2, MPPEPolicy{Require: true, Allow128: true, Stateless: true}, 128},
		{"mschapv2-mppe40-stateless", auth.MSCHAPv2, MPPEPolicy{Require: true, Allow40: true, Stateless: true}, 40},
		{"mschapv1-mppe128-stateless", auth.MSCHAPv1, MPPEPolicy{Require: true, Allow128: true, Stateless: true}, 128},
		{"chapmd5-nomppe", auth.CHAPMD5, MPPEPolicy{}, 0},
		{"pap-nomppe", auth.PAP, MPPEPolicy{}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) { replayCapture(t, tc) })
	}
}

type replayCase struct {
	name   string
	method auth.Method
	policy MPPEPolicy
	bits   int
}

func replayCapture(t *testing.T, tc replayCase) {
	pkts, err := capture.Open(captureDir + tc.name + ".pcap")
	if err != nil {
		t.Skipf("capture not available: %v", err)
	}
	srv := capture.GREPayloads(pkts, capServer)
	cli := capture.GREPayloads(pkts, capClient)

	// pppd's authentication packet: PAP Authenticate-Request or CHAP Response. An
	// MS-CHAPv2 Response carries pppd's random peer challenge in its first 16 value bytes.
	authProto := tc.method.Protocol()
	authCode := uint8(2)
	if authProto == ProtoPAP {
		authCode = 1
	}
	var pppdAuth Packet
	for _, f := range cli {
		if proto, info, _ := ParseFrame(f); proto == authProto && info[0] == authCode {
			pppdAuth = Packet(info)
			break
		}
	}
	if pppdAuth == nil {
		t.Fatal("no authentication packet from pppd in the capture")
	}
	var peerChallenge []byte
	if tc.method == auth.MSCHAPv2 {
		peerChallenge = pppdAuth[5 : 5+16]
	}

	// pppdReply finds pppd's answer (Ack/Nak/Reject) to the server's request id of proto.
	pppdReply := func(proto uint16, id uint8) Packet {
		for _, f := range cli {
			pr, info, _ := ParseFrame(f)
			if pr == proto && len(info) >= 4 && info[1] == id && info[0] >= CodeConfigureAck && info[0] <= CodeConfigureReject {
				return Packet(info)
			}
		}
		return nil
	}

	synctest.Test(t, func(t *testing.T) {
		cfg := Config{User: "test", Password: "test", MRU: 1500, UsePeerDNS: true, MPPE: tc.policy}
		x := newSide(cfg)
		x.e.authRand = bytes.NewReader(peerChallenge)
		go func() { x.err = x.e.Run(context.Background()); close(x.done) }()
		t.Cleanup(func() {
			x.e.Close()
			<-x.done
			if t.Failed() {
				t.Logf("log:\n%s", strings.Join(x.logs, "\n"))
			}
		})
		synctest.Wait()
		low := x.out

		lastSent := func(proto uint16, code uint8) Packet {
			p := low.find(proto, code)
			if len(p) == 0 {
				return nil
			}
			return p[len(p)-1]
		}
		// Our first LCP request asks for what pppd's asked (magic aside).
		ours := lastSent(ProtoLCP, CodeConfigureRequest)
		pppdReq := Packet(nil)
		for _, f := range cli {
			if pr, info, _ := ParseFrame(f); pr == ProtoLCP && info[0] == CodeConfigureRequest {
				pppdReq = Packet(info)
				break
			}
		}
		if !sameOptionsButMagic(ours.Data(), pppdReq.Data()) {
			t.Errorf("our LCP request %s, pppd's %s", describePacket(ProtoLCP, ours), describePacket(ProtoLCP, pppdReq))
		}

		var mppeFrames [][]byte
		for i, f := range srv {
			proto, info, err := ParseFrame(f)
			if err != nil {
				t.Fatalf("server frame %d: %v", i, err)
			}
			if proto == ProtoCompressed {
				mppeFrames = append(mppeFrames, slices.Clone(info))
				continue
			}
			p := Packet(slices.Clone(info))
			if proto == ProtoIPv4 || proto == ProtoIPv6 || len(p) < pktHeaderLen {
				x.e.Input(slices.Clone(f)) // data: the engine must ignore it
				continue
			}
			if proto == ProtoLCP && p.Code() == CodeTerminateAck {
				continue // answers pppd's Terminate-Requests, which we did not send
			}
			before := len(low.sent)
			switch {
			case proto == ProtoCCP && tc.bits == 0:
				x.e.Input(appendFrame(nil, proto, p))
			case (proto == ProtoLCP || proto == ProtoIPCP || proto == ProtoCCP) && p.Code() == CodeConfigureAck:
				req := lastSent(proto, CodeConfigureRequest)
				if proto == ProtoLCP && !sameOptionsButMagic(p.Data(), req.Data()) ||
					proto != ProtoLCP && !bytes.Equal(p.Data(), req.Data()) {
					t.Errorf("server acked %s, we asked %s", describePacket(proto, p), describePacket(proto, req))
				}
				// Ack exactly what we sent (our magic number differs from pppd's).
				x.e.Input(appendFrame(nil, proto, appendPacket(nil, CodeConfigureAck, req.ID(), req.Data())))
			case (proto == ProtoIPCP || proto == ProtoCCP || proto == ProtoLCP) && (p.Code() == CodeConfigureNak || p.Code() == CodeConfigureReject):
				req := lastSent(proto, CodeConfigureRequest)
				x.e.Input(appendFrame(nil, proto, appendPacket(nil, p.Code(), req.ID(), p.Data())))
			default:
				x.e.Input(appendFrame(nil, proto, p))
			}
			synctest.Wait()
			sent := low.sent[before:]
			if req := findIn(sent, ProtoLCP, CodeEchoRequest); req != nil {
				// Our readiness probe (Engine.maybeUp): answer it as pppd would.
				x.e.Input(appendFrame(nil, ProtoLCP, appendPacket(nil, CodeEchoReply, req.ID(), []byte{0, 0, 0, 0})))
				synctest.Wait()
			}

			switch {
			case (proto == ProtoLCP || proto == ProtoIPCP || proto == ProtoCCP && tc.bits != 0) && p.Code() == CodeConfigureRequest:
				want := pppdReply(proto, p.ID())
				got := firstReply(sent, proto)
				if want == nil || got == nil || got.Code() != want.Code() || got.ID() != p.ID() || !bytes.Equal(got.Data(), want.Data()) {
					t.Errorf("to %s we replied %s, pppd %s", describePacket(proto, p), describePacket(proto, got), describePacket(proto, want))
				}
			case proto == ProtoIPV6CP:
				if p.Code() == CodeConfigureRequest {
					rej := findIn(sent, ProtoLCP, CodeProtocolReject)
					if rej == nil || binary.BigEndian.Uint16(rej.Data()) != ProtoIPV6CP {
						t.Errorf("IPV6CP request not Protocol-Rejected: sent %d frames", len(sent))
					}
				}
			case proto == ProtoLCP && p.Code() == CodeEchoRequest:
				rep := findIn(sent, ProtoLCP, CodeEchoReply)
				if rep == nil || rep.ID() != p.ID() || len(rep.Data()) != 4 {
					t.Errorf("Echo-Request answered with %v", rep)
				}
			case proto == ProtoCCP && tc.bits == 0:
				// Without MPPE we do not run CCP: pppd's peer gets a Protocol-Reject
				// instead of pppd's Configure-Reject of Deflate.
				if p.Code() == CodeConfigureRequest && findIn(sent, ProtoLCP, CodeProtocolReject) == nil {
					t.Errorf("CCP not Protocol-Rejected without MPPE")
				}
			}
		}
		ourAuth := findIn(low.sent, authProto, authCode)
		if ourAuth == nil || !bytes.Equal(ourAuth.Data(), pppdAuth.Data()) || authProto == ProtoCHAP && ourAuth.ID() != pppdAuth.ID() {
			t.Errorf("our %v packet differs from pppd's:\n got %x\nwant %x", tc.method, []byte(ourAuth), []byte(pppdAuth))
		}

		var lp LinkParams
		select {
		case lp = <-x.upCh:
		default:
			t.Fatalf("link not up after the replay (err %v)", x.err)
		}
		mtu := 1500
		if tc.bits != 0 {
			mtu -= 4
		}
		want := LinkParams{Local: netip.MustParseAddr("10.99.0.100"), Peer: netip.MustParseAddr("10.99.0.1"),
			DNS: []netip.Addr{netip.MustParseAddr("10.99.0.1"), netip.MustParseAddr("10.99.0.1")},
			MTU: mtu, TxACFC: true, TxPFC: true, AuthUser: "test"}
		if tc.bits == 0 && lp.MPPE != nil || tc.bits != 0 && (lp.MPPE == nil || lp.MPPE.Bits != tc.bits || !lp.MPPE.Stateless) {
			t.Fatalf("MPPE %+v, want %d-bit stateless", lp.MPPE, tc.bits)
		}
		if lp.Local != want.Local || lp.Peer != want.Peer || !slices.Equal(lp.DNS, want.DNS) || lp.MTU != want.MTU ||
			lp.TxACFC != want.TxACFC || lp.TxPFC != want.TxPFC || lp.AuthUser != want.AuthUser {
			t.Fatalf("params %+v, want %+v", lp, want)
		}
		if x.e.authMethod != tc.method {
			t.Fatalf("auth %v", x.e.authMethod)
		}
		if tc.bits == 0 {
			if len(mppeFrames) != 0 {
				t.Fatalf("%d MPPE frames in a capture without MPPE", len(mppeFrames))
			}
			return
		}
		// The kernel's encrypted frames from the server decrypt with our receive key.
		if len(mppeFrames) == 0 {
			t.Fatal("no MPPE frames in the capture")
		}
		d, err := mppe.NewDecrypter(lp.MPPE.RecvKey[:], tc.bits, true)
		if err != nil {
			t.Fatal(err)
		}
		ipv4 := 0
		for i, f := range mppeFrames {
			if _, err := d.Decrypt(f[:2], f[2:]); err != nil {
				t.Fatalf("MPPE frame %d: %v", i, err)
			}
			// The server sent IPv6 (IPV6CP was up with pppd) and IPv4; PFC may apply.
			proto, pkt, err := ParseFrame(f[2:])
			switch {
			case err != nil:
				t.Fatalf("MPPE frame %d: %v", i, err)
			case proto == ProtoIPv4 && len(pkt) >= 20 && pkt[0]>>4 == 4:
				ipv4++
			case proto == ProtoIPv6 && len(pkt) >= 40 && pkt[0]>>4 == 6:
			default:
				t.Fatalf("MPPE frame %d decrypts to protocol %#x, % x", i, proto, pkt[:min(len(pkt), 8)])
			}
		}
		if ipv4 != 3 {
			t.Fatalf("%d IPv4 packets (the 3 ICMP echo replies) among %d MPPE frames", ipv4, len(mppeFrames))
		}
	})
}

func firstReply(frames [][]byte, proto uint16) Packet {
	for _, f := range frames {
		pr, info, _ := ParseFrame(f)
		if pr == proto && len(info) >= 4 && info[0] >= CodeConfigureAck && info[0] <= CodeConfigureReject {
			return Packet(info)
		}
	}
	return nil
}

func findIn(frames [][]byte, proto uint16, code uint8) Packet {
	for _, f := range frames {
		pr, info, _ := ParseFrame(f)
		if pr == proto && len(info) >= 4 && info[0] == code {
			return Packet(info)
		}
	}
	return nil
}

// sameOptionsButMagic compares two LCP option lists ignoring the Magic-Number value.
func sameOptionsButMagic(a, b []byte) bool {
	mask := func(opts []byte) []byte {
		out := slices.Clone(opts)
		for o, err := range Options(out) {
			if err != nil {
				return nil
			}
			if o.Type() == LCPOptMagic {
				clear(o.Data())
			}
		}
		return out
	}
	return a != nil && bytes.Equal(mask(a), mask(b))
}

// TestCaptureReplayWrongPassword replays pptpd's answer to a wrong MS-CHAPv2 password: our
// Response must equal pppd's, and Run must end with an error that carries the server's
// *mschap.Failure (E=691), after sending pppd's Terminate-Request text.
func TestCaptureReplayWrongPassword(t *testing.T) {
	pkts, err := capture.Open(captureDir + "mschapv2-wrong-password.pcap")
	if err != nil {
		t.Skipf("capture not available: %v", err)
	}
	srv := capture.GREPayloads(pkts, capServer)
	var pppdResp Packet
	for _, f := range capture.GREPayloads(pkts, capClient) {
		if proto, info, _ := ParseFrame(f); proto == ProtoCHAP && info[0] == 2 {
			pppdResp = Packet(info)
		}
	}
	if pppdResp == nil {
		t.Fatal("no CHAP Response in the capture")
	}
	synctest.Test(t, func(t *testing.T) {
		x := newSide(Config{User: "test", Password: "wrong", MRU: 1500,
			MPPE: MPPEPolicy{Require: true, Allow128: true, Stateless: true}})
		x.e.authRand = bytes.NewReader(pppdResp[5 : 5+16])
		go func() { x.err = x.e.Run(context.Background()); close(x.done) }()
		synctest.Wait()
		for _, f := range srv {
			proto, info, _ := ParseFrame(f)
			p := Packet(slices.Clone(info))
			switch {
			case proto == ProtoLCP && p.Code() == CodeConfigureAck:
				req := x.out.find(ProtoLCP, CodeConfigureRequest)[0]
				x.e.Input(appendFrame(nil, proto, appendPacket(nil, CodeConfigureAck, req.ID(), req.Data())))
			case proto == ProtoLCP && p.Code() == CodeTerminateAck:
				tr := x.out.find(ProtoLCP, CodeTerminateRequest)
				if len(tr) == 0 {
					t.Fatal("no Terminate-Request from us after the Failure")
				}
				x.e.Input(appendFrame(nil, proto, appendPacket(nil, CodeTerminateAck, tr[0].ID(), nil)))
			default:
				x.e.Input(slices.Clone(f))
			}
			synctest.Wait()
		}
		<-x.done
		if resp := x.out.find(ProtoCHAP, 2); len(resp) != 1 || !bytes.Equal(resp[0], pppdResp) {
			t.Errorf("our Response %x, pppd's %x", resp, []byte(pppdResp))
		}
		var f *mschap.Failure
		if !errors.As(x.err, &f) || f.Code != 691 || !f.Retry {
			t.Fatalf("Run: %v", x.err)
		}
		if tr := x.out.find(ProtoLCP, CodeTerminateRequest); len(tr) == 0 || string(tr[0].Data()) != "Failed to authenticate ourselves to peer" {
			t.Fatalf("Terminate-Request %q", tr)
		}
		if len(x.upCh) != 0 {
			t.Fatal("Up was called")
		}
		t.Logf("error: %v", x.err)
	})
}
