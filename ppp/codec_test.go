// SPDX-License-Identifier: MIT

package ppp

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/pptp-go/pptp/ppp/auth"
)

type reqciCase struct {
	name  string
	in    []byte
	code  uint8
	reply []byte
}

// reqci runs cb's judgement of a request's options as the automaton does and returns
// the reply it would send.
func reqci(cb codec, in []byte, rejectNaks bool) (uint8, []byte) {
	var r confReply
	r.begin(in, rejectNaks)
	cb.reqci(&r)
	return r.code(), r.data()
}

func runReqci(t *testing.T, judge func(in []byte) (uint8, []byte), cases []reqciCase) {
	t.Helper()
	for _, tc := range cases {
		code, reply := judge(tc.in)
		if code != tc.code || !bytes.Equal(reply, tc.reply) {
			t.Errorf("%s: got %s % x, want %s % x", tc.name, codeNames[code], reply, codeNames[tc.code], tc.reply)
		}
	}
}

func TestLCPReqci(t *testing.T) {
	e := NewEngine(clientConfig(), &recLower{})
	l := e.lcpc
	l.resetci()
	l.got.magic = 0x11223344
	mschapv2 := []byte{LCPOptAuthProtocol, 5, 0xC2, 0x23, 0x81}
	runReqci(t, func(in []byte) (uint8, []byte) { return reqci(l, in, false) }, []reqciCase{
		{"pppd server request", append([]byte{LCPOptACCM, 6, 0, 0, 0, 0}, append(mschapv2, LCPOptMagic, 6, 0xbd, 0xb7, 0x7c, 0x7d, LCPOptPFC, 2, LCPOptACFC, 2)...), CodeConfigureAck,
			append([]byte{LCPOptACCM, 6, 0, 0, 0, 0}, append(mschapv2, LCPOptMagic, 6, 0xbd, 0xb7, 0x7c, 0x7d, LCPOptPFC, 2, LCPOptACFC, 2)...)},
		{"callback and MRRU rejected, only they", []byte{LCPOptMRU, 4, 5, 0xDC, LCPOptCallback, 3, 6, LCPOptMRRU, 4, 5, 0xDC}, CodeConfigureReject,
			[]byte{LCPOptCallback, 3, 6, LCPOptMRRU, 4, 5, 0xDC}},
		{"tiny MRU Nak'd up to 128", []byte{LCPOptMRU, 4, 0, 10}, CodeConfigureNak, []byte{LCPOptMRU, 4, 0, 128}},
		{"EAP Nak'd with MS-CHAPv2", []byte{LCPOptAuthProtocol, 4, 0xC2, 0x27}, CodeConfigureNak, mschapv2},
		{"SHA1-CHAP Nak'd", []byte{LCPOptAuthProtocol, 5, 0xC2, 0x23, 0x06}, CodeConfigureNak, mschapv2},
		{"reject beats nak", []byte{LCPOptMRU, 4, 0, 10, LCPOptQuality, 4, 0xC0, 0x25}, CodeConfigureReject, []byte{LCPOptQuality, 4, 0xC0, 0x25}},
		{"option length 1: rest rejected", []byte{LCPOptPFC, 2, LCPOptMRU, 1, 9, 9}, CodeConfigureReject, []byte{LCPOptMRU, 1, 9, 9}},
		{"ACCM wrong length", []byte{LCPOptACCM, 4, 0, 0}, CodeConfigureReject, []byte{LCPOptACCM, 4, 0, 0}},
		{"PFC with data", []byte{LCPOptPFC, 3, 0}, CodeConfigureReject, []byte{LCPOptPFC, 3, 0}},
	})
	// Our own magic number coming back is Nak'd with a fresh one.
	code, reply := reqci(l, []byte{LCPOptMagic, 6, 0x11, 0x22, 0x33, 0x44}, false)
	if code != CodeConfigureNak || len(reply) != 6 || reply[0] != LCPOptMagic || bytes.Equal(reply[2:], []byte{0x11, 0x22, 0x33, 0x44}) {
		t.Errorf("looped-back magic: %s % x", codeNames[code], reply)
	}
	// After Max-Failure a Nak turns into a Reject.
	if code, reply := reqci(l, []byte{LCPOptMRU, 4, 0, 10}, true); code != CodeConfigureReject || !bytes.Equal(reply, []byte{LCPOptMRU, 4, 0, 10}) {
		t.Errorf("rejectIfDisagree: %s % x", codeNames[code], reply)
	}
	// A client refusing MS-CHAPv2 suggests v1; refusing everything rejects the option.
	e.cfg.Refuse = auth.MethodSet(0).Add(auth.MSCHAPv2)
	if code, reply := reqci(l, mschapv2, false); code != CodeConfigureNak || !bytes.Equal(reply, []byte{LCPOptAuthProtocol, 5, 0xC2, 0x23, 0x80}) {
		t.Errorf("refuse v2: %s % x", codeNames[code], reply)
	}
	e.cfg.Refuse = auth.AllMethods
	if code, reply := reqci(l, []byte{LCPOptAuthProtocol, 4, 0xC0, 0x23}, false); code != CodeConfigureReject || !bytes.Equal(reply, []byte{LCPOptAuthProtocol, 4, 0xC0, 0x23}) {
		t.Errorf("refuse all: %s % x", codeNames[code], reply)
	}
}

func TestLCPServerAuthNak(t *testing.T) {
	cfg := serverConfig()
	cfg.Require = auth.AllMethods.Remove(auth.CHAPMD5)
	e := NewEngine(cfg, &recLower{})
	l := e.lcpc
	l.resetci()
	if l.got.authMethod != auth.MSCHAPv2 {
		t.Fatalf("server asks %v first", l.got.authMethod)
	}
	// The client suggests PAP, which we allow: take it.
	l.nakci([]byte{LCPOptAuthProtocol, 4, 0xC0, 0x23}, false)
	if l.got.authMethod != auth.PAP {
		t.Fatalf("after a Nak suggesting PAP: %v", l.got.authMethod)
	}
	// The client suggests CHAP-MD5, which we do not allow: next preferred untried (v2 was
	// tried and refused, PAP too) is MS-CHAPv1.
	l.nakci([]byte{LCPOptAuthProtocol, 5, 0xC2, 0x23, 0x05}, false)
	if l.got.authMethod != auth.MSCHAPv1 {
		t.Fatalf("after a Nak suggesting CHAP-MD5: %v", l.got.authMethod)
	}
	l.nakci([]byte{LCPOptAuthProtocol, 5, 0xC2, 0x23, 0x05}, false)
	if e.err == nil || e.pending == "" {
		t.Fatalf("no failure after every method was refused: %v", e.err)
	}
}

func TestIPCPReqci(t *testing.T) {
	e := NewEngine(serverConfig(), &recLower{})
	c := e.ipcpc
	c.resetci()
	ip := func(typ uint8, a string) []byte { return appendAddrOpt(nil, typ, netip.MustParseAddr(a)) }
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	runReqci(t, func(in []byte) (uint8, []byte) { return reqci(c, in, false) }, []reqciCase{
		{"pppd client first request", cat([]byte{ipcpCompress, 6, 0, 0x2d, 0x0f, 0x01}, ip(ipcpAddress, "0.0.0.0"), ip(ipcpDNS1, "0.0.0.0"), ip(ipcpDNS2, "0.0.0.0")),
			CodeConfigureReject, cat([]byte{ipcpCompress, 6, 0, 0x2d, 0x0f, 0x01}, ip(ipcpDNS2, "0.0.0.0"))},
		{"address and DNS Nak'd", cat(ip(ipcpAddress, "0.0.0.0"), ip(ipcpDNS1, "0.0.0.0")), CodeConfigureNak,
			cat(ip(ipcpAddress, "10.99.0.100"), ip(ipcpDNS1, "10.99.0.53"))},
		{"wrong address Nak'd", ip(ipcpAddress, "192.168.1.9"), CodeConfigureNak, ip(ipcpAddress, "10.99.0.100")},
		{"right values Ack'd", cat(ip(ipcpAddress, "10.99.0.100"), ip(ipcpDNS1, "10.99.0.53")), CodeConfigureAck,
			cat(ip(ipcpAddress, "10.99.0.100"), ip(ipcpDNS1, "10.99.0.53"))},
		{"NBNS rejected", cat(ip(ipcpNBNS1, "0.0.0.0"), ip(ipcpNBNS2, "0.0.0.0")), CodeConfigureReject, cat(ip(ipcpNBNS1, "0.0.0.0"), ip(ipcpNBNS2, "0.0.0.0"))},
		{"short address rejected", []byte{ipcpAddress, 4, 10, 0}, CodeConfigureReject, []byte{ipcpAddress, 4, 10, 0}},
	})
	ce := NewEngine(clientConfig(), &recLower{})
	cc := ce.ipcpc
	cc.resetci()
	runReqci(t, func(in []byte) (uint8, []byte) { return reqci(cc, in, false) }, []reqciCase{
		{"server's own address Ack'd", ip(ipcpAddress, "10.99.0.1"), CodeConfigureAck, ip(ipcpAddress, "10.99.0.1")},
		{"server asking us for DNS rejected", ip(ipcpDNS1, "0.0.0.0"), CodeConfigureReject, ip(ipcpDNS1, "0.0.0.0")},
		{"server without an address rejected", ip(ipcpAddress, "0.0.0.0"), CodeConfigureReject, ip(ipcpAddress, "0.0.0.0")},
	})
	// The client takes Nak'd values and stops asking for rejected DNS.
	cc.nakci(cat(ip(ipcpAddress, "10.99.0.100"), ip(ipcpDNS1, "10.99.0.1")), false)
	cc.rejci(ip(ipcpDNS2, "0.0.0.0"))
	if got := cc.addci(nil); !bytes.Equal(got, cat(ip(ipcpAddress, "10.99.0.100"), ip(ipcpDNS1, "10.99.0.1"))) {
		t.Fatalf("next request % x", got)
	}
}

func TestCCPReqci(t *testing.T) {
	mp := func(b uint32) []byte { return []byte{ccpMPPE, 6, byte(b >> 24), byte(b >> 16), byte(b >> 8), byte(b)} }
	const H, S, L, C = 0x01000000, 0x40, 0x20, 0x01
	e := NewEngine(serverConfig(), &recLower{}) // allows 40 and 128, stateless
	c := e.ccpc
	c.resetci()
	if got := c.addci(nil); !bytes.Equal(got, mp(H|S|L)) {
		t.Fatalf("our request % x", got)
	}
	runReqci(t, func(in []byte) (uint8, []byte) { c.resetci(); return reqci(c, in, false) }, []reqciCase{
		{"128 stateless Ack'd", mp(H | S), CodeConfigureAck, mp(H | S)},
		{"40 stateless Ack'd", mp(H | L), CodeConfigureAck, mp(H | L)},
		{"both strengths: Nak strongest", mp(H | S | L), CodeConfigureNak, mp(H | S)},
		{"stateful not allowed: Nak stateless", mp(S), CodeConfigureNak, mp(H | S)},
		{"no strength: Nak ours", mp(H), CodeConfigureNak, mp(H | S)},
		{"MPPC alone rejected", mp(C), CodeConfigureReject, mp(C)},
		{"Deflate and BSD rejected", []byte{26, 4, 0x78, 0, 21, 3, 0x2f}, CodeConfigureReject, []byte{26, 4, 0x78, 0, 21, 3, 0x2f}},
		{"short MPPE rejected", []byte{ccpMPPE, 4, 1, 0}, CodeConfigureReject, []byte{ccpMPPE, 4, 1, 0}},
	})
	// Stateful-only policy asks for stateful alone and Naks stateless.
	e.cfg.MPPE = MPPEPolicy{Allow128: true, Stateful: true}
	c.resetci()
	if got := c.addci(nil); !bytes.Equal(got, mp(S)) {
		t.Fatalf("stateful-only request % x", got)
	}
	if code, reply := reqci(c, mp(H|S), false); code != CodeConfigureNak || !bytes.Equal(reply, mp(S)) {
		t.Fatalf("stateless request to a stateful-only peer: %s % x", codeNames[code], reply)
	}
	// Once we acked the peer's 40-bit choice our next request follows it; once the peer
	// acked our request, a different choice from the peer is Nak'd back to it.
	e.cfg.MPPE = MPPEPolicy{Allow40: true, Allow128: true, Stateless: true}
	c.resetci()
	if code, _ := reqci(c, mp(H|L), false); code != CodeConfigureAck || !bytes.Equal(c.addci(nil), mp(H|L)) {
		t.Fatalf("after acking 40: code %d, our request % x", code, c.addci(nil))
	}
	c.ackci(mp(H | L))
	if code, reply := reqci(c, mp(H|S), false); code != CodeConfigureNak || !bytes.Equal(reply, mp(H|L)) {
		t.Fatalf("128 after our 40 was acked: %s % x", codeNames[code], reply)
	}
	if bits, _, _ := c.params(); bits != 0 {
		t.Fatalf("params %d while the peer's request stands Nak'd", bits)
	}
	reqci(c, mp(H|L), false)
	if bits, stateless, err := c.params(); err != nil || bits != 40 || !stateless {
		t.Fatalf("params %d %v %v", bits, stateless, err)
	}
}

// TestReqciAllocs: judging a request allocates nothing once the reply buffers have grown,
// whatever the verdict.
func TestReqciAllocs(t *testing.T) {
	e := NewEngine(clientConfig(), &recLower{})
	e.lcpc.resetci()
	var r confReply
	for _, req := range [][]byte{
		{LCPOptACCM, 6, 0, 0, 0, 0, LCPOptAuthProtocol, 5, 0xC2, 0x23, 0x81, LCPOptMagic, 6, 1, 2, 3, 4, LCPOptPFC, 2, LCPOptACFC, 2},
		{LCPOptMRU, 4, 0, 10, LCPOptAuthProtocol, 4, 0xC2, 0x27},
		{LCPOptMRU, 4, 5, 0xDC, LCPOptCallback, 3, 6, LCPOptPFC, 1},
	} {
		if n := testing.AllocsPerRun(100, func() {
			r.begin(req, false)
			e.lcpc.reqci(&r)
		}); n != 0 {
			t.Errorf("% x: %v allocs", req, n)
		}
	}
}
