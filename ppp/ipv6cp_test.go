// SPDX-License-Identifier: MIT

package ppp

import (
	"bytes"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pptp-go/pptp/ppp/auth"
)

// ifaceOpt is an Interface-Identifier option as RFC 5072 §4.1 lays it out:
// Type 1, Length 10, the identifier's 8 bytes.
func ifaceOpt(id ...byte) []byte { return append([]byte{1, 10}, id...) }

var (
	idA = InterfaceID{0x4c, 0xd4, 0x32, 0x4b, 0xd5, 0x70, 0x1c, 0xbd}
	idB = InterfaceID{0x15, 0x3d, 0xaa, 0x72, 0x90, 0xd7, 0x8a, 0xfc}
)

func TestInterfaceIDForms(t *testing.T) {
	if got := idA.String(); got != "4cd4:324b:d570:1cbd" {
		t.Errorf("String %q", got)
	}
	if got := idA.LinkLocal().String(); got != "fe80::4cd4:324b:d570:1cbd" {
		t.Errorf("LinkLocal %s", got)
	}
	for in, want := range map[string]InterfaceID{
		"::1":                       {7: 1},
		"::dead:beef":               {4: 0xde, 5: 0xad, 6: 0xbe, 7: 0xef},
		"fe80::4cd4:324b:d570:1cbd": idA,
	} {
		if got, err := ParseInterfaceID(in); err != nil || got != want {
			t.Errorf("ParseInterfaceID(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "1.2.3.4", "::1%eth0", "zz::1", "4cd4:324b"} {
		if _, err := ParseInterfaceID(bad); err == nil {
			t.Errorf("ParseInterfaceID(%q) accepted", bad)
		}
	}
}

// TestIPV6CPReqci is the judgement of the peer's request, byte for byte in RFC 5072's layout.
func TestIPV6CPReqci(t *testing.T) {
	cfg := Config{IPv6: IPv6Config{Mode: IPv6Passive, LocalID: idA}}
	c := newIPV6CP(&cfg, &stubParent{})
	c.resetci()
	if got := c.addci(nil); !bytes.Equal(got, ifaceOpt(idA[:]...)) {
		t.Fatalf("our request % x", got)
	}
	runReqci(t, func(in []byte) (uint8, []byte) { return reqci(c, in, false) }, []reqciCase{
		{"distinct identifier acked", ifaceOpt(idB[:]...), CodeConfigureAck, ifaceOpt(idB[:]...)},
		{"compression rejected", append(ifaceOpt(idB[:]...), 2, 4, 0x00, 0x4f), CodeConfigureReject, []byte{2, 4, 0x00, 0x4f}},
		{"short identifier rejected", []byte{1, 6, 1, 2, 3, 4}, CodeConfigureReject, []byte{1, 6, 1, 2, 3, 4}},
		{"unknown option rejected", append([]byte{99, 2}, ifaceOpt(idB[:]...)...), CodeConfigureReject, []byte{99, 2}},
	})
	// Zero and our own identifier are Nak'ed with a suggestion that is neither.
	for name, in := range map[string][]byte{"zero": ifaceOpt(0, 0, 0, 0, 0, 0, 0, 0), "collision": ifaceOpt(idA[:]...)} {
		code, reply := reqci(c, in, false)
		if code != CodeConfigureNak || len(reply) != 10 || reply[0] != 1 || reply[1] != 10 {
			t.Fatalf("%s: %s % x", name, codeNames[code], reply)
		}
		if s := InterfaceID(reply[2:]); s.IsZero() || s == idA {
			t.Errorf("%s: suggested %v", name, s)
		}
		if !c.peerID.IsZero() {
			t.Errorf("%s: peer identifier %v taken from a Nak'ed request", name, c.peerID)
		}
	}
	// After Max-Failure Naks a collision is rejected instead (RFC 1661 §4.6).
	if code, _ := reqci(c, ifaceOpt(idA[:]...), true); code != CodeConfigureReject {
		t.Errorf("collision after Max-Failure: %s", codeNames[code])
	}
}

// TestIPV6CPConfiguredPeer: `ipv6 ,<remote>` suggests the remote identifier once, then
// takes the peer's insistence (pppd's behaviour).
func TestIPV6CPConfiguredPeer(t *testing.T) {
	cfg := Config{IPv6: IPv6Config{Mode: IPv6Passive, PeerID: idB}}
	c := newIPV6CP(&cfg, &stubParent{})
	c.resetci()
	if c.ourID.IsZero() || c.ourID == idB {
		t.Fatalf("our random identifier %v", c.ourID)
	}
	other := InterfaceID{1, 2, 3, 4, 5, 6, 7, 8}
	if code, reply := reqci(c, ifaceOpt(other[:]...), false); code != CodeConfigureNak || !bytes.Equal(reply, ifaceOpt(idB[:]...)) {
		t.Fatalf("first request: %s % x", codeNames[code], reply)
	}
	if code, _ := reqci(c, ifaceOpt(other[:]...), false); code != CodeConfigureAck || c.peerID != other {
		t.Fatalf("insisting peer: %s, peer %v", codeNames[code], c.peerID)
	}
	// use-ipaddr: identifiers from the IPv4 addresses.
	cfg = Config{LocalIP: serverIP, PeerIP: clientIP, IPv6: IPv6Config{UseIPAddr: true}}
	c = newIPV6CP(&cfg, &stubParent{})
	c.resetci()
	if want := (InterfaceID{4: 10, 5: 99, 6: 0, 7: 1}); c.ourID != want || c.wantPeer != (InterfaceID{4: 10, 5: 99, 7: 100}) {
		t.Fatalf("use-ipaddr: ours %v, peer %v", c.ourID, c.wantPeer)
	}
}

// TestIPV6CPNak: a Nak of a random identifier is followed; of a configured one only with
// ipv6cp-accept-local; a zero suggestion or the peer's own is replaced by a fresh one.
func TestIPV6CPNak(t *testing.T) {
	for _, tc := range []struct {
		name   string
		v6     IPv6Config
		nak    InterfaceID
		follow bool
	}{
		{"random follows", IPv6Config{}, idB, true},
		{"configured keeps", IPv6Config{LocalID: idA}, idB, false},
		{"accept-local follows", IPv6Config{LocalID: idA, AcceptLocal: true}, idB, true},
	} {
		cfg := Config{IPv6: tc.v6}
		c := newIPV6CP(&cfg, &stubParent{})
		c.resetci()
		before := c.ourID
		if !c.nakci(ifaceOpt(tc.nak[:]...), false) {
			t.Fatalf("%s: Nak refused", tc.name)
		}
		if got := c.ourID; (got == tc.nak) != tc.follow || (!tc.follow && got != before) {
			t.Errorf("%s: identifier %v after Nak of %v (was %v)", tc.name, got, tc.nak, before)
		}
	}
	cfg := Config{}
	c := newIPV6CP(&cfg, &stubParent{})
	c.resetci()
	c.peerID = idB
	c.nakci(ifaceOpt(idB[:]...), false)
	if c.ourID.IsZero() || c.ourID == idB {
		t.Errorf("took the peer's own identifier %v", c.ourID)
	}
	c.nakci(ifaceOpt(0, 0, 0, 0, 0, 0, 0, 0), false)
	if c.ourID.IsZero() {
		t.Error("took a zero identifier")
	}
	if c.nakci([]byte{1, 4, 0, 0}, false) {
		t.Error("short Interface-Identifier Nak accepted")
	}
	if !c.nakci(ifaceOpt(idA[:]...), true) || c.req || len(c.addci(nil)) != 0 {
		t.Error("Max-Failure Nak did not drop the option")
	}
	c.resetci()
	if !c.rejci(ifaceOpt(c.ourID[:]...)) || c.req {
		t.Error("Reject did not drop the option")
	}
}

// ipv6Side adds IPV6CP to a test engine config, reporting Up and Down on channels.
func ipv6Side(cfg Config, mode IPv6Mode) (Config, chan IPv6Params, chan struct{}) {
	up, down := make(chan IPv6Params, 4), make(chan struct{}, 4)
	cfg.IPv6.Mode = mode
	cfg.IPv6.Up = func(p IPv6Params) { up <- p }
	cfg.IPv6.Down = func() { down <- struct{}{} }
	return cfg, up, down
}

func TestEngineIPV6CP(t *testing.T) {
	for _, tc := range []struct {
		name         string
		client, srv  IPv6Mode
		wantIPv6     bool
		wantProtoRej bool
	}{
		{"passive client, active server (pppd +ipv6)", IPv6Passive, IPv6Active, true, false},
		{"active client, passive server", IPv6Active, IPv6Passive, true, false},
		{"both active, same identifiers configured", IPv6Active, IPv6Active, true, false},
		{"noipv6 client", IPv6Off, IPv6Active, false, true},
		{"both passive: nobody opens", IPv6Passive, IPv6Passive, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ccfg, cup, cdown := ipv6Side(clientConfig(), tc.client)
				scfg, sup, sdown := ipv6Side(serverConfig(), tc.srv)
				if strings.Contains(tc.name, "same identifiers") {
					ccfg.IPv6.LocalID, scfg.IPv6.LocalID = idA, idA
					scfg.IPv6.AcceptLocal = true
				}
				c, s := pair(t, ccfg, scfg)
				if !waitUp(t, c, s) {
					t.Fatalf("link failed: %v %v", c.err, s.err)
				}
				time.Sleep(30 * time.Second)
				synctest.Wait()
				var cp, sp IPv6Params
				select {
				case cp = <-cup:
				default:
				}
				select {
				case sp = <-sup:
				default:
				}
				if got := !cp.LocalID.IsZero(); got != tc.wantIPv6 {
					t.Fatalf("client IPv6 up = %v", got)
				}
				if tc.wantIPv6 {
					if cp.LocalID != sp.PeerID || cp.PeerID != sp.LocalID || cp.LocalID == cp.PeerID || cp.PeerID.IsZero() {
						t.Fatalf("client %+v, server %+v", cp, sp)
					}
					if strings.Contains(tc.name, "same identifiers") && cp.LocalID != idA {
						t.Errorf("client identifier %v: the server should have given way", cp.LocalID)
					}
				}
				// A request the peer already answers is not resent as CCP opens: the
				// duplicate would make the open peer renegotiate.
				for _, sd := range []*side{c, s} {
					seen := map[uint8]bool{}
					for _, p := range sd.out.find(ProtoIPV6CP, CodeConfigureRequest) {
						if seen[p.ID()] {
							t.Errorf("IPV6CP Configure-Request id %d sent twice", p.ID())
						}
						seen[p.ID()] = true
					}
				}
				if got := len(s.out.find(ProtoLCP, CodeProtocolReject)) + len(c.out.find(ProtoLCP, CodeProtocolReject)); (got > 0) != tc.wantProtoRej {
					t.Errorf("%d Protocol-Rejects", got)
				}
				if c.e.ipcp.state != stOpened || s.e.ipcp.state != stOpened {
					t.Fatalf("IPCP %v/%v", c.e.ipcp.state, s.e.ipcp.state)
				}
				if tc.wantIPv6 {
					// A malformed IPV6CP packet is dropped; a bad option in a fresh
					// request is rejected; neither disturbs IPv4 or the open IPv6.
					downs6 := len(cdown)
					c.e.Input(appendFrame(nil, ProtoIPV6CP, []byte{1, 9, 0, 200, 1, 10}))
					synctest.Wait()
					if c.e.ipv6cp.state != stOpened || c.downs != 0 || len(cdown) != downs6 {
						t.Fatalf("malformed IPV6CP: state %v, downs %d/%d", c.e.ipv6cp.state, c.downs, len(cdown))
					}
					if !logHas(c, "<ifaceid "+cp.LocalID.String()+">") {
						t.Errorf("debug log does not name the identifier")
					}
				}
				shutdown(t, c, s)
				if tc.wantIPv6 && (len(cdown) != len(cup)+1 || len(sdown) != len(sup)+1) {
					t.Errorf("IPv6 Down calls: client %d, server %d, for %d and %d Up", len(cdown), len(sdown), len(cup)+1, len(sup)+1)
				}
			})
		})
	}
}

func logHas(s *side, sub string) bool {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	for _, l := range s.logs {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

// FuzzIPV6CPCodec feeds arbitrary options to every entry point of the codec: nothing may
// panic, our identifier is never zero, and an acked peer identifier is never zero nor ours.
func FuzzIPV6CPCodec(f *testing.F) {
	f.Add(ifaceOpt(idB[:]...), ifaceOpt(idA[:]...), false)
	f.Add(ifaceOpt(0, 0, 0, 0, 0, 0, 0, 0), []byte{1, 10, 0, 0}, true)
	f.Add(append(ifaceOpt(idB[:]...), 2, 4, 0, 0x4f), []byte{2, 4, 0, 0x4f}, false)
	f.Add([]byte{1, 1, 1}, []byte{1, 0}, true)
	f.Fuzz(func(t *testing.T, req, reply []byte, accept bool) {
		cfg := Config{IPv6: IPv6Config{Mode: IPv6Active, LocalID: idA, AcceptLocal: accept}}
		c := newIPV6CP(&cfg, &stubParent{})
		c.resetci()
		for i := range 3 {
			code, _ := reqci(c, req, i == 2)
			if code == CodeConfigureAck && (!c.peerID.IsZero() && c.peerID == c.ourID) {
				t.Fatalf("acked the peer's copy of our identifier %v", c.ourID)
			}
			if code == CodeConfigureAck && bytes.Contains(req, []byte{1, 10, 0, 0, 0, 0, 0, 0, 0, 0}) && len(req) == 10 {
				t.Fatal("acked a zero identifier")
			}
			c.nakci(reply, i == 2)
			c.rejci(reply)
			if c.ourID.IsZero() {
				t.Fatal("our identifier became zero")
			}
			_ = describePacket(ProtoIPV6CP, appendPacket(nil, CodeConfigureNak, 1, reply))
		}
	})
}

// TestEngineGrantedIPv6PeerID: an identifier the verifier grants (RADIUS
// Framed-Interface-Id) is what the server suggests, and a client with a random one takes
// it; without a grant the client keeps its own.
func TestEngineGrantedIPv6PeerID(t *testing.T) {
	granted := InterfaceID{0, 0, 0, 0, 0, 0, 0x12, 0x34}
	for _, grant := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			ccfg, cup, _ := ipv6Side(clientConfig(), IPv6Passive)
			scfg, sup, _ := ipv6Side(serverConfig(), IPv6Active)
			scfg.Require = auth.MethodSet(0).Add(auth.PAP)
			scfg.Verify = func(r *auth.VerifyRequest) *auth.Verdict {
				v := &auth.Verdict{OK: string(r.Password) == testPassword, Grant: &auth.Grant{}}
				if grant {
					v.Grant.IPv6PeerID = granted
				}
				return v
			}
			c, s := pair(t, ccfg, scfg)
			if !waitUp(t, c, s) {
				t.Fatalf("link failed: %v %v", c.err, s.err)
			}
			time.Sleep(10 * time.Second)
			synctest.Wait()
			if len(cup) == 0 || len(sup) == 0 {
				t.Fatal("IPV6CP did not open")
			}
			cp, sp := <-cup, <-sup
			if (cp.LocalID == granted) != grant || sp.PeerID != cp.LocalID {
				t.Errorf("grant %v: client's identifier %v, server's view %v", grant, cp.LocalID, sp.PeerID)
			}
			shutdown(t, c, s)
		})
	}
}

// TestEngineIPV6CPRenegotiation: a duplicate of the client's Configure-Request reaching the
// open server makes it renegotiate (RFC 1661: RCR in Opened); the client, open too, judges
// the server's fresh request and must keep that identifier through its own new request,
// not forget it (resetci ran twice: once before reqci, again in scr).
func TestEngineIPV6CPRenegotiation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ccfg, cup, _ := ipv6Side(clientConfig(), IPv6Passive)
		scfg, sup, _ := ipv6Side(serverConfig(), IPv6Active)
		c, s := pair(t, ccfg, scfg)
		if !waitUp(t, c, s) {
			t.Fatalf("link failed: %v %v", c.err, s.err)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		reqs := c.out.find(ProtoIPV6CP, CodeConfigureRequest)
		if len(cup) != 1 || len(sup) != 1 || len(reqs) == 0 {
			t.Fatalf("IPV6CP: %d and %d Up, %d client requests", len(cup), len(sup), len(reqs))
		}
		<-cup
		<-sup
		s.e.Input(appendFrame(nil, ProtoIPV6CP, reqs[len(reqs)-1]))
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if len(cup) != 1 || len(sup) != 1 {
			t.Fatalf("after the duplicate: %d and %d Up, want one each", len(cup), len(sup))
		}
		cp, sp := <-cup, <-sup
		if cp.PeerID != sp.LocalID || cp.LocalID != sp.PeerID || cp.PeerID.IsZero() {
			t.Errorf("after renegotiating: client %+v, server %+v", cp, sp)
		}
		if logHas(c, "could not determine") {
			t.Error("the client forgot the server's identifier")
		}
		shutdown(t, c, s)
	})
}
