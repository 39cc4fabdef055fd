// SPDX-License-Identifier: MIT

package ppp

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pptp-go/pptp/ppp/auth"
)

func lastOf(low *pipe, proto uint16, code uint8) Packet {
	ps := low.find(proto, code)
	if len(ps) == 0 {
		return nil
	}
	return ps[len(ps)-1]
}

func ended(x *side) bool {
	select {
	case <-x.done:
		return true
	default:
		return false
	}
}

// openLCP plays the peer's half of an LCP negotiation: Ack the engine's last request and
// send a request of our own (a fresh magic number each time).
func openLCP(t *testing.T, x *side, low *pipe, id uint8) {
	t.Helper()
	req := lastOf(low, ProtoLCP, CodeConfigureRequest)
	if req == nil {
		t.Fatal("no Configure-Request from the engine")
	}
	x.e.Input(appendFrame(nil, ProtoLCP, appendPacket(nil, CodeConfigureAck, req.ID(), req.Data())))
	x.e.Input(appendFrame(nil, ProtoLCP, appendPacket(nil, CodeConfigureRequest, id, []byte{LCPOptMagic, 6, 0x10, 0x20, 0x30, id})))
	synctest.Wait()
}

// The whole time between the start of the link and the end of authentication is bounded,
// whatever the peer sends: here it restarts nothing, it only keeps the authenticator busy
// with Responses it ignores.
func TestEnginePreAuthDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := serverConfig()
		x, low := runSide(t, cfg)
		start := time.Now()
		openLCP(t, x, low, 1)
		if x.e.phase != phaseAuthenticate {
			t.Fatalf("phase %v, want Authenticate", x.e.phase)
		}
		for i := 0; i < 200 && !ended(x); i++ {
			// A Response with an Identifier the authenticator never used: ignored.
			ch := lastOf(low, ProtoCHAP, 1)
			resp := append([]byte{49}, make([]byte, 49)...)
			x.e.Input(appendFrame(nil, ProtoCHAP, appendPacket(nil, 2, ch.ID()+100, append(resp, 'x'))))
			time.Sleep(time.Second)
			synctest.Wait()
		}
		if !ended(x) {
			t.Fatal("the engine is still waiting for authentication after 200 s")
		}
		if d := time.Since(start); d > defaultAuthTimeout+time.Second {
			t.Fatalf("gave up after %v, want ≤ %v", d, defaultAuthTimeout)
		}
		if !errors.Is(x.err, ErrAuthFailed) {
			t.Fatalf("error %v, want an ErrAuthFailed", x.err)
		}
	})
}

// Ignored authentication packets do not push the authenticator's restart timer: it gives
// up after its tries, as with a silent peer.
func TestEngineAuthTimerOnlyProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := serverConfig()
		cfg.AuthTimeout = time.Hour
		x, low := runSide(t, cfg)
		start := time.Now()
		openLCP(t, x, low, 1)
		for i := 0; i < 200 && !ended(x); i++ {
			// A CHAP code nobody uses and a Response with a stale Identifier, 0.5 s apart.
			x.e.Input(appendFrame(nil, ProtoCHAP, appendPacket(nil, 9, 1, nil)))
			x.e.Input(appendFrame(nil, ProtoCHAP, appendPacket(nil, 2, lastOf(low, ProtoCHAP, 1).ID()+1, []byte{0})))
			time.Sleep(500 * time.Millisecond)
			synctest.Wait()
		}
		if !ended(x) {
			t.Fatal("the authenticator is still waiting after 100 s of ignored packets")
		}
		if d := time.Since(start); d > auth.MaxTries*defaultRestart+3*time.Second {
			t.Fatalf("gave up after %v", d)
		}
	})
}

// A peer that renegotiates LCP before authenticating gets a few restarts, not endless ones.
func TestEngineLCPRestartsBeforeAuth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := serverConfig()
		cfg.AuthTimeout = time.Hour
		x, low := runSide(t, cfg)
		rounds := 0
		for ; rounds < 50 && !ended(x); rounds++ {
			openLCP(t, x, low, uint8(rounds+1))
			time.Sleep(time.Second)
			synctest.Wait()
		}
		if !ended(x) {
			t.Fatal("50 LCP renegotiations before authentication were all accepted")
		}
		// The last restart fails; terminating takes two more seconds (rounds).
		if rounds > maxPreAuthLCPRestarts+4 {
			t.Fatalf("the engine took %d renegotiations", rounds)
		}
		if !errors.Is(x.err, ErrLCP) || !strings.Contains(x.err.Error(), "before authentication") {
			t.Fatalf("error %v", x.err)
		}
	})
}

// A Configure-Nak naming only an option we never asked for changes nothing in our request:
// it must not refill the restart counter, so LCP still gives up after Max-Configure.
func TestEngineNakOfUnrequestedOption(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := clientConfig()
		cfg.AuthTimeout = time.Hour
		x, low := runSide(t, cfg)
		for i := 0; i < 100 && !ended(x); i++ {
			req := lastOf(low, ProtoLCP, CodeConfigureRequest)
			x.e.Input(appendFrame(nil, ProtoLCP, appendPacket(nil, CodeConfigureNak, req.ID(), []byte{0x1F, 2})))
			time.Sleep(100 * time.Millisecond)
			synctest.Wait()
		}
		if !ended(x) {
			t.Fatalf("LCP still negotiating after 100 empty Naks (%d requests)", len(low.find(ProtoLCP, CodeConfigureRequest)))
		}
		if n := len(low.find(ProtoLCP, CodeConfigureRequest)); n > defaultMaxConfigure+1 {
			t.Fatalf("%d Configure-Requests", n)
		}
	})
}

// With MPPE required the client refuses PAP and CHAP-MD5 in LCP already (neither yields MPPE
// keys, and PAP would send the password in clear), Nak'ing with MS-CHAPv2, and says why.
func TestEngineClientRefusesKeylessAuthWithMPPE(t *testing.T) {
	for _, m := range []auth.Method{auth.PAP, auth.CHAPMD5} {
		t.Run(m.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := clientConfig()
				cfg.MPPE.Require = true
				x, low := runSide(t, cfg)
				opt := append([]byte{LCPOptAuthProtocol, byte(2 + len(m.ConfigData()))}, m.ConfigData()...)
				x.e.Input(appendFrame(nil, ProtoLCP, appendPacket(nil, CodeConfigureRequest, 7, opt)))
				synctest.Wait()
				if len(low.find(ProtoLCP, CodeConfigureAck)) != 0 {
					t.Fatalf("the client acked %v", m)
				}
				naks := low.find(ProtoLCP, CodeConfigureNak)
				if len(naks) != 1 || string(naks[0].Data()) != string([]byte{LCPOptAuthProtocol, 5, 0xC2, 0x23, 0x81}) {
					t.Fatalf("Naks %x", naks)
				}
				x.logMu.Lock()
				logs := strings.Join(x.logs, "\n")
				x.logMu.Unlock()
				if !strings.Contains(logs, "refusing "+m.String()) || !strings.Contains(logs, "MPPE") {
					t.Fatalf("no reason logged:\n%s", logs)
				}
			})
		})
	}
}

// The server commits an address only once the client authenticated: Assign is not called for
// a client that fails, and its pair is what IPCP hands out.
func TestEngineAssignAfterAuth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls []string
		scfg := serverConfig()
		scfg.LocalIP, scfg.PeerIP = netip.Addr{}, netip.Addr{}
		scfg.Assign = func(user string, _ netip.Addr) (netip.Addr, netip.Addr, error) {
			calls = append(calls, user)
			return netip.MustParseAddr("10.5.0.1"), netip.MustParseAddr("10.5.0.9"), nil
		}
		ccfg := clientConfig()
		ccfg.Password = "wrong"
		c, s := pair(t, ccfg, scfg)
		if waitUp(t, c, s) {
			t.Fatal("up with a wrong password")
		}
		waitDone(t, s, 30*time.Second)
		if len(calls) != 0 {
			t.Fatalf("Assign called for a failed login: %q", calls)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		var calls []string
		scfg := serverConfig()
		scfg.LocalIP, scfg.PeerIP = netip.Addr{}, netip.Addr{}
		scfg.Assign = func(user string, _ netip.Addr) (netip.Addr, netip.Addr, error) {
			calls = append(calls, user)
			return netip.MustParseAddr("10.5.0.1"), netip.MustParseAddr("10.5.0.9"), nil
		}
		c, s := pair(t, clientConfig(), scfg)
		if !waitUp(t, c, s) {
			t.Fatalf("link failed: %v %v", c.err, s.err)
		}
		if len(calls) != 1 || calls[0] != "test" {
			t.Fatalf("Assign calls %q", calls)
		}
		if c.params.Local != netip.MustParseAddr("10.5.0.9") || s.params.Peer != netip.MustParseAddr("10.5.0.9") || s.params.Local != netip.MustParseAddr("10.5.0.1") {
			t.Fatalf("client %v, server %v", c.params, s.params)
		}
		shutdown(t, c, s)
	})
}
