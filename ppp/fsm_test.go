// SPDX-License-Identifier: MIT

package ppp

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// rfc1661Table is RFC 1661 §4.1 as printed in the RFC, transcribed independently of
// fsmTable so that a typo in one shows up as a mismatch with the other.
const rfc1661Table = `
      | State
      |    0         1         2         3         4         5
Events| Initial   Starting  Closed    Stopped   Closing   Stopping
------+-----------------------------------------------------------
 Up   |    2     irc,scr/6     -         -         -         -
 Down |    -         -         0       tls/1       0         1
 Open |  tls/1       1     irc,scr/6     3r        5r        5r
 Close|    0       tlf/0       2         2         4         4
      |
  TO+ |    -         -         -         -       str/4     str/5
  TO- |    -         -         -         -       tlf/2     tlf/3
      |
 RCR+ |    -         -       sta/2 irc,scr,sca/8   4         5
 RCR- |    -         -       sta/2 irc,scr,scn/6   4         5
 RCA  |    -         -       sta/2     sta/3       4         5
 RCN  |    -         -       sta/2     sta/3       4         5
      |
 RTR  |    -         -       sta/2     sta/3     sta/4     sta/5
 RTA  |    -         -         2         3       tlf/2     tlf/3
      |
 RUC  |    -         -       scj/2     scj/3     scj/4     scj/5
 RXJ+ |    -         -         2         3         4         5
 RXJ- |    -         -       tlf/2     tlf/3     tlf/2     tlf/3
      |
 RXR  |    -         -         2         3         4         5

      | State
      |    6         7         8           9
Events| Req-Sent  Ack-Rcvd  Ack-Sent    Opened
------+-----------------------------------------
 Up   |    -         -         -           -
 Down |    1         1         1         tld/1
 Open |    6         7         8           9r
 Close|irc,str/4 irc,str/4 irc,str/4 tld,irc,str/4
      |
  TO+ |  scr/6     scr/6     scr/8         -
  TO- |  tlf/3p    tlf/3p    tlf/3p        -
      |
 RCR+ |  sca/8   sca,tlu/9   sca/8   tld,scr,sca/8
 RCR- |  scn/6     scn/7     scn/6   tld,scr,scn/6
 RCA  |  irc/7     scr/6x  irc,tlu/9   tld,scr/6x
 RCN  |irc,scr/6   scr/6x  irc,scr/8   tld,scr/6x
      |
 RTR  |  sta/6     sta/6     sta/6   tld,zrc,sta/5
 RTA  |    6         6         8       tld,scr/6
      |
 RUC  |  scj/6     scj/7     scj/8       scj/9
 RXJ+ |    6         6         8           9
 RXJ- |  tlf/3     tlf/3     tlf/3   tld,irc,str/5
      |
 RXR  |    6         7         8         ser/9
`

type rfcCell struct {
	valid bool
	acts  []string
	next  state
}

// parseRFCTable turns the printed table into [event][state] cells. It fails the test on
// anything it does not understand, so it cannot silently skip cells.
func parseRFCTable(t testing.TB) (cells [numEvents][numStates]rfcCell) {
	t.Helper()
	evByName := map[string]event{}
	for e := range numEvents {
		evByName[e.String()] = e
	}
	seen := 0
	var cols []state
	for _, line := range strings.Split(rfc1661Table, "\n") {
		head, body, ok := strings.Cut(line, "|")
		if !ok {
			continue
		}
		head = strings.TrimSpace(head)
		fields := strings.Fields(body)
		if head == "" && len(fields) > 0 && fields[0] != "State" {
			cols = cols[:0]
			for _, f := range fields {
				var s int
				if _, err := fmt.Sscanf(f, "%d", &s); err != nil {
					t.Fatalf("bad column header %q", f)
				}
				cols = append(cols, state(s))
			}
			continue
		}
		ev, ok := evByName[head]
		if !ok {
			continue
		}
		if len(fields) != len(cols) {
			t.Fatalf("row %q: %d cells for %d columns", head, len(fields), len(cols))
		}
		for i, f := range fields {
			c := rfcCell{}
			if f != "-" {
				c.valid = true
				acts, next, hasActs := strings.Cut(f, "/")
				if !hasActs {
					next, acts = acts, ""
				}
				next = strings.TrimRight(next, "rpx")
				var n int
				if _, err := fmt.Sscanf(next, "%d", &n); err != nil || n < 0 || n >= int(numStates) {
					t.Fatalf("bad cell %q", f)
				}
				c.next = state(n)
				if acts != "" {
					c.acts = strings.Split(acts, ",")
				}
			}
			cells[ev][cols[i]] = c
			seen++
		}
	}
	if seen != int(numEvents)*int(numStates) {
		t.Fatalf("parsed %d cells, want %d", seen, int(numEvents)*int(numStates))
	}
	return cells
}

// recCodec is a codec that records the layer signals and lets the test decide reqci.
type recCodec struct {
	signals []string
	ack     bool // reqci verdict
}

func (c *recCodec) resetci()                          {}
func (c *recCodec) addci(b []byte) []byte             { return append(b, 99, 2) }
func (c *recCodec) ackci([]byte) bool                 { return true }
func (c *recCodec) nakci([]byte, bool) bool           { return true }
func (c *recCodec) rejci([]byte) bool                 { return true }
func (c *recCodec) up()                               { c.signals = append(c.signals, "tlu") }
func (c *recCodec) down()                             { c.signals = append(c.signals, "tld") }
func (c *recCodec) starting()                         { c.signals = append(c.signals, "tls") }
func (c *recCodec) finished()                         { c.signals = append(c.signals, "tlf") }
func (c *recCodec) extcode(uint8, uint8, []byte) bool { return false }
func (c *recCodec) isRXR(code uint8) bool             { return code == CodeEchoRequest }
func (c *recCodec) rxr(code, id uint8, data []byte) {
	c.signals = append(c.signals, "ser")
}
func (c *recCodec) reqci(r *confReply) {
	for o := range r.Options() {
		if c.ack {
			r.Ack(o)
		} else {
			r.Nak(o, o.Data())
		}
	}
}

// recLower records sent frames.
type recLower struct{ frames [][]byte }

func (l *recLower) SendFrame(b []byte) error {
	l.frames = append(l.frames, slices.Clone(b))
	return nil
}

func (l *recLower) codes() []uint8 {
	var c []uint8
	for _, f := range l.frames {
		_, info, _ := ParseFrame(f)
		c = append(c, info[0])
	}
	return c
}

func newTestFSM() (*fsm, *recCodec, *recLower) {
	low := &recLower{}
	e := NewEngine(Config{}, low)
	c := &recCodec{}
	f := newFSM("TEST", 0x8021, c, e)
	return f, c, low
}

// fire delivers ev to f the way the engine would: timer expiry for TO±, a real packet for
// the receive events, a method call otherwise.
func fire(f *fsm, c *recCodec, ev event) {
	pkt := func(code, id uint8, data ...byte) {
		f.input(appendPacket(nil, code, id, data))
	}
	switch ev {
	case evUp:
		f.lowerUp()
	case evDown:
		f.lowerDown()
	case evOpen:
		f.open()
	case evClose:
		f.close("test")
	case evTOPlus, evTOMinus:
		if f.state.timed() {
			f.timeout()
		} else {
			f.handle(ev) // the RFC's "-" cells: no timer runs there
		}
	case evRCRPlus, evRCRMinus:
		c.ack = ev == evRCRPlus
		pkt(CodeConfigureRequest, 0x42, 1, 2)
	case evRCA:
		f.seenAck = false
		pkt(CodeConfigureAck, f.reqID, f.lastReq...)
	case evRCN:
		f.seenAck = false
		pkt(CodeConfigureNak, f.reqID, f.lastReq...)
	case evRTR:
		pkt(CodeTerminateRequest, 0x43)
	case evRTA:
		pkt(CodeTerminateAck, f.id)
	case evRUC:
		pkt(0x77, 0x44)
	case evRXJPlus:
		pkt(CodeCodeReject, 0x45, 0x77, 0x44, 0, 4)
	case evRXJMinus:
		pkt(CodeCodeReject, 0x45, CodeTerminateRequest, 1, 0, 4)
	case evRXR:
		pkt(CodeEchoRequest, 0x46, 0, 0, 0, 0)
	}
}

// TestFSMTableEveryCell drives every (state, event) pair through the automaton by its real
// entry points and checks the actions taken — via what was signalled and sent — and the
// next state against the RFC's printed table.
func TestFSMTableEveryCell(t *testing.T) {
	rfc := parseRFCTable(t)
	for s := range numStates {
		for ev := range numEvents {
			t.Run(fmt.Sprintf("%v/%v", s, ev), func(t *testing.T) {
				want := rfc[ev][s]
				f, c, low := newTestFSM()
				f.state = s
				f.restart = 3
				if ev == evTOMinus {
					f.restart = 0
				}
				if s.timed() {
					f.deadline = f.e.now()
				}
				var got []string
				f.trace = func(a action) { got = append(got, a.String()) }
				fire(f, c, ev)
				if !want.valid {
					if len(got) != 0 || f.state != s || len(low.frames) != 0 {
						t.Fatalf("'-' cell: acts %v, state %v, sent %v", got, f.state, low.codes())
					}
					return
				}
				if !slices.Equal(got, want.acts) {
					t.Errorf("actions %v, RFC says %v", got, want.acts)
				}
				if f.state != want.next {
					t.Errorf("next state %v, RFC says %v", f.state, want.next)
				}
				// The actions must have had their effect on the wire and on the layer above.
				var wantCodes []uint8
				var wantSignals []string
				for _, a := range want.acts {
					switch a {
					case "scr":
						wantCodes = append(wantCodes, CodeConfigureRequest)
					case "sca":
						wantCodes = append(wantCodes, CodeConfigureAck)
					case "scn":
						wantCodes = append(wantCodes, CodeConfigureNak)
					case "str":
						wantCodes = append(wantCodes, CodeTerminateRequest)
					case "sta":
						wantCodes = append(wantCodes, CodeTerminateAck)
					case "scj":
						wantCodes = append(wantCodes, CodeCodeReject)
					case "tlu", "tld", "tls", "tlf", "ser":
						wantSignals = append(wantSignals, a)
					}
				}
				if got := low.codes(); !slices.Equal(got, wantCodes) {
					t.Errorf("sent codes %v, want %v", got, wantCodes)
				}
				if !slices.Equal(c.signals, wantSignals) {
					t.Errorf("signals %v, want %v", c.signals, wantSignals)
				}
				if f.state.timed() != !f.deadline.IsZero() {
					t.Errorf("state %v with timer deadline %v", f.state, f.deadline)
				}
				for i, fr := range low.frames {
					_, info, _ := ParseFrame(fr)
					p := Packet(info)
					switch p.Code() {
					case CodeConfigureAck, CodeConfigureNak:
						if p.ID() != 0x42 {
							t.Errorf("frame %d: reply id %#x, want the request's 0x42", i, p.ID())
						}
					case CodeTerminateAck:
						if ev == evRTR && p.ID() != 0x43 {
							t.Errorf("Terminate-Ack id %#x, want 0x43", p.ID())
						}
					}
				}
			})
		}
	}
}

// TestFSMTableMatchesRFC compares the data table itself with the transcription, so the
// rapid test below may use either as the oracle.
func TestFSMTableMatchesRFC(t *testing.T) {
	rfc := parseRFCTable(t)
	for ev := range numEvents {
		for s := range numStates {
			tt, want := fsmTable[ev][s], rfc[ev][s]
			var acts []string
			for _, a := range tt.acts {
				if a != acNone {
					acts = append(acts, a.String())
				}
			}
			if tt.valid != want.valid || tt.valid && (tt.next != want.next || !slices.Equal(acts, want.acts)) {
				t.Errorf("%v in %v: table %v/%v, RFC %v/%v", ev, s, acts, tt.next, want.acts, want.next)
			}
		}
	}
}

func TestFSMRestartCounterAndIDs(t *testing.T) {
	f, _, low := newTestFSM()
	f.open()
	f.lowerUp()
	if f.state != stReqSent || len(low.frames) != 1 {
		t.Fatalf("state %v, %d frames", f.state, len(low.frames))
	}
	firstID := Packet(low.frames[0][4:]).ID()
	// Max-Configure requests in all, then TO- → tlf, Stopped.
	for i := 1; i < defaultMaxConfigure; i++ {
		f.timeout()
		if id := Packet(low.frames[i][4:]).ID(); id != firstID {
			t.Fatalf("retransmission %d changed id %#x → %#x", i, firstID, id)
		}
	}
	if len(low.frames) != defaultMaxConfigure || f.state != stReqSent {
		t.Fatalf("%d requests, state %v", len(low.frames), f.state)
	}
	f.timeout()
	if f.state != stStopped || len(low.frames) != defaultMaxConfigure {
		t.Fatalf("after Max-Configure: state %v, %d frames", f.state, len(low.frames))
	}
	// A reply with a stale id is ignored.
	f2, _, _ := newTestFSM()
	f2.open()
	f2.lowerUp()
	f2.input(appendPacket(nil, CodeConfigureAck, f2.reqID+1, f2.lastReq))
	if f2.state != stReqSent {
		t.Fatalf("stale Configure-Ack moved the state to %v", f2.state)
	}
	f2.input(appendPacket(nil, CodeConfigureAck, f2.reqID, f2.lastReq))
	if f2.state != stAckRcvd {
		t.Fatalf("matching Configure-Ack: state %v", f2.state)
	}
	// The same Ack again (duplicate) is ignored.
	f2.input(appendPacket(nil, CodeConfigureAck, f2.reqID, f2.lastReq))
	if f2.state != stAckRcvd {
		t.Fatalf("duplicate Configure-Ack: state %v", f2.state)
	}
	// An Ack that does not repeat our options is bogus.
	f3, _, _ := newTestFSM()
	f3.open()
	f3.lowerUp()
	f3.input(appendPacket(nil, CodeConfigureAck, f3.reqID, []byte{1, 2}))
	if f3.state != stReqSent {
		t.Fatalf("bogus Configure-Ack accepted: state %v", f3.state)
	}
}

func TestFSMMaxFailureRejects(t *testing.T) {
	f, c, low := newTestFSM()
	f.open()
	f.lowerUp()
	var reject bool
	var calls int
	f.cb = &rejectSpy{recCodec: c, seen: func(r bool) { reject = r; calls++ }}
	for i := 0; i < defaultMaxFailure+1; i++ {
		f.input(appendPacket(nil, CodeConfigureRequest, uint8(i), []byte{1, 2}))
	}
	if calls != defaultMaxFailure+1 || !reject {
		t.Fatalf("after %d Naks reqci was not told to reject (calls %d)", defaultMaxFailure, calls)
	}
	_ = low
}

type rejectSpy struct {
	*recCodec
	seen func(bool)
}

func (r *rejectSpy) reqci(cr *confReply) {
	r.seen(cr.rejectNaks)
	for o := range cr.Options() {
		cr.Nak(o, o.Data())
	}
}

// TestFSMRapid runs random event sequences and checks them against the RFC transcription
// plus invariants the table implies: tlu/tld alternate and bracket the Opened state, the
// restart timer runs exactly in the timed states, the counter never goes negative.
func TestFSMRapid(t *testing.T) {
	rfc := parseRFCTable(t)
	rapid.Check(t, func(rt *rapid.T) {
		f, c, _ := newTestFSM()
		ups := 0
		for range rapid.IntRange(1, 60).Draw(rt, "steps") {
			ev := event(rapid.IntRange(0, int(numEvents)-1).Draw(rt, "event"))
			if ev == evTOPlus || ev == evTOMinus {
				// Timer events come only from a running timer, with the counter deciding ±.
				if !f.state.timed() {
					continue
				}
				if f.restart > 0 {
					ev = evTOPlus
				} else {
					ev = evTOMinus
				}
			}
			from := f.state
			c.signals = c.signals[:0]
			fire(f, c, ev)
			want := rfc[ev][from]
			if want.valid && f.state != want.next || !want.valid && f.state != from {
				rt.Fatalf("%v in %v → %v, RFC %+v", ev, from, f.state, want)
			}
			for _, s := range c.signals {
				switch s {
				case "tlu":
					ups++
				case "tld":
					ups--
				}
			}
			if ups < 0 || ups > 1 {
				rt.Fatalf("tlu/tld unbalanced: %d", ups)
			}
			if (ups == 1) != (f.state == stOpened) {
				rt.Fatalf("state %v with layer up=%d", f.state, ups)
			}
			if f.state.timed() == f.deadline.IsZero() {
				rt.Fatalf("state %v, timer deadline %v", f.state, f.deadline)
			}
			if f.restart < 0 {
				rt.Fatalf("restart counter %d", f.restart)
			}
		}
	})
}
