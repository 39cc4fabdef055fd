// SPDX-License-Identifier: MIT

package ppp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pptp-go/pptp/mschap"
	"github.com/pptp-go/pptp/ppp/auth"
)

// pipe is one direction of an in-memory link: frames a engine sends go to the peer's Input,
// unless drop says otherwise. It records what passed for assertions.
type pipe struct {
	mu   sync.Mutex
	peer *Engine
	drop func(proto uint16, info []byte) bool
	sent [][]byte
}

func (p *pipe) SendFrame(b []byte) error {
	c := slices.Clone(b)
	proto, info, _ := ParseFrame(c)
	p.mu.Lock()
	p.sent = append(p.sent, c)
	drop := p.drop != nil && p.drop(proto, info)
	peer := p.peer
	p.mu.Unlock()
	if !drop && peer != nil {
		peer.Input(c)
	}
	return nil
}

func (p *pipe) setDrop(f func(uint16, []byte) bool) {
	p.mu.Lock()
	p.drop = f
	p.mu.Unlock()
}

// find returns the sent control packets of proto with code.
func (p *pipe) find(proto uint16, code uint8) []Packet {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Packet
	for _, f := range p.sent {
		pr, info, _ := ParseFrame(f)
		if pr == proto && len(info) >= 4 && info[0] == code {
			out = append(out, Packet(info))
		}
	}
	return out
}

type side struct {
	e      *Engine
	out    *pipe
	upCh   chan LinkParams
	downs  int
	err    error
	done   chan struct{}
	logs   []string
	logMu  sync.Mutex
	params LinkParams
}

func (s *side) logf(format string, args ...any) {
	s.logMu.Lock()
	s.logs = append(s.logs, fmt.Sprintf(format, args...))
	s.logMu.Unlock()
}

var (
	serverIP = netip.MustParseAddr("10.99.0.1")
	clientIP = netip.MustParseAddr("10.99.0.100")
	dnsIP    = netip.MustParseAddr("10.99.0.53")
)

const testPassword = "s3cret-Pw"

func secrets(user string) (string, bool) {
	if user == "test" {
		return testPassword, true
	}
	return "", false
}

func clientConfig() Config {
	return Config{User: "test", Password: testPassword, UsePeerDNS: true,
		MPPE: MPPEPolicy{Allow40: true, Allow128: true, Stateless: true}}
}

func serverConfig() Config {
	return Config{Server: true, Name: "pptpd", Secret: secrets,
		Require: auth.MethodSet(0).Add(auth.MSCHAPv2),
		LocalIP: serverIP, PeerIP: clientIP, DNS: []netip.Addr{dnsIP},
		MPPE: MPPEPolicy{Allow40: true, Allow128: true, Stateless: true}}
}

func newSide(cfg Config) *side {
	s := &side{out: &pipe{}, upCh: make(chan LinkParams, 4), done: make(chan struct{})}
	cfg.Debug = true
	cfg.Logf = s.logf
	cfg.Up = func(p LinkParams) { s.upCh <- p }
	cfg.Down = func() { s.downs++ }
	s.e = NewEngine(cfg, s.out)
	return s
}

// pair wires two engines back to back and starts them; call inside a synctest bubble.
func pair(t *testing.T, ccfg, scfg Config) (c, s *side) {
	c, s = newSide(ccfg), newSide(scfg)
	c.out.peer, s.out.peer = s.e, c.e
	for _, x := range []*side{c, s} {
		go func() {
			x.err = x.e.Run(context.Background())
			close(x.done)
		}()
	}
	t.Cleanup(func() {
		c.e.Close()
		s.e.Close()
		<-c.done
		<-s.done
		if t.Failed() {
			t.Logf("client log:\n%s\nserver log:\n%s", strings.Join(c.logs, "\n"), strings.Join(s.logs, "\n"))
		}
	})
	return c, s
}

// waitUp waits (in fake time) for both sides to be up or for either to end.
func waitUp(t *testing.T, c, s *side) bool {
	t.Helper()
	var cu, su bool
	timeout := time.After(2 * time.Minute)
	for !cu || !su {
		select {
		case c.params = <-c.upCh:
			cu = true
		case s.params = <-s.upCh:
			su = true
		case <-c.done:
			return false
		case <-s.done:
			return false
		case <-timeout:
			t.Fatal("link did not come up within 2 minutes")
		}
	}
	return true
}

// shutdown closes both engines and waits for their Run to return.
func shutdown(t *testing.T, c, s *side) {
	t.Helper()
	c.e.Close()
	s.e.Close()
	for _, x := range []*side{c, s} {
		select {
		case <-x.done:
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after Close")
		}
	}
}

// runOne starts a single engine whose peer is the test itself.
func runOne(t *testing.T, cfg Config) (*Engine, *pipe) {
	x, low := runSide(t, cfg)
	return x.e, low
}

// runSide is runOne that returns the whole side (its error, its log); call inside a bubble.
func runSide(t *testing.T, cfg Config) (*side, *pipe) {
	low := &pipe{}
	x := newSide(cfg)
	x.out = low
	x.e.lower = low
	go func() { x.err = x.e.Run(context.Background()); close(x.done) }()
	t.Cleanup(func() {
		x.e.Close()
		<-x.done
		if t.Failed() {
			t.Logf("log:\n%s", strings.Join(x.logs, "\n"))
		}
	})
	synctest.Wait()
	return x, low
}

func waitDone(t *testing.T, x *side, within time.Duration) error {
	t.Helper()
	select {
	case <-x.done:
		return x.err
	case <-time.After(within):
		t.Fatalf("Run did not return within %v", within)
		return nil
	}
}

func TestEngineAuthMethods(t *testing.T) {
	for _, m := range []auth.Method{auth.PAP, auth.CHAPMD5, auth.MSCHAPv1, auth.MSCHAPv2} {
		t.Run(m.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ccfg, scfg := clientConfig(), serverConfig()
				scfg.Require = auth.MethodSet(0).Add(m)
				mschapMethod := m == auth.MSCHAPv1 || m == auth.MSCHAPv2
				if !mschapMethod {
					ccfg.MPPE, scfg.MPPE = MPPEPolicy{}, MPPEPolicy{}
				}
				c, s := pair(t, ccfg, scfg)
				if !waitUp(t, c, s) {
					t.Fatalf("link failed: client %v, server %v\nclient log:\n%s", c.err, s.err, strings.Join(c.logs, "\n"))
				}
				cp, sp := c.params, s.params
				if cp.Local != clientIP || cp.Peer != serverIP || !slices.Equal(cp.DNS, []netip.Addr{dnsIP}) {
					t.Errorf("client params %+v", cp)
				}
				if sp.Local != serverIP || sp.Peer != clientIP {
					t.Errorf("server params %+v", sp)
				}
				if sp.AuthUser != "test" || cp.AuthUser != "test" {
					t.Errorf("auth users %q %q", cp.AuthUser, sp.AuthUser)
				}
				if !cp.TxACFC || !cp.TxPFC || !sp.TxACFC || !sp.TxPFC {
					t.Errorf("ACFC/PFC not negotiated: %+v %+v", cp, sp)
				}
				if mschapMethod {
					if cp.MPPE == nil || sp.MPPE == nil {
						t.Fatalf("no MPPE: %+v %+v", cp.MPPE, sp.MPPE)
					}
					if cp.MPPE.Bits != 128 || !cp.MPPE.Stateless || *sp.MPPE != (MPPEParams{Bits: 128, Stateless: true, SendKey: cp.MPPE.RecvKey, RecvKey: cp.MPPE.SendKey}) {
						t.Errorf("MPPE client %+v server %+v", *cp.MPPE, *sp.MPPE)
					}
					if m == auth.MSCHAPv2 && cp.MPPE.SendKey == cp.MPPE.RecvKey {
						t.Error("MS-CHAPv2 send and receive keys are equal")
					}
					if cp.MTU != 1400-4 {
						t.Errorf("MTU %d, want 1396 (peer MRU 1400 - MPPE 4)", cp.MTU)
					}
				} else if cp.MPPE != nil || sp.MPPE != nil || cp.MTU != 1400 {
					t.Errorf("unexpected MPPE/MTU %+v %+v", cp, sp)
				}
				c.e.Close()
				if err := waitDone(t, c, 5*time.Second); err != nil {
					t.Errorf("client Run after Close: %v", err)
				}
				if err := waitDone(t, s, 5*time.Second); err == nil || err.Error() != "peer terminated the link: User request" {
					t.Errorf("server Run after the client closed: %v", err)
				}
				for _, l := range append(c.logs, s.logs...) {
					if strings.Contains(l, testPassword) {
						t.Errorf("log shows the password: %s", l)
					}
				}
				if c.downs != 1 || s.downs != 1 {
					t.Errorf("Down calls: client %d, server %d", c.downs, s.downs)
				}
			})
		})
	}
}

func TestEngineMPPEPolicies(t *testing.T) {
	p := func(req, a40, a128, sl, sf bool) MPPEPolicy {
		return MPPEPolicy{Require: req, Allow40: a40, Allow128: a128, Stateless: sl, Stateful: sf}
	}
	for _, tc := range []struct {
		name           string
		client, server MPPEPolicy
		bits           int // 0 = expect no MPPE
		stateless      bool
		clientErr      string // substring; "" = link comes up
	}{
		{"both allow all → 128 stateless", p(false, true, true, true, false), p(false, true, true, true, false), 128, true, ""},
		{"client 40 only", p(true, true, false, true, false), p(false, true, true, true, false), 40, true, ""},
		{"server 40 only, client allows both", p(true, true, true, true, false), p(true, true, false, true, false), 40, true, ""},
		{"stateful only on both", p(true, false, true, false, true), p(true, false, true, false, true), 128, false, ""},
		{"client stateful-only, server allows both modes", p(true, false, true, false, true), p(true, false, true, true, true), 128, false, ""},
		{"client allows both modes, server stateful-only", p(true, false, true, true, true), p(true, false, true, false, true), 128, false, ""},
		{"client requires 128, server offers 40", p(true, false, true, true, false), p(true, true, false, true, false), 0, false, "we require MPPE-128 stateless, server offered MPPE-40 stateless"},
		{"client stateless-only, server stateful-only", p(true, false, true, true, false), p(true, false, true, false, true), 0, false, "server offered MPPE-128 stateful"},
		{"client requires, server has no MPPE", p(true, true, true, true, false), p(false, false, false, false, false), 0, false, "server rejected CCP"},
		{"client optional, server has no MPPE", p(false, true, true, true, false), p(false, false, false, false, false), 0, false, ""},
		{"client refuses MPPE, server optional", MPPEPolicy{}, p(false, true, true, true, false), 0, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ccfg, scfg := clientConfig(), serverConfig()
				ccfg.MPPE, scfg.MPPE = tc.client, tc.server
				c, s := pair(t, ccfg, scfg)
				up := waitUp(t, c, s)
				if tc.clientErr != "" {
					if up {
						t.Fatalf("link came up: %+v", c.params.MPPE)
					}
					err := waitDone(t, c, 10*time.Second)
					if err == nil || !strings.Contains(err.Error(), tc.clientErr) {
						t.Fatalf("client error %v, want it to contain %q", err, tc.clientErr)
					}
					if !strings.Contains(err.Error(), "encryption negotiation failed") {
						t.Errorf("error %q does not say encryption failed", err)
					}
					if !errors.Is(err, ErrCCP) || !errors.Is(err, ErrNegotiation) || errors.Is(err, ErrIPCP) || errors.Is(err, ErrLCP) {
						t.Errorf("error %q is not a CCP negotiation failure alone", err)
					}
					waitDone(t, s, 10*time.Second)
					return
				}
				if !up {
					t.Fatalf("link failed: client %v, server %v\n%s", c.err, s.err, strings.Join(c.logs, "\n"))
				}
				cm, sm := c.params.MPPE, s.params.MPPE
				if tc.bits == 0 {
					if cm != nil || sm != nil {
						t.Fatalf("MPPE negotiated: %+v %+v", cm, sm)
					}
				} else {
					if cm == nil || sm == nil {
						t.Fatalf("no MPPE: %+v %+v", cm, sm)
					}
					if cm.Bits != tc.bits || cm.Stateless != tc.stateless || sm.Bits != tc.bits || sm.Stateless != tc.stateless {
						t.Fatalf("got client %d/%v server %d/%v, want %d/%v", cm.Bits, cm.Stateless, sm.Bits, sm.Stateless, tc.bits, tc.stateless)
					}
				}
				shutdown(t, c, s)
			})
		})
	}
}

func TestEngineAuthNegotiation(t *testing.T) {
	set := func(ms ...auth.Method) (s auth.MethodSet) {
		for _, m := range ms {
			s = s.Add(m)
		}
		return s
	}
	t.Run("client refuses v2, server takes v1", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ccfg, scfg := clientConfig(), serverConfig()
			ccfg.Refuse = set(auth.MSCHAPv2)
			scfg.Require = set(auth.MSCHAPv2, auth.MSCHAPv1)
			c, s := pair(t, ccfg, scfg)
			if !waitUp(t, c, s) {
				t.Fatalf("link failed: %v %v", c.err, s.err)
			}
			if naks := c.out.find(ProtoLCP, CodeConfigureNak); len(naks) == 0 {
				t.Fatal("client never Nak'd the auth protocol")
			}
			shutdown(t, c, s)
			if c.e.authMethod != auth.MSCHAPv1 || s.e.authMethod != auth.MSCHAPv1 {
				t.Fatalf("methods %v %v", c.e.authMethod, s.e.authMethod)
			}
		})
	})
	t.Run("client refuses all server methods", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ccfg, scfg := clientConfig(), serverConfig()
			ccfg.Refuse = set(auth.MSCHAPv2, auth.MSCHAPv1)
			scfg.Require = set(auth.MSCHAPv2, auth.MSCHAPv1)
			c, s := pair(t, ccfg, scfg)
			if waitUp(t, c, s) {
				t.Fatal("link came up")
			}
			err := waitDone(t, s, 30*time.Second)
			if err == nil || !strings.Contains(err.Error(), "authentication negotiation failed") {
				t.Fatalf("server error %v", err)
			}
			waitDone(t, c, 30*time.Second)
		})
	})
	t.Run("client refuses everything", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ccfg, scfg := clientConfig(), serverConfig()
			ccfg.Refuse = auth.AllMethods
			c, s := pair(t, ccfg, scfg)
			if waitUp(t, c, s) {
				t.Fatal("link came up")
			}
			if rej := c.out.find(ProtoLCP, CodeConfigureReject); len(rej) == 0 {
				t.Fatal("client did not Configure-Reject the auth option")
			}
			err := waitDone(t, s, 30*time.Second)
			if err == nil || !strings.Contains(err.Error(), "client rejected authentication") {
				t.Fatalf("server error %v", err)
			}
			waitDone(t, c, 30*time.Second)
		})
	})
	t.Run("EAP is Nak'd", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e, low := runOne(t, clientConfig())
			e.Input(appendFrame(nil, ProtoLCP, appendPacket(nil, CodeConfigureRequest, 7, []byte{LCPOptAuthProtocol, 4, 0xC2, 0x27, LCPOptMagic, 6, 1, 2, 3, 4})))
			synctest.Wait()
			naks := low.find(ProtoLCP, CodeConfigureNak)
			if len(naks) != 1 || naks[0].ID() != 7 || string(naks[0].Data()) != string([]byte{LCPOptAuthProtocol, 5, 0xC2, 0x23, 0x81}) {
				t.Fatalf("Naks %x", naks)
			}
		})
	})
}

func TestEngineWrongPassword(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ccfg, scfg := clientConfig(), serverConfig()
		ccfg.Password = "wrong"
		c, s := pair(t, ccfg, scfg)
		if waitUp(t, c, s) {
			t.Fatal("link came up with a wrong password")
		}
		err := waitDone(t, c, 30*time.Second)
		var f *mschap.Failure
		if !errors.As(err, &f) || f.Code != 691 {
			t.Fatalf("client error %v (%T), want a *mschap.Failure with E=691", err, errors.Unwrap(err))
		}
		if serr := waitDone(t, s, 30*time.Second); serr == nil || !strings.Contains(serr.Error(), "authentication failed") {
			t.Fatalf("server error %v", serr)
		}
	})
}

func TestEngineEchoFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ccfg, scfg := clientConfig(), serverConfig()
		ccfg.EchoInterval, ccfg.EchoFailure = 10*time.Second, 3
		c, s := pair(t, ccfg, scfg)
		if !waitUp(t, c, s) {
			t.Fatalf("link failed: %v %v", c.err, s.err)
		}
		// Echoes are answered while the server is there.
		time.Sleep(35 * time.Second)
		if reps := s.out.find(ProtoLCP, CodeEchoReply); len(reps) < 3 {
			t.Fatalf("server sent %d Echo-Replies", len(reps))
		}
		select {
		case <-c.done:
			t.Fatalf("client died with a live peer: %v", c.err)
		default:
		}
		// The server goes silent.
		s.out.setDrop(func(uint16, []byte) bool { return true })
		start := time.Now()
		err := waitDone(t, c, 2*time.Minute)
		var et *EchoTimeoutError
		if err == nil || err.Error() != "LCP keepalive: the server answered none of 3 Echo-Requests in 30s and sent no data (lcp-echo-interval 10, lcp-echo-failure 3)" ||
			!errors.Is(err, ErrPeerDead) || !errors.As(err, &et) {
			t.Fatalf("client error %v", err)
		}
		// Three unanswered echoes at 10 s intervals, declared dead at the fourth tick, plus
		// at most the terminate exchange (2 × 1 s).
		if d := time.Since(start); d < 30*time.Second || d > 45*time.Second {
			t.Fatalf("detected after %v", d)
		}
		if c.downs != 1 {
			t.Fatalf("Down called %d times", c.downs)
		}
		s.e.Close()
		waitDone(t, s, 10*time.Second)
	})
}

// The server's keepalive drops a client that vanished (pptpd's pppd with Debian's options).
func TestEngineServerEchoDropsVanishedClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ccfg, scfg := clientConfig(), serverConfig()
		scfg.EchoInterval, scfg.EchoFailure = 30*time.Second, 4
		c, s := pair(t, ccfg, scfg)
		if !waitUp(t, c, s) {
			t.Fatalf("link failed: %v %v", c.err, s.err)
		}
		c.out.setDrop(func(uint16, []byte) bool { return true })
		start := time.Now()
		err := waitDone(t, s, 5*time.Minute)
		if !errors.Is(err, ErrPeerDead) || !strings.Contains(err.Error(), "the client answered none of 4 Echo-Requests in 2m0s") {
			t.Fatalf("server error %v", err)
		}
		if d := time.Since(start); d < 2*time.Minute || d > 2*time.Minute+35*time.Second {
			t.Fatalf("vanished client dropped after %v", d)
		}
		c.e.Close()
		waitDone(t, c, 10*time.Second)
	})
}

func TestEngineEchoAnyFrameIsLiveness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ccfg, scfg := clientConfig(), serverConfig()
		ccfg.EchoInterval, ccfg.EchoFailure = 10*time.Second, 2
		c, s := pair(t, ccfg, scfg)
		if !waitUp(t, c, s) {
			t.Fatalf("link failed: %v %v", c.err, s.err)
		}
		// Echo-Replies are lost, but other frames keep arriving.
		s.out.setDrop(func(proto uint16, info []byte) bool { return proto == ProtoLCP && info[0] == CodeEchoReply })
		for range 10 {
			time.Sleep(5 * time.Second)
			c.e.Input(appendFrame(nil, ProtoLCP, appendPacket(nil, CodeDiscardRequest, 1, []byte{0, 0, 0, 0})))
		}
		select {
		case <-c.done:
			t.Fatalf("client died although frames kept arriving: %v", c.err)
		default:
		}
		// Data traffic reported by the data path counts as well.
		for range 10 {
			time.Sleep(5 * time.Second)
			c.e.NoteTraffic()
		}
		select {
		case <-c.done:
			t.Fatalf("client died although data kept arriving: %v", c.err)
		default:
		}
		// Without either, the echo failure is detected.
		time.Sleep(40 * time.Second)
		select {
		case <-c.done:
			if c.err == nil || !errors.Is(c.err, ErrPeerDead) {
				t.Fatalf("client error %v", c.err)
			}
		default:
			t.Fatal("silent peer not detected")
		}
		shutdown(t, c, s)
	})
}

func TestEnginePeerTerminate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := pair(t, clientConfig(), serverConfig())
		if !waitUp(t, c, s) {
			t.Fatalf("link failed: %v %v", c.err, s.err)
		}
		start := time.Now()
		s.e.Close()
		if err := waitDone(t, s, 5*time.Second); err != nil {
			t.Fatalf("server Run after Close: %v", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("server Close took %v with a live peer", d)
		}
		err := waitDone(t, c, 10*time.Second)
		if err == nil || err.Error() != "peer terminated the link: User request" {
			t.Fatalf("client error %v", err)
		}
		if c.downs != 1 {
			t.Fatalf("client Down %d", c.downs)
		}
	})
}

func TestEngineCloseDeadPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := pair(t, clientConfig(), serverConfig())
		if !waitUp(t, c, s) {
			t.Fatalf("link failed: %v %v", c.err, s.err)
		}
		c.out.setDrop(func(uint16, []byte) bool { return true })
		start := time.Now()
		c.e.Close()
		if err := waitDone(t, c, 10*time.Second); err != nil {
			t.Fatalf("Run after Close: %v", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("Close took %v", d)
		}
		if n := len(c.out.find(ProtoLCP, CodeTerminateRequest)); n != defaultMaxTerminate {
			t.Fatalf("%d Terminate-Requests, want %d", n, defaultMaxTerminate)
		}
		s.e.Close()
		waitDone(t, s, 10*time.Second)
	})
}

func TestEngineProtocolRejectIPV6CP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Before LCP opens an unknown protocol is silently dropped.
		lone, low := runOne(t, clientConfig())
		lone.Input(appendFrame(nil, ProtoIPV6CP, appendPacket(nil, CodeConfigureRequest, 1, nil)))
		synctest.Wait()
		if n := len(low.find(ProtoLCP, CodeProtocolReject)); n != 0 {
			t.Fatalf("%d Protocol-Rejects before LCP opened", n)
		}
		c, s := pair(t, clientConfig(), serverConfig())
		if !waitUp(t, c, s) {
			t.Fatalf("link failed: %v %v", c.err, s.err)
		}
		req := appendPacket(nil, CodeConfigureRequest, 1, []byte{1, 10, 0x15, 0x3d, 0xaa, 0x72, 0x90, 0xd7, 0x8a, 0xfc})
		c.e.Input(appendFrame(nil, ProtoIPV6CP, req))
		synctest.Wait()
		rej := c.out.find(ProtoLCP, CodeProtocolReject)
		if len(rej) != 1 {
			t.Fatalf("%d Protocol-Rejects", len(rej))
		}
		want := append([]byte{0x80, 0x57}, req...)
		if string(rej[0].Data()) != string(want) {
			t.Fatalf("Protocol-Reject data %x, want %x", rej[0].Data(), want)
		}
		shutdown(t, c, s)
	})
}

func TestEngineProtocolRejectOfIPCP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := pair(t, clientConfig(), serverConfig())
		if !waitUp(t, c, s) {
			t.Fatalf("link failed: %v %v", c.err, s.err)
		}
		c.e.Input(appendFrame(nil, ProtoLCP, appendPacket(nil, CodeProtocolReject, 9, []byte{0x80, 0x21, 1, 1, 0, 4})))
		err := waitDone(t, c, 10*time.Second)
		if err == nil || !strings.Contains(err.Error(), "IPCP negotiation failed") || !errors.Is(err, ErrIPCP) || errors.Is(err, ErrCCP) {
			t.Fatalf("client error %v", err)
		}
		s.e.Close()
		waitDone(t, s, 10*time.Second)
	})
}

func TestEngineLossOfFirstLCPFrames(t *testing.T) {
	for _, n := range []int{1, 3, 9} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, s := newSide(clientConfig()), newSide(serverConfig())
				c.out.peer, s.out.peer = s.e, c.e
				var lost atomic.Int32
				for _, p := range []*pipe{c.out, s.out} {
					p.drop = func(proto uint16, _ []byte) bool {
						if proto == ProtoLCP && lost.Load() < int32(n) {
							lost.Add(1)
							return true
						}
						return false
					}
				}
				start := time.Now()
				for _, x := range []*side{c, s} {
					go func() { x.err = x.e.Run(context.Background()); close(x.done) }()
				}
				if !waitUp(t, c, s) {
					t.Fatalf("link failed after losing %d LCP frames: %v %v", n, c.err, s.err)
				}
				if d := time.Since(start); d < defaultRestart {
					t.Fatalf("up after %v: the losses cannot have been recovered by retransmission", d)
				}
				shutdown(t, c, s)
			})
		})
	}
}

func TestEngineLCPTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		low := &pipe{}
		e := NewEngine(clientConfig(), low)
		start := time.Now()
		err := e.Run(context.Background())
		if err == nil || !strings.Contains(err.Error(), "LCP negotiation failed") || !errors.Is(err, ErrLCP) || !errors.Is(err, ErrNegotiation) {
			t.Fatalf("error %v", err)
		}
		if n := len(low.find(ProtoLCP, CodeConfigureRequest)); n != defaultMaxConfigure {
			t.Fatalf("%d Configure-Requests, want %d", n, defaultMaxConfigure)
		}
		if d := time.Since(start); d != defaultMaxConfigure*defaultRestart {
			t.Fatalf("gave up after %v", d)
		}
	})
}

func TestEngineResetRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ccfg, scfg := clientConfig(), serverConfig()
		ccfg.MPPE = MPPEPolicy{Require: true, Allow128: true, Stateful: true}
		scfg.MPPE = ccfg.MPPE
		var resets atomic.Int32
		c := newSide(ccfg)
		scfg.TxReset = func() { resets.Add(1) }
		s := newSide(scfg)
		s.e.cfg.TxReset = scfg.TxReset
		c.out.peer, s.out.peer = s.e, c.e
		for _, x := range []*side{c, s} {
			go func() { x.err = x.e.Run(context.Background()); close(x.done) }()
		}
		if !waitUp(t, c, s) {
			t.Fatalf("link failed: %v %v", c.err, s.err)
		}
		for range 5 {
			c.e.SendResetRequest()
			synctest.Wait()
		}
		if resets.Load() != 1 {
			t.Fatalf("%d resets after a burst, want 1 (rate limit)", resets.Load())
		}
		time.Sleep(150 * time.Millisecond)
		c.e.SendResetRequest()
		synctest.Wait()
		if resets.Load() != 2 {
			t.Fatalf("%d resets after the interval, want 2", resets.Load())
		}
		reqs, acks := c.out.find(ProtoCCP, CodeResetRequest), s.out.find(ProtoCCP, CodeResetAck)
		if len(reqs) != 2 || len(acks) != 2 || reqs[1].ID() != acks[1].ID() || reqs[0].ID() == reqs[1].ID() {
			t.Fatalf("Reset-Requests %x, Reset-Acks %x", reqs, acks)
		}
		shutdown(t, c, s)
	})
}

func BenchmarkNoteTraffic(b *testing.B) {
	e := NewEngine(clientConfig(), &recLower{})
	b.ReportAllocs()
	for b.Loop() {
		e.NoteTraffic()
	}
}

func TestEngineContextCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		low := &pipe{}
		e := NewEngine(clientConfig(), low)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- e.Run(ctx) }()
		time.Sleep(time.Second)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Run: %v", err)
		}
	})
}

func TestErrorKinds(t *testing.T) {
	base := errors.New("x")
	for _, k := range []error{ErrAuthFailed, ErrNegotiation, ErrPeerTerminated, ErrPeerDead} {
		err := withKind(k, base)
		if !errors.Is(err, k) || !errors.Is(err, base) || err.Error() != "x" {
			t.Errorf("withKind(%v): %v", k, err)
		}
		if again := withKind(ErrNegotiation, err); again != err {
			t.Errorf("a second kind replaced %v", k)
		}
	}
}

// A client's Up waits for the reply to an Echo-Request sent when the network layer is ready
// on its side (pppd answers it only once its own interface is configured), and for at most
// readyWait when no reply comes. The server does not wait.
func TestEngineUpWaitsForPeer(t *testing.T) {
	for _, answered := range []bool{true, false} {
		t.Run(fmt.Sprintf("answered=%v", answered), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, s := newSide(clientConfig()), newSide(serverConfig())
				if !answered {
					s.out.setDrop(func(proto uint16, info []byte) bool {
						return proto == ProtoLCP && len(info) > 0 && info[0] == CodeEchoReply
					})
				}
				c.out.peer, s.out.peer = s.e, c.e
				for _, x := range []*side{c, s} {
					go func() { x.err = x.e.Run(context.Background()); close(x.done) }()
				}
				defer shutdown(t, c, s)
				start := time.Now()
				synctest.Wait() // negotiation needs no timer: it is over at once
				probes := c.out.find(ProtoLCP, CodeEchoRequest)
				if len(probes) != 1 {
					t.Fatalf("client sent %d Echo-Requests", len(probes))
				}
				if len(s.upCh) != 1 || len(s.out.find(ProtoLCP, CodeEchoRequest)) != 0 {
					t.Fatalf("server up %d times, sent %d Echo-Requests: it must not wait", len(s.upCh), len(s.out.find(ProtoLCP, CodeEchoRequest)))
				}
				if answered {
					if len(c.upCh) != 1 || time.Since(start) != 0 {
						t.Fatalf("client up %d times after %v", len(c.upCh), time.Since(start))
					}
					reps := s.out.find(ProtoLCP, CodeEchoReply)
					if len(reps) != 1 || reps[0].ID() != probes[0].ID() {
						t.Fatalf("server's replies %v to probe %v", reps, probes[0])
					}
					return
				}
				if len(c.upCh) != 0 {
					t.Fatal("client up without the Echo-Reply")
				}
				time.Sleep(readyWait - time.Millisecond)
				synctest.Wait()
				if len(c.upCh) != 0 {
					t.Fatalf("client up after %v", time.Since(start))
				}
				time.Sleep(time.Millisecond)
				synctest.Wait()
				if len(c.upCh) != 1 {
					t.Fatalf("client not up after %v", time.Since(start))
				}
			})
		})
	}
}

// A server that requires MPPE (pppd, pptpd) drops IPCP until its CCP is up; a client that
// only allows MPPE sends its IPCP request beside CCP's. The client resends it as CCP opens
// instead of after the 3 s restart timer, whether the server dropped it silently (ours) or
// answered it with a Terminate-Ack (pppd, in its Closed state).
func TestEngineIPCPResentWhenCCPOpens(t *testing.T) {
	for _, termAck := range []bool{false, true} {
		testIPCPResent(t, termAck)
	}
}

func testIPCPResent(t *testing.T, termAck bool) {
	synctest.Test(t, func(t *testing.T) {
		ccfg, scfg := clientConfig(), serverConfig()
		scfg.MPPE.Require = true
		start := time.Now()
		c, s := pair(t, ccfg, scfg)
		if termAck {
			first := true
			c.out.setDrop(func(proto uint16, info []byte) bool {
				if proto != ProtoIPCP || !first || info[0] != CodeConfigureRequest {
					return false
				}
				first = false
				go c.e.Input(appendFrame(nil, ProtoIPCP, []byte{CodeTerminateAck, info[1], 0, 4}))
				return true
			})
		}
		if !waitUp(t, c, s) {
			t.Fatalf("link failed: client %v, server %v", c.err, s.err)
		}
		if d := time.Since(start); d >= time.Second {
			t.Fatalf("link up after %v: the IPCP request waited for the restart timer", d)
		}
		if c.params.MPPE == nil {
			t.Fatal("no MPPE")
		}
		shutdown(t, c, s)
	})
}
