// SPDX-License-Identifier: MIT

package ppp

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// queueLower collects frames for a synchronous, goroutine-free pair of engines.
type queueLower struct{ q [][]byte }

func (l *queueLower) SendFrame(b []byte) error {
	l.q = append(l.q, slices.Clone(b))
	return nil
}

// syncPair is a client and a server engine driven step by step from the test goroutine,
// without Run: deterministic, so the fuzzer can reach every phase reproducibly.
type syncPair struct {
	c, s       *Engine
	toS, toC   *queueLower
	magicState uint32
}

func newSyncPair() *syncPair { return newSyncPairLog(nil) }

// newSyncPairLog is newSyncPair with debug logging to logf when it is set: every packet
// then goes through the describers.
func newSyncPairLog(logf func(string, ...any)) *syncPair {
	p := &syncPair{toS: &queueLower{}, toC: &queueLower{}}
	ccfg, scfg := clientConfig(), serverConfig()
	if logf != nil {
		ccfg.Debug, ccfg.Logf, scfg.Debug, scfg.Logf = true, logf, true, logf
	}
	p.c = NewEngine(ccfg, p.toS)
	p.s = NewEngine(scfg, p.toC)
	for _, e := range []*Engine{p.c, p.s} {
		e.authRand = bytes.NewReader(bytes.Repeat([]byte{0x5A}, 4096))
		e.magic = func() uint32 { p.magicState = p.magicState*1664525 + 1013904223; return p.magicState | 1 }
	}
	p.c.start()
	p.s.start()
	return p
}

// step delivers one queued frame (server-bound first); false when nothing is queued.
func (p *syncPair) step() bool {
	for _, d := range []struct {
		q *queueLower
		e *Engine
	}{{p.toS, p.s}, {p.toC, p.c}} {
		if len(d.q.q) > 0 {
			f := d.q.q[0]
			d.q.q = d.q.q[1:]
			if !d.e.finished {
				d.e.input(f)
				d.e.settle()
			}
			return true
		}
	}
	return false
}

func TestSyncPairComesUp(t *testing.T) {
	p := newSyncPair()
	n := 0
	for p.step() {
		n++
	}
	if !p.c.upCalled || !p.s.upCalled || p.c.phase != phaseNetwork {
		t.Fatalf("after %d steps: client up=%v phase %v, server up=%v", n, p.c.upCalled, p.c.phase, p.s.upCalled)
	}
}

// FuzzEngineInput drives a client/server pair some steps into the negotiation (every phase
// is reachable: Establish, Authenticate, Network, Opened, Terminate), then injects arbitrary
// frames into one engine, fires timers and lets the pair continue. Nothing may panic, and
// a finished engine stays finished.
func FuzzEngineInput(f *testing.F) {
	lcpReq := appendFrame(nil, ProtoLCP, appendPacket(nil, CodeConfigureRequest, 1, []byte{LCPOptMRU, 4, 5, 0xDC, LCPOptMagic, 6, 1, 2, 3, 4}))
	f.Add(uint8(0), false, uint8(0), lcpReq)
	f.Add(uint8(3), true, uint8(0), lcpReq)
	f.Add(uint8(12), false, uint8(1), appendFrame(nil, ProtoCHAP, []byte{1, 1, 0, 21, 16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}))
	f.Add(uint8(20), false, uint8(2), appendFrame(nil, ProtoCCP, appendPacket(nil, CodeConfigureRequest, 9, []byte{ccpMPPE, 6, 1, 0, 0, 0x61})))
	f.Add(uint8(40), true, uint8(3), appendFrame(nil, ProtoIPCP, appendPacket(nil, CodeConfigureNak, 1, []byte{ipcpAddress, 6, 0, 0, 0, 0})))
	f.Add(uint8(60), false, uint8(0), appendFrame(nil, ProtoLCP, appendPacket(nil, CodeTerminateRequest, 1, []byte("bye"))))
	f.Add(uint8(60), false, uint8(0), appendFrame(nil, ProtoLCP, appendPacket(nil, CodeProtocolReject, 1, []byte{0x80, 0xFD})))
	f.Add(uint8(60), true, uint8(0), appendFrame(nil, ProtoCCP, appendPacket(nil, CodeResetRequest, 1, nil)))
	f.Add(uint8(60), false, uint8(0), appendFrame(nil, ProtoIPV6CP, appendPacket(nil, CodeConfigureRequest, 1, nil)))
	f.Add(uint8(5), false, uint8(0), []byte{0xFF, 0x03, 0xC0, 0x21, 1, 1, 0, 8, 3, 1})                 // auth option with length 1
	f.Add(uint8(5), true, uint8(0), []byte{0xFF, 0x03, 0xC0, 0x21, 4, 1, 0, 6, LCPOptAuthProtocol, 9}) // Reject whose option runs past the packet
	f.Add(uint8(60), false, uint8(0), []byte{0xC0, 0x21, 7, 1, 0, 4})                                  // Code-Reject without the rejected code
	f.Add(uint8(60), false, uint8(0), []byte{0xC0, 0x21, 8, 1, 0, 5, 0x80})                            // Protocol-Reject with half a protocol
	f.Add(uint8(30), true, uint8(0), []byte{0x80, 0x21, 1, 1, 0, 10, ipcpAddress, 6, 10, 0, 0})        // Length beyond the frame
	f.Add(uint8(30), false, uint8(4), []byte{0x80, 0xFD, 3, 1, 0, 10, ccpMPPE, 4, 0, 0, 0, 0})         // MPPE option with a short length
	f.Fuzz(func(t *testing.T, steps uint8, toServer bool, timers uint8, data []byte) {
		fuzzEngine(t, nil, steps, toServer, timers, data)
	})
}

// FuzzEngineDebug is FuzzEngineInput with debug logging on: every frame either engine sends
// or receives is rendered by the describers (describePacket and the options' and codes'
// names), whose output must stay printable (no raw peer bytes in the log).
func FuzzEngineDebug(f *testing.F) {
	lcpReq := appendFrame(nil, ProtoLCP, appendPacket(nil, CodeConfigureRequest, 1, []byte{LCPOptMRU, 4, 5, 0xDC, LCPOptMagic, 6, 1, 2, 3, 4}))
	f.Add(uint8(0), false, uint8(0), lcpReq)
	f.Add(uint8(12), false, uint8(1), appendFrame(nil, ProtoCHAP, []byte{1, 1, 0, 21, 16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}))
	f.Add(uint8(20), true, uint8(2), appendFrame(nil, ProtoCCP, appendPacket(nil, CodeConfigureRequest, 9, []byte{ccpMPPE, 6, 1, 0, 0, 0x61})))
	f.Add(uint8(40), true, uint8(3), appendFrame(nil, ProtoIPCP, appendPacket(nil, CodeConfigureNak, 1, []byte{ipcpAddress, 6, 0, 0, 0, 0})))
	f.Add(uint8(60), false, uint8(0), appendFrame(nil, ProtoLCP, appendPacket(nil, CodeTerminateRequest, 1, []byte("bye\x00\xff\n"))))
	f.Add(uint8(8), true, uint8(0), appendFrame(nil, ProtoPAP, []byte{1, 1, 0, 12, 3, 'b', 'o', 'b', 3, 'p', 'w', 'd'}))
	f.Add(uint8(60), false, uint8(0), appendFrame(nil, ProtoLCP, appendPacket(nil, CodeEchoRequest, 1, []byte{1, 2, 3, 4, 0xC0, 0x21})))
	f.Fuzz(func(t *testing.T, steps uint8, toServer bool, timers uint8, data []byte) {
		var lines []string
		logf := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
		fuzzEngine(t, logf, steps, toServer, timers, data)
		for _, l := range lines {
			for _, r := range l {
				if r < 0x20 && r != '\t' || r == 0x7F || r == utf8.RuneError {
					t.Fatalf("unprintable %q in a log line: %q", r, l)
				}
			}
			if strings.Contains(l, testPassword) {
				t.Fatalf("the password in a log line: %q", l)
			}
		}
	})
}

func fuzzEngine(t *testing.T, logf func(string, ...any), steps uint8, toServer bool, timers uint8, data []byte) {
	p := newSyncPairLog(logf)
	for range int(steps) {
		if !p.step() {
			break
		}
	}
	e := p.c
	if toServer {
		e = p.s
	}
	// data may hold several frames separated by 0x7E, like an HDLC stream.
	for _, fr := range bytes.Split(data, []byte{0x7E}) {
		if !e.finished {
			e.input(fr)
			e.settle()
		}
	}
	for i, fire := range []func(){e.lcp.timeout, e.ipcp.timeout, e.ccp.timeout, e.authTimeout, e.echoTimeout} {
		if timers&(1<<i) != 0 && !e.finished {
			fire()
			e.settle()
		}
	}
	wasFinished := [2]bool{p.c.finished, p.s.finished}
	for range 200 {
		if !p.step() {
			break
		}
	}
	if wasFinished[0] && !p.c.finished || wasFinished[1] && !p.s.finished {
		t.Fatal("a finished engine came back")
	}
	for _, x := range []*Engine{p.c, p.s} {
		for _, f := range []*fsm{x.lcp, x.ipcp, x.ccp} {
			if f.state >= numStates || f.restart < 0 {
				t.Fatalf("%s: state %v restart %d", f.name, f.state, f.restart)
			}
		}
	}
}
