// SPDX-License-Identifier: MIT

package ppp

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/pptp-go/pptp/ppp/auth"
)

// stubParent is a codec's parent without an Engine: it records what the codec hands up.
type stubParent struct {
	events  []string // "up 0xc021", "fail <reason>: <err>", "echoReply 7", …
	sent    [][]byte // control packets, as proto(2) + packet
	errs    []error
	nextRnd uint32
}

func (p *stubParent) note(format string, args ...any) {
	p.events = append(p.events, fmt.Sprintf(format, args...))
}

func (p *stubParent) layerUp(proto uint16)       { p.note("up %#x", proto) }
func (p *stubParent) layerDown(proto uint16)     { p.note("down %#x", proto) }
func (p *stubParent) layerFinished(proto uint16) { p.note("finished %#x", proto) }
func (p *stubParent) fail(err error, reason string) {
	p.errs = append(p.errs, err)
	p.note("fail %q", reason)
}
func (p *stubParent) sendPacket(proto uint16, code, id uint8, data []byte) {
	p.sent = append(p.sent, appendPacket([]byte{uint8(proto >> 8), uint8(proto)}, code, id, data))
}
func (p *stubParent) debugf(string, ...any)         {}
func (p *stubParent) logf(f string, a ...any)       { p.note(f, a...) }
func (p *stubParent) randUint32() uint32            { p.nextRnd++; return 0xCAFE0000 + p.nextRnd }
func (p *stubParent) echoReply(id uint8)            { p.note("echoReply %d", id) }
func (p *stubParent) protocolRejected(proto uint16) { p.note("protocolRejected %#x", proto) }
func (p *stubParent) txReset()                      { p.note("txReset") }
func (p *stubParent) resetAck(id uint8)             { p.note("resetAck %d", id) }
func (p *stubParent) mppeFailed(err error)          { p.errs = append(p.errs, err); p.note("mppeFailed") }
func (p *stubParent) lastErr() string {
	if len(p.errs) == 0 {
		return ""
	}
	return p.errs[len(p.errs)-1].Error()
}

var (
	_ lcpParent = (*stubParent)(nil)
	_ ccpParent = (*stubParent)(nil)
)

func ipOpt(typ uint8, a string) []byte { return appendAddrOpt(nil, typ, netip.MustParseAddr(a)) }

// TestIPCPCodecAlone drives both IPCP codecs with stub parents: the server Naks the
// client's 0.0.0.0 with the address it assigns, the client takes it into its next request,
// and the layer signals reach the parent under IPCP's protocol number.
func TestIPCPCodecAlone(t *testing.T) {
	scfg := Config{Server: true, LocalIP: netip.MustParseAddr("10.0.0.1"), PeerIP: netip.MustParseAddr("10.0.0.2"),
		DNS: []netip.Addr{netip.MustParseAddr("10.0.0.53")}}
	sp := &stubParent{}
	srv := newIPCP(&scfg, sp)
	srv.resetci()
	if got, want := srv.addci(nil), ipOpt(ipcpAddress, "10.0.0.1"); !bytes.Equal(got, want) {
		t.Fatalf("server request % x, want % x", got, want)
	}

	ccfg := Config{UsePeerDNS: true}
	cp := &stubParent{}
	cli := newIPCP(&ccfg, cp)
	cli.resetci()
	req := cli.addci(nil)
	wantReq := slices.Concat(ipOpt(ipcpAddress, "0.0.0.0"), ipOpt(ipcpDNS1, "0.0.0.0"), ipOpt(ipcpDNS2, "0.0.0.0"))
	if !bytes.Equal(req, wantReq) {
		t.Fatalf("client request % x, want % x", req, wantReq)
	}

	// The server has one DNS server: DNS2 is rejected, and a Reject beats the Naks.
	code, reply := reqci(srv, req, false)
	if code != CodeConfigureReject || !bytes.Equal(reply, ipOpt(ipcpDNS2, "0.0.0.0")) {
		t.Fatalf("server's reply %s % x", codeNames[code], reply)
	}
	if !cli.rejci(reply) {
		t.Fatal("client refused the Reject")
	}
	req = cli.addci(nil)
	code, reply = reqci(srv, req, false)
	wantNak := slices.Concat(ipOpt(ipcpAddress, "10.0.0.2"), ipOpt(ipcpDNS1, "10.0.0.53"))
	if code != CodeConfigureNak || !bytes.Equal(reply, wantNak) {
		t.Fatalf("server's reply %s % x, want ConfNak % x", codeNames[code], reply, wantNak)
	}
	// After Max-Failure the same request is rejected, option by option as received.
	if code, reply := reqci(srv, req, true); code != CodeConfigureReject || !bytes.Equal(reply, req) {
		t.Fatalf("server's reply after Max-Failure %s % x", codeNames[code], reply)
	}
	if !cli.nakci(reply, false) {
		t.Fatal("client refused the Nak")
	}
	req = cli.addci(nil)
	if !bytes.Equal(req, wantNak) {
		t.Fatalf("client's request after the Nak % x, want % x", req, wantNak)
	}
	if code, reply := reqci(srv, req, false); code != CodeConfigureAck || !bytes.Equal(reply, req) {
		t.Fatalf("server's reply %s % x, want the request acked", codeNames[code], reply)
	}
	if srv.peerAddr != netip.MustParseAddr("10.0.0.2") {
		t.Fatalf("server's peer address %v", srv.peerAddr)
	}
	cli.up()
	cli.down()
	cli.finished()
	if want := []string{"up 0x8021", "down 0x8021", "finished 0x8021"}; !slices.Equal(cp.events, want) {
		t.Fatalf("client signals %q, want %q", cp.events, want)
	}
	if len(sp.events) != 0 || len(sp.sent) != 0 || len(cp.sent) != 0 {
		t.Fatalf("unexpected parent traffic: %q %x %x", sp.events, sp.sent, cp.sent)
	}
}

// TestCCPCodecAlone checks the MPPE bit choice against a stub parent for several policies,
// the softer MPPE failure, and the Reset exchange, which counts only while CCP is Opened.
func TestCCPCodecAlone(t *testing.T) {
	const H, S, M, L, C = 0x01000000, 0x40, 0x80, 0x20, 0x01
	mp := func(b uint32) []byte { return []byte{ccpMPPE, 6, byte(b >> 24), byte(b >> 16), byte(b >> 8), byte(b)} }
	for _, tc := range []struct {
		name   string
		policy MPPEPolicy
		ours   []byte // our Configure-Request
		offer  uint32
		code   uint8
		reply  []byte
	}{
		{"128 only, offer both: Nak 128", MPPEPolicy{Allow128: true, Stateless: true}, mp(H | S), H | S | L, CodeConfigureNak, mp(H | S)},
		{"40 only, offer 128: Nak 40", MPPEPolicy{Allow40: true, Stateless: true}, mp(H | L), H | S, CodeConfigureNak, mp(H | L)},
		{"40 only, offer 40: Ack", MPPEPolicy{Allow40: true, Stateless: true}, mp(H | L), H | L, CodeConfigureAck, mp(H | L)},
		{"both, offer 56: Nak 40", MPPEPolicy{Allow40: true, Allow128: true, Stateless: true}, mp(H | S | L), H | M, CodeConfigureNak, mp(H | L)},
		{"both, offer none: Nak 128", MPPEPolicy{Allow40: true, Allow128: true, Stateless: true}, mp(H | S | L), H, CodeConfigureNak, mp(H | S)},
		{"stateful allowed too, offer stateful: Ack", MPPEPolicy{Allow128: true, Stateless: true, Stateful: true}, mp(H | S), S, CodeConfigureAck, mp(S)},
		{"stateful only, offer stateless: Nak stateful", MPPEPolicy{Allow128: true, Stateful: true}, mp(S), H | S, CodeConfigureNak, mp(S)},
		{"MPPC alone: Reject", MPPEPolicy{Allow128: true, Stateless: true}, mp(H | S), C, CodeConfigureReject, mp(C)},
		{"no strength allowed: Reject, no request", MPPEPolicy{Stateless: true}, nil, H | S, CodeConfigureReject, mp(H | S)},
	} {
		cfg := Config{MPPE: tc.policy}
		p := &stubParent{}
		c := newCCP(&cfg, p)
		c.resetci()
		if got := c.addci(nil); !bytes.Equal(got, tc.ours) {
			t.Errorf("%s: our request % x, want % x", tc.name, got, tc.ours)
		}
		if code, reply := reqci(c, mp(tc.offer), false); code != tc.code || !bytes.Equal(reply, tc.reply) {
			t.Errorf("%s: %s % x, want %s % x", tc.name, codeNames[code], reply, codeNames[tc.code], tc.reply)
		}
		// A Nak turns into a Reject after Max-Failure; an Ack stays an Ack.
		wantCode, wantReply := tc.code, tc.reply
		if tc.code == CodeConfigureNak {
			wantCode, wantReply = CodeConfigureReject, mp(tc.offer)
		}
		if code, reply := reqci(c, mp(tc.offer), true); code != wantCode || !bytes.Equal(reply, wantReply) {
			t.Errorf("%s after Max-Failure: %s % x, want %s % x", tc.name, codeNames[code], reply, codeNames[wantCode], wantReply)
		}
	}

	// The client Naks us something our policy does not allow: MPPE fails softly with both
	// sides' positions, and the option leaves our request.
	cfg := Config{Server: true, MPPE: MPPEPolicy{Allow128: true, Stateless: true}}
	p := &stubParent{}
	c := newCCP(&cfg, p)
	c.resetci()
	if !c.nakci(mp(H|L), false) || len(c.addci(nil)) != 0 {
		t.Fatalf("after a Nak to 40-bit: request % x", c.addci(nil))
	}
	if want := "we allow MPPE-128 stateless, client offered MPPE-40 stateless"; !strings.Contains(p.lastErr(), want) || !slices.Equal(p.events, []string{"mppeFailed"}) {
		t.Fatalf("events %q, error %q", p.events, p.lastErr())
	}
	c.resetci()
	p.events = nil
	if !c.rejci(mp(H|S)) || !strings.Contains(p.lastErr(), "client refused MPPE") || !slices.Equal(p.events, []string{"mppeFailed"}) {
		t.Fatalf("after a Reject: events %q, error %q", p.events, p.lastErr())
	}

	// Reset-Request: ignored before tlu, reset and acked once Opened.
	p.events, p.sent = nil, nil
	if !c.extcode(CodeResetRequest, 7, nil) || len(p.events) != 0 || len(p.sent) != 0 {
		t.Fatalf("Reset-Request before Opened: %q %x", p.events, p.sent)
	}
	c.up()
	c.extcode(CodeResetRequest, 7, nil)
	c.extcode(CodeResetAck, 9, nil)
	if want := []string{"up 0x80fd", "txReset", "resetAck 9"}; !slices.Equal(p.events, want) {
		t.Fatalf("events %q, want %q", p.events, want)
	}
	if want := [][]byte{{0x80, 0xFD, CodeResetAck, 7, 0, 4}}; !slices.EqualFunc(p.sent, want, bytes.Equal) {
		t.Fatalf("sent % x, want % x", p.sent, want)
	}
	c.down()
	p.sent = nil
	c.extcode(CodeResetRequest, 8, nil)
	if len(p.sent) != 0 {
		t.Fatalf("Reset-Ack after tld: % x", p.sent)
	}
	if c.extcode(CodeEchoRequest, 1, nil) {
		t.Fatal("CCP claims Echo-Request")
	}
}

// TestLCPCodecAlone covers LCP's Naks, its failures and its echo and Protocol-Reject
// hand-offs with a stub parent.
func TestLCPCodecAlone(t *testing.T) {
	cfg := Config{MRU: 1400, Refuse: auth.MethodSet(0).Add(auth.MSCHAPv2).Add(auth.PAP)}
	p := &stubParent{}
	l := newLCP(&cfg, p)
	l.resetci()
	if l.got.magic != 0xCAFE0001 {
		t.Fatalf("magic %#x, want the parent's first random number", l.got.magic)
	}
	wantReq := []byte{LCPOptMRU, 4, 0x05, 0x78, LCPOptACCM, 6, 0, 0, 0, 0, LCPOptMagic, 6, 0xCA, 0xFE, 0, 1, LCPOptPFC, 2, LCPOptACFC, 2}
	if got := l.addci(nil); !bytes.Equal(got, wantReq) {
		t.Fatalf("our request % x, want % x", got, wantReq)
	}
	// Tiny MRU, refused MS-CHAPv2, our own magic: three Naks in request order, the magic
	// with the parent's next random number; the values we can accept are not in the list.
	req := []byte{LCPOptACCM, 6, 0, 0, 0, 0, LCPOptMRU, 4, 0, 64, LCPOptAuthProtocol, 5, 0xC2, 0x23, 0x81, LCPOptMagic, 6, 0xCA, 0xFE, 0, 1, LCPOptPFC, 2}
	wantNak := []byte{LCPOptMRU, 4, 0, 128, LCPOptAuthProtocol, 5, 0xC2, 0x23, 0x80, LCPOptMagic, 6, 0xCA, 0xFE, 0, 2}
	if code, reply := reqci(l, req, false); code != CodeConfigureNak || !bytes.Equal(reply, wantNak) {
		t.Fatalf("%s % x, want ConfNak % x", codeNames[code], reply, wantNak)
	}
	// Max-Failure: the same options are rejected as they came.
	wantRej := []byte{LCPOptMRU, 4, 0, 64, LCPOptAuthProtocol, 5, 0xC2, 0x23, 0x81, LCPOptMagic, 6, 0xCA, 0xFE, 0, 1}
	if code, reply := reqci(l, req, true); code != CodeConfigureReject || !bytes.Equal(reply, wantRej) {
		t.Fatalf("after Max-Failure %s % x, want ConfRej % x", codeNames[code], reply, wantRej)
	}
	// An acceptable request is acked as it came and recorded.
	ok := []byte{LCPOptMRU, 4, 0x05, 0xDC, LCPOptAuthProtocol, 5, 0xC2, 0x23, 0x05, LCPOptMagic, 6, 1, 2, 3, 4, LCPOptACFC, 2}
	if code, reply := reqci(l, ok, false); code != CodeConfigureAck || !bytes.Equal(reply, ok) {
		t.Fatalf("%s % x, want the request acked", codeNames[code], reply)
	}
	if l.his.mru != 1500 || l.his.authMethod != auth.CHAPMD5 || l.his.magic != 0x01020304 || !l.his.neg.acfc || l.his.neg.pfc {
		t.Fatalf("recorded %+v", l.his)
	}
	if len(p.events) != 0 || len(p.errs) != 0 {
		t.Fatalf("parent saw %q", p.events)
	}

	// Our magic Nak'd back maxLoops times since we started afresh: the line is looped back.
	l.resetci()
	for range maxLoops {
		l.nakci([]byte{LCPOptMagic, 6, 0, 0, 0, 9}, false)
	}
	if !slices.Equal(p.events, []string{`fail ""`}) || !strings.Contains(p.lastErr(), "looped back") {
		t.Fatalf("after %d magic Naks: %q %v", maxLoops, p.events, p.errs)
	}

	// Echo-Request: answered with our magic, the peer's extra data kept.
	p.events = nil
	l.resetci()
	l.rxr(CodeEchoRequest, 5, []byte{9, 9, 9, 9, 'h', 'i'})
	m := l.got.magic
	want := []byte{0xC0, 0x21, CodeEchoReply, 5, 0, 10, byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m), 'h', 'i'}
	if len(p.sent) != 1 || !bytes.Equal(p.sent[0], want) {
		t.Fatalf("Echo-Reply % x, want % x", p.sent, want)
	}
	l.rxr(CodeEchoReply, 3, []byte{1, 2, 3, 4})
	if id := l.echo(); id != 0 || len(p.sent) != 2 || !bytes.Equal(p.sent[1][2:], []byte{CodeEchoRequest, 0, 0, 8, byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}) {
		t.Fatalf("Echo-Request id %d: % x", id, p.sent)
	}
	// Protocol-Reject is handed up only while LCP is Opened.
	l.extcode(CodeProtocolReject, 1, []byte{0x80, 0xFD, 1, 1, 0, 4})
	l.up()
	l.extcode(CodeProtocolReject, 2, []byte{0x80, 0xFD, 1, 1, 0, 4})
	l.extcode(CodeProtocolReject, 3, []byte{0x80}) // too short
	l.down()
	l.extcode(CodeProtocolReject, 4, []byte{0x80, 0x21})
	if want := []string{"echoReply 3", "up 0xc021", "protocolRejected 0x80fd", "down 0xc021"}; !slices.Equal(p.events, want) {
		t.Fatalf("events %q, want %q", p.events, want)
	}
}

// TestLCPServerAuthNakAlone: a server that runs out of methods the client accepts fails
// the link with the Terminate text pppd uses, through the parent alone.
func TestLCPServerAuthNakAlone(t *testing.T) {
	cfg := Config{Server: true, MRU: 1400, Require: auth.MethodSet(0).Add(auth.MSCHAPv2).Add(auth.MSCHAPv1)}
	p := &stubParent{}
	l := newLCP(&cfg, p)
	l.resetci()
	if got := l.addci(nil); !bytes.Contains(got, []byte{LCPOptAuthProtocol, 5, 0xC2, 0x23, 0x81}) {
		t.Fatalf("server request % x lacks MS-CHAPv2", got)
	}
	// The client suggests PAP, not allowed: the next method is MS-CHAPv1.
	l.nakci([]byte{LCPOptAuthProtocol, 4, 0xC0, 0x23}, false)
	if got := l.addci(nil); !bytes.Contains(got, []byte{LCPOptAuthProtocol, 5, 0xC2, 0x23, 0x80}) || len(p.events) != 0 {
		t.Fatalf("after PAP was suggested: % x, events %q", got, p.events)
	}
	l.nakci([]byte{LCPOptAuthProtocol, 4, 0xC0, 0x23}, false)
	if !slices.Equal(p.events, []string{`fail "Authentication negotiation failed"`}) || !strings.Contains(p.lastErr(), "client refused") {
		t.Fatalf("events %q, errors %v", p.events, p.errs)
	}
	// The client rejecting authentication outright fails the same way.
	p.events = nil
	l.resetci()
	l.rejci([]byte{LCPOptAuthProtocol, 5, 0xC2, 0x23, 0x81})
	if !slices.Equal(p.events, []string{`fail "Authentication negotiation failed"`}) || !strings.Contains(p.lastErr(), "client rejected authentication") {
		t.Fatalf("events %q, errors %v", p.events, p.errs)
	}
	// A server never lets itself be authenticated.
	if code, reply := reqci(l, []byte{LCPOptAuthProtocol, 4, 0xC0, 0x23}, false); code != CodeConfigureReject || !bytes.Equal(reply, []byte{LCPOptAuthProtocol, 4, 0xC0, 0x23}) {
		t.Fatalf("%s % x", codeNames[code], reply)
	}
}

// TestConfReply checks the accumulator itself: order kept, Reject over Nak over Ack,
// malformed rests and unjudged options rejected.
func TestConfReply(t *testing.T) {
	var r confReply
	run := func(req []byte, rejectNaks bool, judge func(o Option)) (uint8, []byte) {
		r.begin(req, rejectNaks)
		for o := range r.Options() {
			judge(o)
		}
		return r.code(), r.data()
	}
	byType := func(o Option) {
		switch o.Type() {
		case 1:
			r.Ack(o)
		case 2:
			r.Nak(o, []byte{0xAA})
		case 3:
			r.Reject(o)
		}
		// type 4: no verdict
	}
	for _, tc := range []struct {
		name       string
		req        []byte
		rejectNaks bool
		code       uint8
		reply      []byte
	}{
		{"all acked: the request echoed", []byte{1, 3, 7, 1, 2}, false, CodeConfigureAck, []byte{1, 3, 7, 1, 2}},
		{"empty request acked", nil, false, CodeConfigureAck, nil},
		{"naks in order", []byte{2, 2, 1, 2, 2, 3, 9}, false, CodeConfigureNak, []byte{2, 3, 0xAA, 2, 3, 0xAA}},
		{"reject wins", []byte{2, 2, 3, 3, 5, 1, 2}, false, CodeConfigureReject, []byte{3, 3, 5}},
		{"naks become rejects", []byte{1, 2, 2, 3, 9}, true, CodeConfigureReject, []byte{2, 3, 9}},
		{"unjudged rejected", []byte{1, 2, 4, 2}, false, CodeConfigureReject, []byte{4, 2}},
		{"malformed rest rejected whole", []byte{2, 2, 1, 1, 1, 2}, false, CodeConfigureReject, []byte{1, 1, 1, 2}},
	} {
		if code, reply := run(tc.req, tc.rejectNaks, byType); code != tc.code || !bytes.Equal(reply, tc.reply) {
			t.Errorf("%s: %s % x, want %s % x", tc.name, codeNames[code], reply, codeNames[tc.code], tc.reply)
		}
	}
}
