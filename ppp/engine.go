// SPDX-License-Identifier: MIT

package ppp

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pptp-go/pptp/ppp/auth"
)

// Lower is the link below the engine.
type Lower interface {
	// SendFrame transmits one control frame (FF 03, 2-byte protocol, information). Called only
	// from the engine goroutine; the frame may be reused after it returns.
	SendFrame(frame []byte) error
}

// inputQueue bounds frames waiting for the engine; control traffic is tiny and
// retransmitted, so a full queue drops rather than stalling the data path.
const inputQueue = 128

// Engine runs one PPP link. Create it with NewEngine, run Run in its own goroutine.
type Engine struct {
	cfg   Config
	lower Lower

	in      chan []byte
	resetCh chan struct{}
	closeCh chan struct{}
	closeMu sync.Once
	// closeReason is written before closeCh is closed and read only after it was: the
	// channel orders the two.
	closeReason string
	traffic     atomic.Bool // data frames arrived since the last echo tick
	resetsSent  atomic.Uint64

	lcp, ipcp, ccp *fsm
	lcpc           *lcp
	ipcpc          *ipcp
	ccpc           *ccp

	phase    phase
	closing  bool  // we are terminating the link (Close, failure)
	finished bool  // LCP is done: Run returns
	err      error // why the link died (first reason wins)
	pending  string

	authMethod   auth.Method
	authEx       auth.Exchange
	authDeadline time.Time
	authDone     bool
	authUser     string
	keys         *auth.KeyMaterial
	// preAuthDeadline is Config.AuthTimeout from the start: zero once the network phase was
	// reached. lcpRestarts counts LCP going down again before that.
	preAuthDeadline time.Time
	lcpRestarts     int
	authenticated   bool
	startKeys       *auth.StartKeys // MPPE keys given by the verifier (RADIUS), used instead of deriving

	ccpUsed     bool
	ipcpStarted bool // IPCP opened (after CCP settled, when CCP runs)
	ccpErr      error
	upCalled    bool
	// Before Up a client sends an Echo-Request, and Up waits for its reply: pppd answers
	// only after its ip-pre-up script has run and its interface is configured, and its
	// kernel drops data that arrives earlier (the first ping after link-up, measured against
	// Debian's pppd). Other peers answer at once.
	readyOK       bool      // the probe was answered, or readyWait passed
	readyID       uint8     // the probe's Identifier
	readyDeadline time.Time // non-zero while the probe waits for its reply
	echoDeadline  time.Time
	echoPending   int // keepalive Echo-Requests unanswered in a row
	lastReset     time.Time
	resetDue      time.Time // a rate-limited Reset-Request is sent then
	resetAckDue   time.Time // the last Reset-Request is repeated then unless acknowledged
	resetID       uint8
	resetTries    int
	peerTerm      string // reason text of the peer's last Terminate-Request

	// authRand, if set, feeds the MS-CHAP challenges (tests replaying captures, fuzzing).
	authRand io.Reader
	// magic, if set, replaces the random source of LCP magic numbers (fuzzing).
	magic func() uint32

	scratch []byte
	txBuf   []byte
}

// NewEngine returns an engine for one link; nothing happens until Run.
func NewEngine(cfg Config, lower Lower) *Engine {
	if cfg.MRU == 0 {
		cfg.MRU = defaultMRU
	}
	if cfg.Restart <= 0 {
		cfg.Restart = defaultRestart
	}
	if cfg.AuthTimeout == 0 {
		cfg.AuthTimeout = defaultAuthTimeout
	}
	e := &Engine{
		cfg:     cfg,
		lower:   lower,
		in:      make(chan []byte, inputQueue),
		resetCh: make(chan struct{}, 1),
		closeCh: make(chan struct{}),
		scratch: make([]byte, 0, 256),
		txBuf:   make([]byte, 0, 1600),
	}
	e.lcpc = newLCP(&e.cfg, e)
	e.ipcpc = newIPCP(&e.cfg, e)
	e.ccpc = newCCP(&e.cfg, e)
	e.lcp = newFSM("LCP", ProtoLCP, e.lcpc, e)
	e.ipcp = newFSM("IPCP", ProtoIPCP, e.ipcpc, e)
	e.ccp = newFSM("CCP", ProtoCCP, e.ccpc, e)
	for _, f := range []*fsm{e.lcp, e.ipcp, e.ccp} {
		f.restartTime = cfg.Restart
	}
	return e
}

// Input hands the engine one received PPP frame (with or without FF 03, 1- or 2-byte
// protocol). Safe for concurrent use; the engine owns frame afterwards. Frames are dropped
// if the engine is not keeping up or has finished.
func (e *Engine) Input(frame []byte) {
	select {
	case e.in <- frame:
	default:
	}
}

// NoteTraffic tells the engine that data frames arrived from the peer; they count as
// liveness for the LCP echo keepalive, so a busy link is never declared dead because echo
// replies are stuck behind data. Safe for concurrent use and cheap enough to call per
// received batch (one atomic store, no allocation).
func (e *Engine) NoteTraffic() { e.traffic.Store(true) }

// SendResetRequest asks for a CCP Reset-Request (our stateful MPPE receiver lost sync); call
// it for every packet dropped out of sync. Safe for concurrent use and allocation-free.
// Requests are coalesced: none while one waits for its Reset-Ack (that one is repeated
// every 500 ms, 5 times at most), and at most one every 100 ms. So a receiver still
// dropping after the Ack, whose answer was lost, gets a new request.
func (e *Engine) SendResetRequest() {
	select {
	case e.resetCh <- struct{}{}:
	default:
	}
}

// ResetRequestsSent counts the CCP Reset-Requests sent, repetitions included.
func (e *Engine) ResetRequestsSent() uint64 { return e.resetsSent.Load() }

// Close starts a graceful LCP termination; Run returns nil once the peer acknowledged it or
// after the Max-Terminate retransmissions (about 2 s). Safe to call more than once.
func (e *Engine) Close() { e.CloseWithReason("User request") }

// CloseWithReason is Close with the text the Terminate-Request carries (pppd's "User request"
// for Close). Only the first Close or CloseWithReason counts.
func (e *Engine) CloseWithReason(reason string) {
	e.closeMu.Do(func() {
		e.closeReason = reason
		close(e.closeCh)
	})
}

// Run drives the link until it ends: nil after Close, else why the link died. When ctx is
// cancelled it sends one Terminate-Request and returns ctx.Err() at once.
func (e *Engine) Run(ctx context.Context) error {
	e.start()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	closeCh := e.closeCh
	for {
		e.settle()
		if e.finished {
			e.setPhase(phaseDead)
			if e.upCalled {
				e.upCalled = false
				if e.cfg.Down != nil {
					e.cfg.Down()
				}
			}
			return e.err
		}
		if d, ok := e.nextDeadline(); ok {
			timer.Reset(max(0, time.Until(d)))
		} else {
			timer.Stop()
		}
		select {
		case f := <-e.in:
			e.input(f)
		case <-e.resetCh:
			e.resetRequest()
		case <-closeCh:
			closeCh = nil
			e.logf("closing the link on request")
			e.terminate(e.closeReason)
		case <-ctx.Done():
			if e.lcp.state == stOpened || e.lcp.state.negotiating() {
				e.lcp.id++
				e.sendPacket(ProtoLCP, CodeTerminateRequest, e.lcp.id, []byte("User request"))
			}
			if e.upCalled && e.cfg.Down != nil {
				e.cfg.Down()
			}
			return ctx.Err()
		case <-timer.C:
			e.fireTimers()
		}
	}
}

// start begins LCP negotiation: the PPTP call below us is already up.
func (e *Engine) start() {
	if e.cfg.AuthTimeout > 0 {
		e.preAuthDeadline = e.now().Add(e.cfg.AuthTimeout)
	}
	e.setPhase(phaseEstablish)
	e.lcp.open()
	e.lcp.lowerUp()
}

// settle applies deferred failures (so codecs never re-enter the automaton) and notices a
// close that needs no termination exchange.
func (e *Engine) settle() {
	if e.pending != "" && !e.closing {
		reason := e.pending
		e.pending = ""
		e.terminate(reason)
	}
	if e.closing && !e.finished {
		switch e.lcp.state {
		case stInitial, stStarting, stClosed, stStopped:
			e.finished = true
		}
	}
}

func (e *Engine) terminate(reason string) {
	if e.closing {
		return
	}
	e.closing = true
	e.setPhase(phaseTerminate)
	e.lcp.close(reason)
}

// fail records why the link dies and schedules its termination with reason as the
// Terminate-Request text ("" = "Link failure").
func (e *Engine) fail(err error, reason string) {
	if e.err == nil {
		e.err = withKind(ErrNegotiation, err) // unless it already says auth, echo or terminate
		e.logf("%v", err)
	}
	if reason == "" {
		reason = "Link failure"
	}
	if e.pending == "" {
		e.pending = reason
	}
}

func (e *Engine) nextDeadline() (time.Time, bool) {
	var d time.Time
	for _, t := range [...]time.Time{e.lcp.deadline, e.ipcp.deadline, e.ccp.deadline, e.authDeadline, e.preAuthDeadline, e.readyDeadline, e.echoDeadline, e.resetDue, e.resetAckDue} {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	return d, !d.IsZero()
}

func (e *Engine) fireTimers() {
	now := e.now()
	for _, f := range []*fsm{e.lcp, e.ipcp, e.ccp} {
		if !f.deadline.IsZero() && !now.Before(f.deadline) {
			f.timeout()
		}
	}
	if !e.authDeadline.IsZero() && !now.Before(e.authDeadline) {
		e.authTimeout()
	}
	if !e.preAuthDeadline.IsZero() && !now.Before(e.preAuthDeadline) {
		e.preAuthDeadline = time.Time{}
		if !e.authenticated && !e.closing {
			e.fail(withKind(ErrAuthFailed, fmt.Errorf("authentication not done within %v of the link's start", e.cfg.AuthTimeout)), "Authentication timeout")
		}
	}
	if !e.readyDeadline.IsZero() && !now.Before(e.readyDeadline) {
		e.debugf("no Echo-Reply from the %s in %v: network layer up without it", e.cfg.peerRole(), readyWait)
		e.peerReady()
	}
	if !e.echoDeadline.IsZero() && !now.Before(e.echoDeadline) {
		e.echoTimeout()
	}
	if !e.resetDue.IsZero() && !now.Before(e.resetDue) {
		e.resetDue = time.Time{}
		e.resetRequest()
	}
	if !e.resetAckDue.IsZero() && !now.Before(e.resetAckDue) {
		e.resetAckDue = time.Time{}
		if e.resetTries < maxResetRetries {
			e.resetTries++
			e.sendReset()
		}
	}
}

func (e *Engine) now() time.Time { return time.Now() }

func (e *Engine) randUint32() uint32 {
	if e.magic != nil {
		return e.magic()
	}
	for {
		if v := rand.Uint32(); v != 0 {
			return v
		}
	}
}

func (e *Engine) peerMRU() uint16 {
	if e.lcpc.his.neg.mru {
		return e.lcpc.his.mru
	}
	return pppMRU
}

func (e *Engine) setPhase(p phase) {
	if e.phase != p {
		e.debugf("phase %v -> %v", e.phase, p)
		e.phase = p
	}
}

func (e *Engine) logf(format string, args ...any) {
	if e.cfg.Logf != nil {
		e.cfg.Logf(format, args...)
	}
}

func (e *Engine) debugf(format string, args ...any) {
	if e.cfg.Debug && e.cfg.Logf != nil {
		e.cfg.Logf(format, args...)
	}
}

// sendPacket sends a control packet of proto.
func (e *Engine) sendPacket(proto uint16, code, id uint8, data []byte) {
	b := append(e.txBuf[:0], FrameAddress, FrameControl, uint8(proto>>8), uint8(proto))
	b = appendPacket(b, code, id, data)
	e.sendFrame(b)
}

func (e *Engine) sendFrame(b []byte) {
	e.txBuf = b[:0]
	if e.cfg.Debug {
		proto, info, _ := ParseFrame(b)
		e.debugf("sent %s", describePacket(proto, info))
	}
	if err := e.lower.SendFrame(b); err != nil {
		e.debugf("send failed: %v", err)
	}
}

// input dispatches one received frame.
func (e *Engine) input(frame []byte) {
	// Any frame from the peer proves it is alive.
	e.echoPending = 0
	proto, info, err := ParseFrame(frame)
	if err != nil {
		e.debugf("dropped frame: %v", err)
		return
	}
	if e.cfg.Debug {
		e.debugf("rcvd %s", describePacket(proto, info))
	}
	switch proto {
	case ProtoLCP:
		if p, err := ParsePacket(info); err == nil && p.Code() == CodeTerminateRequest && !e.closing && e.closeRequested() {
			// Both ends closing at once: ours counts, the link ends without error.
			e.terminate(e.closeReason)
		}
		if p, err := ParsePacket(info); err == nil && p.Code() == CodeTerminateRequest {
			e.peerTerm = printable(p.Data())
			if e.lcp.state == stOpened && !e.closing {
				e.err = cmpErr(e.err, withKind(ErrPeerTerminated, fmt.Errorf("peer terminated the link: %s", e.peerTerm)))
				e.logf("peer terminated the link: %s", e.peerTerm)
			}
		}
		wasOpen := e.lcp.state == stOpened
		e.lcp.input(info)
		if p, err := ParsePacket(info); err == nil && p.Code() == CodeTerminateRequest && !wasOpen && !e.closing {
			// The peer gave up during negotiation (pppd does after an auth or option
			// failure). It has already acked nothing further from us: end here
			// rather than knocking on a closed door for Max-Configure timeouts.
			e.err = cmpErr(e.err, withKind(ErrPeerTerminated, fmt.Errorf("peer terminated the link: %s", e.peerTerm)))
			e.logf("peer terminated the link: %s", e.peerTerm)
			e.closing = true
			e.setPhase(phaseTerminate)
			e.lcp.lowerDown()
			e.finished = true
			return
		}
		if e.lcp.state == stStopping && !e.closing {
			// The peer ended the link; nothing to wait for beyond the RFC's grace period.
			e.closing = true
			e.setPhase(phaseTerminate)
		}
	case ProtoPAP, ProtoCHAP:
		if e.authEx == nil || proto != e.authMethod.Protocol() {
			e.debugf("dropped %s packet outside authentication", protoName(proto))
			return
		}
		reply, res := e.authEx.Input(info)
		if reply != nil {
			e.sendPacketRaw(proto, reply)
		}
		// Only a packet the exchange acted on restarts its timer: one it ignored (a stale
		// Identifier, an unknown code) must not keep the exchange alive forever.
		if !e.authDone && (reply != nil || res != nil) {
			e.authDeadline = e.now().Add(e.cfg.Restart)
		}
		if res != nil && !e.authDone {
			e.authFinished(res)
		}
	case ProtoIPCP:
		if e.phase != phaseNetwork {
			e.debugf("dropped IPCP packet before the network phase")
			return
		}
		e.ipcp.input(info)
	case ProtoCCP:
		if e.phase != phaseNetwork {
			e.debugf("dropped CCP packet before the network phase")
			return
		}
		if !e.ccpUsed {
			e.protocolReject(proto, info)
			return
		}
		e.ccp.input(info)
	case ProtoIPv4, ProtoCompressed, ProtoIPv6:
		// Data that reached the control path (the data path owns these): ignore.
	default:
		e.protocolReject(proto, info)
	}
}

func (e *Engine) closeRequested() bool {
	select {
	case <-e.closeCh:
		return true
	default:
		return false
	}
}

func cmpErr(old, new error) error {
	if old != nil {
		return old
	}
	return new
}

// protocolReject sends an LCP Protocol-Reject, but only while LCP is Opened (RFC 1661 §5.7).
func (e *Engine) protocolReject(proto uint16, info []byte) {
	if e.lcp.state != stOpened {
		e.debugf("dropped %s frame while LCP is not open", protoName(proto))
		return
	}
	e.logf("rejecting unsupported protocol %s", protoName(proto))
	max := int(e.peerMRU()) - pktHeaderLen - 2
	if len(info) > max {
		info = info[:max]
	}
	data := append(e.scratch[:0], uint8(proto>>8), uint8(proto))
	data = append(data, info...)
	e.lcp.id++
	e.sendPacket(ProtoLCP, CodeProtocolReject, e.lcp.id, data)
}

// protocolRejected handles the peer's Protocol-Reject of one of our protocols.
func (e *Engine) protocolRejected(proto uint16) {
	e.logf("%s rejected protocol %s", e.cfg.peerRole(), protoName(proto))
	switch proto {
	case ProtoIPCP:
		e.ipcp.protReject()
	case ProtoCCP:
		if e.ccpUsed {
			e.ccpErr = fmt.Errorf("encryption negotiation failed: %s rejected CCP (no MPPE support)", e.cfg.peerRole())
			e.ccp.protReject()
		}
	case ProtoLCP:
		e.fail(inLayer(ErrLCP, fmt.Errorf("%s rejected LCP", e.cfg.peerRole())), "")
	}
}

// sendPacketRaw sends an already built control packet (authentication exchanges).
func (e *Engine) sendPacketRaw(proto uint16, pkt []byte) {
	e.sendFrame(appendFrame(e.txBuf[:0], proto, pkt))
}
