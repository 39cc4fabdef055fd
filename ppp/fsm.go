// SPDX-License-Identifier: MIT

package ppp

import (
	"fmt"
	"time"
)

// state is an RFC 1661 §4.2 automaton state.
type state uint8

const (
	stInitial state = iota
	stStarting
	stClosed
	stStopped
	stClosing
	stStopping
	stReqSent
	stAckRcvd
	stAckSent
	stOpened
	numStates
)

var stateNames = [numStates]string{"Initial", "Starting", "Closed", "Stopped", "Closing",
	"Stopping", "Req-Sent", "Ack-Rcvd", "Ack-Sent", "Opened"}

func (s state) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// event is an RFC 1661 §4.3 event.
type event uint8

const (
	evUp event = iota
	evDown
	evOpen
	evClose
	evTOPlus
	evTOMinus
	evRCRPlus
	evRCRMinus
	evRCA
	evRCN
	evRTR
	evRTA
	evRUC
	evRXJPlus
	evRXJMinus
	evRXR
	numEvents
)

var eventNames = [numEvents]string{"Up", "Down", "Open", "Close", "TO+", "TO-", "RCR+", "RCR-",
	"RCA", "RCN", "RTR", "RTA", "RUC", "RXJ+", "RXJ-", "RXR"}

func (e event) String() string {
	if e < numEvents {
		return eventNames[e]
	}
	return fmt.Sprintf("event(%d)", uint8(e))
}

// action is an RFC 1661 §4.4 action.
type action uint8

const (
	acNone action = iota
	acTLU         // this-layer-up
	acTLD         // this-layer-down
	acTLS         // this-layer-started
	acTLF         // this-layer-finished
	acIRC         // initialize-restart-count
	acZRC         // zero-restart-count
	acSCR         // send-configure-request
	acSCA         // send-configure-ack
	acSCN         // send-configure-nak/rej
	acSTR         // send-terminate-request
	acSTA         // send-terminate-ack
	acSCJ         // send-code-reject
	acSER         // send-echo-reply
	numActions
)

var actionNames = [numActions]string{"", "tlu", "tld", "tls", "tlf", "irc", "zrc", "scr", "sca",
	"scn", "str", "sta", "scj", "ser"}

func (a action) String() string {
	if a < numActions {
		return actionNames[a]
	}
	return fmt.Sprintf("action(%d)", uint8(a))
}

// transition is one cell of the RFC 1661 §4.1 table: the actions in order and the next state.
// valid is false for the cells the RFC marks "-" (the event cannot happen in that state;
// we log and ignore it).
type transition struct {
	acts  [4]action // acNone-terminated
	next  state
	valid bool
}

func tr(next state, acts ...action) transition {
	t := transition{next: next, valid: true}
	copy(t.acts[:], acts)
	return t
}

var none = transition{}

// fsmTable is RFC 1661 §4.1 written out as data: fsmTable[event][state]. The 'r' (restart)
// and 'p' (passive) options are not used; 'x' (crossed connection) needs no action.
var fsmTable = [numEvents][numStates]transition{
	//            Initial                Starting                       Closed                         Stopped                                Closing                  Stopping                 Req-Sent                       Ack-Rcvd                       Ack-Sent                       Opened
	evUp:       {tr(stClosed), tr(stReqSent, acIRC, acSCR), none, none, none, none, none, none, none, none},
	evDown:     {none, none, tr(stInitial), tr(stStarting, acTLS), tr(stInitial), tr(stStarting), tr(stStarting), tr(stStarting), tr(stStarting), tr(stStarting, acTLD)},
	evOpen:     {tr(stStarting, acTLS), tr(stStarting), tr(stReqSent, acIRC, acSCR), tr(stStopped), tr(stStopping), tr(stStopping), tr(stReqSent), tr(stAckRcvd), tr(stAckSent), tr(stOpened)},
	evClose:    {tr(stInitial), tr(stInitial, acTLF), tr(stClosed), tr(stClosed), tr(stClosing), tr(stClosing), tr(stClosing, acIRC, acSTR), tr(stClosing, acIRC, acSTR), tr(stClosing, acIRC, acSTR), tr(stClosing, acTLD, acIRC, acSTR)},
	evTOPlus:   {none, none, none, none, tr(stClosing, acSTR), tr(stStopping, acSTR), tr(stReqSent, acSCR), tr(stReqSent, acSCR), tr(stAckSent, acSCR), none},
	evTOMinus:  {none, none, none, none, tr(stClosed, acTLF), tr(stStopped, acTLF), tr(stStopped, acTLF), tr(stStopped, acTLF), tr(stStopped, acTLF), none},
	evRCRPlus:  {none, none, tr(stClosed, acSTA), tr(stAckSent, acIRC, acSCR, acSCA), tr(stClosing), tr(stStopping), tr(stAckSent, acSCA), tr(stOpened, acSCA, acTLU), tr(stAckSent, acSCA), tr(stAckSent, acTLD, acSCR, acSCA)},
	evRCRMinus: {none, none, tr(stClosed, acSTA), tr(stReqSent, acIRC, acSCR, acSCN), tr(stClosing), tr(stStopping), tr(stReqSent, acSCN), tr(stAckRcvd, acSCN), tr(stReqSent, acSCN), tr(stReqSent, acTLD, acSCR, acSCN)},
	evRCA:      {none, none, tr(stClosed, acSTA), tr(stStopped, acSTA), tr(stClosing), tr(stStopping), tr(stAckRcvd, acIRC), tr(stReqSent, acSCR), tr(stOpened, acIRC, acTLU), tr(stReqSent, acTLD, acSCR)},
	evRCN:      {none, none, tr(stClosed, acSTA), tr(stStopped, acSTA), tr(stClosing), tr(stStopping), tr(stReqSent, acIRC, acSCR), tr(stReqSent, acSCR), tr(stAckSent, acIRC, acSCR), tr(stReqSent, acTLD, acSCR)},
	evRTR:      {none, none, tr(stClosed, acSTA), tr(stStopped, acSTA), tr(stClosing, acSTA), tr(stStopping, acSTA), tr(stReqSent, acSTA), tr(stReqSent, acSTA), tr(stReqSent, acSTA), tr(stStopping, acTLD, acZRC, acSTA)},
	evRTA:      {none, none, tr(stClosed), tr(stStopped), tr(stClosed, acTLF), tr(stStopped, acTLF), tr(stReqSent), tr(stReqSent), tr(stAckSent), tr(stReqSent, acTLD, acSCR)},
	evRUC:      {none, none, tr(stClosed, acSCJ), tr(stStopped, acSCJ), tr(stClosing, acSCJ), tr(stStopping, acSCJ), tr(stReqSent, acSCJ), tr(stAckRcvd, acSCJ), tr(stAckSent, acSCJ), tr(stOpened, acSCJ)},
	evRXJPlus:  {none, none, tr(stClosed), tr(stStopped), tr(stClosing), tr(stStopping), tr(stReqSent), tr(stReqSent), tr(stAckSent), tr(stOpened)},
	evRXJMinus: {none, none, tr(stClosed, acTLF), tr(stStopped, acTLF), tr(stClosed, acTLF), tr(stStopped, acTLF), tr(stStopped, acTLF), tr(stStopped, acTLF), tr(stStopped, acTLF), tr(stStopping, acTLD, acIRC, acSTR)},
	evRXR:      {none, none, tr(stClosed), tr(stStopped), tr(stClosing), tr(stStopping), tr(stReqSent), tr(stAckRcvd), tr(stAckSent), tr(stOpened, acSER)},
}

// Default automaton parameters (RFC 1661 §4.6).
const (
	defaultRestart      = 3 * time.Second
	defaultMaxConfigure = 10
	defaultMaxTerminate = 2
	defaultMaxFailure   = 5
)

// codec is what a control protocol plugs into the automaton: its option handling and its
// layer signals, in the spirit of pppd's fsm_callbacks.
type codec interface {
	// resetci starts a fresh negotiation of our options (we were not negotiating).
	resetci()
	// addci appends our Configure-Request options to b.
	addci(b []byte) []byte
	// ackci sees a Configure-Ack that repeats our request; false = discard it.
	ackci(opts []byte) bool
	// nakci applies a Configure-Nak to our next request; treatAsReject is set once
	// Max-Failure Naks arrived in a row. false = malformed, discard it.
	nakci(opts []byte, treatAsReject bool) bool
	// rejci removes rejected options from our next request; false = malformed.
	rejci(opts []byte) bool
	// reqci judges the peer's Configure-Request: every option of r.Options gets
	// r.Ack, r.Nak or r.Reject. The automaton then picks the reply.
	reqci(r *confReply)
	// up, down, starting and finished are tlu, tld, tls and tlf.
	up()
	down()
	starting()
	finished()
	// extcode handles protocol-specific codes (Echo, Reset-Request, …); false = unknown
	// code, answered with Code-Reject.
	extcode(code, id uint8, data []byte) bool
	// rxr handles an Echo-Request, Echo-Reply or Discard-Request in the Opened state.
	rxr(code, id uint8, data []byte)
}

// parent is the layer a codec serves, as FreeBSD ppp's fsm_parent: the codec's layer
// signals go up through it, and so do failures and the few packets a codec sends outside
// the automaton. A codec knows nothing else of the Engine (besides its Config, read
// only), so a test can drive one with a stub. proto names the codec's protocol.
type parent interface {
	// layerUp, layerDown and layerFinished carry tlu, tld and tlf (RFC 1661 §4.4).
	layerUp(proto uint16)
	layerDown(proto uint16)
	layerFinished(proto uint16)
	// fail ends the link: err says why, reason is the Terminate-Request text ("" = "Link
	// failure"). It takes effect after the current packet, so the automaton is never
	// re-entered from a codec.
	fail(err error, reason string)
	// sendPacket sends a control packet the automaton does not (Echo, Reset-Ack).
	sendPacket(proto uint16, code, id uint8, data []byte)
	logf(format string, args ...any)
	debugf(format string, args ...any)
}

// lcpParent is what LCP hands up besides the automaton's signals.
type lcpParent interface {
	parent
	randUint32() uint32            // a fresh non-zero Magic-Number
	echoReply(id uint8)            // an Echo-Reply came back (keepalive, readiness probe)
	protocolRejected(proto uint16) // the peer's Protocol-Reject, LCP Opened
}

// ccpParent is what CCP hands up: the Reset exchange of RFC 1962 §2.1, and MPPE failures,
// which end the link only when MPPE is required.
type ccpParent interface {
	parent
	txReset()             // the peer's Reset-Request: reset our encrypter before the Ack
	resetAck(id uint8)    // the peer acknowledged our Reset-Request id
	mppeFailed(err error) // MPPE cannot be agreed
}

// rxrCoder is implemented by codecs that have RXR events (LCP: Echo-Request, Echo-Reply,
// Discard-Request).
type rxrCoder interface{ isRXR(code uint8) bool }

// fsm is one RFC 1661 automaton instance (LCP, IPCP or CCP).
type fsm struct {
	name  string
	proto uint16
	cb    codec
	e     *Engine // sends, logs and owns the timer deadline

	state     state
	id        uint8 // last Identifier we used
	reqID     uint8 // Identifier of our outstanding Configure-Request
	seenAck   bool  // a reply to reqID was already processed
	restart   int   // restart counter
	nakLoops  int   // Configure-Naks sent in a row
	rnakLoops int   // Configure-Naks received in a row

	// peerNotReady: our request drew a Terminate-Ack, so the peer's side was not open;
	// its first Configure-Request then triggers an immediate resend of ours.
	peerNotReady bool

	restartTime  time.Duration
	maxConfigure int
	maxTerminate int
	maxFailure   int
	deadline     time.Time // restart timer; zero = stopped
	timerPending bool      // an action asked for the timer during this transition

	// the packet behind the current event, for sca/scn/sta/scj/ser
	rxID    uint8
	rxCode  uint8
	rxData  []byte
	rxPkt   []byte
	rx      confReply // verdicts on the peer's last Configure-Request
	reply   []byte    // options of our Ack/Nak/Reject
	replyCd uint8
	scrRetx bool   // the pending scr is a retransmission (TO+): keep the Identifier
	ciFresh bool   // rcvConfReq already ran resetci for the scr its event brings
	heard   bool   // any packet of this protocol since lower-up (a Terminate-Ack: peerNotReady)
	lastReq []byte // options of our outstanding Configure-Request
	// noIRC: the Nak/Reject being handled changed nothing in our request, so its irc is
	// skipped (else a peer Naking options we never asked for keeps the counter full).
	noIRC   bool
	nextReq []byte

	termReason string // reason text for our Terminate-Request

	// trace, if set, sees every executed action (tests).
	trace func(a action)
}

func newFSM(name string, proto uint16, cb codec, e *Engine) *fsm {
	return &fsm{
		name: name, proto: proto, cb: cb, e: e,
		restartTime:  defaultRestart,
		maxConfigure: defaultMaxConfigure,
		maxTerminate: defaultMaxTerminate,
		maxFailure:   defaultMaxFailure,
	}
}

// negotiating reports whether the state runs the restart timer for Configure-Requests.
func (s state) negotiating() bool { return s == stReqSent || s == stAckRcvd || s == stAckSent }

// timed reports whether the restart timer runs in the state (RFC 1661 §4.6).
func (s state) timed() bool { return s.negotiating() || s == stClosing || s == stStopping }

// handle runs one event through the table.
func (f *fsm) handle(ev event) {
	t := fsmTable[ev][f.state]
	if !t.valid {
		f.e.debugf("%s: unexpected event %v in state %v", f.name, ev, f.state)
		return
	}
	from := f.state
	// The state changes first so that layer signals (tlu above all) see where we land,
	// as pppd does before calling its up callback.
	f.state = t.next
	for _, a := range t.acts {
		if a == acNone {
			break
		}
		if f.trace != nil {
			f.trace(a)
		}
		f.do(a, from, t)
	}
	switch {
	case !f.state.timed():
		f.deadline = time.Time{}
	case f.timerPending:
		d := f.restartTime
		if f.state == stClosing || f.state == stStopping {
			// Terminating: do not keep a Close waiting three seconds per retry.
			d = min(d, time.Second)
		}
		f.deadline = f.e.now().Add(d)
	}
	f.timerPending = false
	if from != t.next {
		f.e.debugf("%s: %v %v -> %v", f.name, ev, from, t.next)
	}
}

func (f *fsm) do(a action, from state, t transition) {
	switch a {
	case acTLU:
		f.cb.up()
	case acTLD:
		f.cb.down()
	case acTLS:
		f.cb.starting()
	case acTLF:
		f.cb.finished()
	case acIRC:
		if f.noIRC {
			break
		}
		f.restart = f.maxConfigure
		for _, b := range t.acts {
			if b == acSTR {
				f.restart = f.maxTerminate
			}
		}
	case acZRC:
		f.restart = 0
		f.startTimer()
	case acSCR:
		f.sendConfReq(from)
	case acSCA:
		f.send(CodeConfigureAck, f.rxID, f.reply)
	case acSCN:
		f.send(f.replyCd, f.rxID, f.reply)
		if f.replyCd == CodeConfigureNak {
			f.nakLoops++
		}
	case acSTR:
		f.id++
		f.send(CodeTerminateRequest, f.id, []byte(f.termReason))
		f.restart--
		f.startTimer()
	case acSTA:
		f.send(CodeTerminateAck, f.rxID, nil)
	case acSCJ:
		pkt := f.rxPkt
		if max := int(f.e.peerMRU()) - pktHeaderLen; len(pkt) > max {
			pkt = pkt[:max]
		}
		f.id++
		f.send(CodeCodeReject, f.id, pkt)
	case acSER:
		f.cb.rxr(f.rxCode, f.rxID, f.rxData)
	}
}

// startTimer (re)starts the restart timer once the transition is complete, so the
// interval can depend on the state we land in.
func (f *fsm) startTimer() { f.timerPending = true }

func (f *fsm) sendConfReq(from state) {
	if !from.negotiating() {
		if !f.ciFresh {
			f.cb.resetci()
		}
		f.nakLoops, f.rnakLoops = 0, 0
	}
	if !f.scrRetx {
		f.id++
		f.reqID = f.id
	}
	f.seenAck = false
	f.lastReq = f.cb.addci(f.lastReq[:0])
	f.send(CodeConfigureRequest, f.reqID, f.lastReq)
	f.restart--
	f.startTimer()
}

func (f *fsm) send(code, id uint8, data []byte) {
	f.e.sendPacket(f.proto, code, id, data)
}

// Administrative and lower-layer events.

func (f *fsm) lowerUp() {
	f.heard = false
	f.handle(evUp)
}
func (f *fsm) lowerDown() { f.handle(evDown) }
func (f *fsm) open()      { f.handle(evOpen) }

func (f *fsm) close(reason string) {
	f.termReason = reason
	f.handle(evClose)
}

// timeout is called when the restart timer expires.
func (f *fsm) timeout() {
	f.deadline = time.Time{}
	if !f.state.timed() {
		return
	}
	if f.restart > 0 {
		if f.state.negotiating() {
			f.e.debugf("%s: timeout, resending Configure-Request", f.name)
		}
		f.scrRetx = true
		f.handle(evTOPlus)
		f.scrRetx = false
		return
	}
	if f.state.negotiating() {
		f.e.logf("%s: timeout sending Config-Requests", f.name)
	}
	f.handle(evTOMinus)
}

// retransmit resends an unacknowledged Configure-Request now, as the restart timer would,
// unless the peer has been talking this protocol: it did not drop our request then, and a
// duplicate would make an open peer renegotiate.
func (f *fsm) retransmit() {
	if f.state == stReqSent && !f.heard { // in Ack-Sent it has: we acked its request
		f.timeout()
	}
}

// protReject is a Protocol-Reject of our protocol by the peer: RXJ-.
func (f *fsm) protReject() { f.handle(evRXJMinus) }

// input handles one control packet of this protocol.
func (f *fsm) input(b []byte) {
	p, err := ParsePacket(b)
	if err != nil {
		f.e.debugf("%s: dropped malformed packet: %v", f.name, err)
		return
	}
	if f.state == stInitial || f.state == stStarting {
		f.e.debugf("%s: packet in state %v dropped", f.name, f.state)
		return
	}
	f.heard = true
	f.rxID, f.rxCode, f.rxData, f.rxPkt = p.ID(), p.Code(), p.Data(), p
	data := p.Data()
	switch p.Code() {
	case CodeConfigureRequest:
		f.rcvConfReq(data)
	case CodeConfigureAck:
		if p.ID() != f.reqID || f.seenAck {
			f.e.debugf("%s: stale Configure-Ack id=%#x dropped", f.name, p.ID())
			return
		}
		// A Configure-Ack must repeat our request exactly (RFC 1661 §5.2).
		if string(data) != string(f.lastReq) || !f.cb.ackci(data) {
			f.e.logf("%s: received bad Configure-Ack", f.name)
			return
		}
		f.seenAck = true
		f.rnakLoops = 0
		f.handle(evRCA)
	case CodeConfigureNak, CodeConfigureReject:
		if p.ID() != f.reqID || f.seenAck || !validOptions(data) {
			f.e.debugf("%s: stale or bad Configure-Nak/Reject id=%#x dropped", f.name, p.ID())
			return
		}
		var ok bool
		if p.Code() == CodeConfigureNak {
			f.rnakLoops++
			ok = f.cb.nakci(data, f.rnakLoops >= f.maxFailure)
		} else {
			ok = f.cb.rejci(data)
		}
		if !ok {
			f.e.logf("%s: received bad %s", f.name, codeNames[p.Code()])
			return
		}
		f.seenAck = true
		f.nextReq = f.cb.addci(f.nextReq[:0])
		if string(f.nextReq) == string(f.lastReq) {
			if f.restart <= 0 && f.state.negotiating() {
				// Out of tries and the peer still makes no progress: as a timeout would.
				f.handle(evTOMinus)
				return
			}
			f.noIRC = true
		}
		f.handle(evRCN)
		f.noIRC = false
	case CodeTerminateRequest:
		f.handle(evRTR)
	case CodeTerminateAck:
		if f.state == stReqSent || f.state == stAckSent {
			// The peer answered our request with Terminate-Ack: its side is not open yet
			// (pppd's IPCP waits for CCP when it requires MPPE).
			f.peerNotReady = true
		}
		f.handle(evRTA)
	case CodeCodeReject:
		if len(data) < 1 {
			return
		}
		// Rejecting a code the automaton needs is fatal (RFC 1661 §5.6).
		if data[0] >= CodeConfigureRequest && data[0] <= CodeCodeReject {
			f.e.logf("%s: peer rejected code %d", f.name, data[0])
			f.handle(evRXJMinus)
		} else {
			f.handle(evRXJPlus)
		}
	default:
		if r, ok := f.cb.(rxrCoder); ok && r.isRXR(p.Code()) {
			f.handle(evRXR)
			return
		}
		if f.cb.extcode(p.Code(), p.ID(), data) {
			return
		}
		f.handle(evRUC)
	}
}

func (f *fsm) rcvConfReq(opts []byte) {
	switch f.state {
	case stClosed, stClosing, stStopping:
		// Answered (or ignored) without judging the options.
		f.handle(evRCRPlus)
		return
	case stStopped, stOpened:
		// scr will follow: start our side afresh before judging theirs, once (a second
		// resetci in scr would undo what reqci learned of the peer).
		f.cb.resetci()
		f.ciFresh = true
		defer func() { f.ciFresh = false }()
	}
	f.rx.begin(opts, f.nakLoops >= f.maxFailure)
	f.cb.reqci(&f.rx)
	f.replyCd, f.reply = f.rx.code(), f.rx.data()
	if f.replyCd == CodeConfigureAck {
		f.nakLoops = 0
		f.handle(evRCRPlus)
	} else {
		f.handle(evRCRMinus)
	}
	if f.peerNotReady && (f.state == stReqSent || f.state == stAckSent) {
		// Its first Configure-Request says the peer is open now: send ours again at once
		// instead of waiting out the restart timer (a TO+ with the counter it already has).
		f.peerNotReady = false
		f.handle(evTOPlus)
	}
}
