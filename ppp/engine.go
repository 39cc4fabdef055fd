// SPDX-License-Identifier: MIT

package ppp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pptp-go/pptp/mppe"
	"github.com/pptp-go/pptp/ppp/auth"
)

// Lower is the link below the engine.
type Lower interface {
	// SendFrame transmits one control frame (FF 03, 2-byte protocol, information). Called only
	// from the engine goroutine; the frame may be reused after it returns.
	SendFrame(frame []byte) error
}

// MPPEPolicy is what we allow and require of MPPE (pppd's require-mppe*, mppe-stateful).
type MPPEPolicy struct {
	Require           bool // link fails unless MPPE is negotiated (require-mppe*)
	Allow40, Allow128 bool
	Stateless         bool // allow stateless (default true)
	Stateful          bool // allow stateful (mppe-stateful); Stateful && !Stateless = ask for stateful alone
}

// Config configures an Engine. The zero value of a field means the pppd default.
type Config struct {
	Server       bool
	MRU, MTU     uint16        // our MRU (default 1400), cap on the MTU we use
	EchoInterval time.Duration // lcp-echo-interval; 0 = no keepalive
	EchoFailure  int           // lcp-echo-failure; 0 = never declare the peer dead
	User         string        // client
	Password     string        // client; never logged
	// Refuse lists methods the client refuses; Require lists the methods the server
	// accepts. Preference order is MS-CHAPv2, MS-CHAPv1, CHAP-MD5, PAP.
	Refuse, Require auth.MethodSet
	Name            string                           // our name (CHAP challenge name on the server)
	Secret          func(user string) (string, bool) // server: password of a user
	MPPE            MPPEPolicy
	// LocalIP is our address (server: required; client: requested if set). PeerIP is the
	// address the server assigns. DNS are the servers the server hands out (ms-dns).
	LocalIP, PeerIP netip.Addr
	DNS             []netip.Addr
	UsePeerDNS      bool // client: ask for DNS servers (RFC 1877)
	// Up is called once the network layer is usable: IPCP Opened and, when MPPE is
	// required or negotiated, CCP Opened. Down is called when it stops being usable.
	// TxReset is called for a CCP Reset-Request from the peer (reset our encrypter).
	// All three run on the engine goroutine and must not block.
	Up      func(LinkParams)
	Down    func()
	TxReset func()
	Logf    func(format string, args ...any) // nil = silent
	// Debug adds one log line per control packet and state change (pppd "debug"). Packets
	// of the authentication protocols are logged by code only; secrets never are.
	Debug bool
	// Restart is the restart timer (default 3 s); tests and lossy links may change it.
	Restart time.Duration
}

// LinkParams is what the data path needs once the link is up.
type LinkParams struct {
	Local, Peer netip.Addr
	DNS         []netip.Addr
	MTU         int
	TxACFC      bool        // the peer accepts frames without FF 03
	TxPFC       bool        // the peer accepts 1-byte protocol fields
	MPPE        *MPPEParams // nil = no encryption
	AuthUser    string      // client: the name we used; server: the name the client proved
}

// MPPEParams are the negotiated MPPE parameters and start keys (key material: never log).
type MPPEParams struct {
	Bits             int // 40 or 128
	Stateless        bool
	SendKey, RecvKey [16]byte
}

// phase is the RFC 1661 §3.2 link phase.
type phase uint8

const (
	phaseDead phase = iota
	phaseEstablish
	phaseAuthenticate
	phaseNetwork
	phaseTerminate
)

var phaseNames = [...]string{"Dead", "Establish", "Authenticate", "Network", "Terminate"}

func (p phase) String() string { return phaseNames[p] }

// inputQueue bounds frames waiting for the engine; control traffic is tiny and
// retransmitted, so a full queue drops rather than stalling the data path.
const inputQueue = 128

// minResetInterval rate-limits CCP Reset-Requests; a request inside the interval is sent at
// its end, not dropped: the stateful MPPE receiver asks once per loss and then waits.
const minResetInterval = 100 * time.Millisecond

// resetRetry is how long a Reset-Request waits for its Reset-Ack before it is sent again
// (pppd: 1 s), at most maxResetRetries times: a lost request would leave the receiver
// discarding until the next flag packet, which a stalled TCP may never send.
const (
	resetRetry      = 500 * time.Millisecond
	maxResetRetries = 5
)

// readyWait bounds the wait for the Echo-Reply that shows the peer ready for data
// (Engine.maybeUp); with a peer that does not answer echoes the link comes up after it.
const readyWait = time.Second

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
	for _, t := range [...]time.Time{e.lcp.deadline, e.ipcp.deadline, e.ccp.deadline, e.authDeadline, e.readyDeadline, e.echoDeadline, e.resetDue, e.resetAckDue} {
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

// peerRole names the other end in logs and errors.
func (c *Config) peerRole() string {
	if c.Server {
		return "client"
	}
	return "server"
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
		if !e.authDone {
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
		e.fail(fmt.Errorf("%s rejected LCP", e.cfg.peerRole()), "")
	}
}

// sendPacketRaw sends an already built control packet (authentication exchanges).
func (e *Engine) sendPacketRaw(proto uint16, pkt []byte) {
	e.sendFrame(appendFrame(e.txBuf[:0], proto, pkt))
}

// The Engine is every codec's parent: it routes their signals to the phase logic.
var (
	_ lcpParent = (*Engine)(nil)
	_ ccpParent = (*Engine)(nil)
)

func (e *Engine) layerUp(proto uint16) {
	switch proto {
	case ProtoLCP:
		e.lcpUp()
	case ProtoIPCP:
		e.ipcpUp()
	case ProtoCCP:
		e.ccpUp()
	}
}

func (e *Engine) layerDown(proto uint16) {
	switch proto {
	case ProtoLCP:
		e.lcpDown()
	case ProtoIPCP, ProtoCCP:
		e.ncpDown()
	}
}

func (e *Engine) layerFinished(proto uint16) {
	switch proto {
	case ProtoLCP:
		e.lcpFinished()
	case ProtoIPCP:
		e.ipcpFinished()
	case ProtoCCP:
		e.ccpFinished()
	}
}

// LCP layer signals.

func (e *Engine) lcpUp() {
	m := e.negotiatedAuth()
	authText := "no authentication"
	if m != auth.None {
		authText = "authentication " + m.String()
	}
	e.logf("LCP opened: our MRU %d, peer MRU %d, %s", e.cfg.MRU, e.peerMRU(), authText)
	if e.cfg.EchoInterval > 0 {
		e.echoPending = 0
		e.echoDeadline = e.now().Add(e.cfg.EchoInterval)
	}
	e.authMethod = m
	if m == auth.None {
		if e.cfg.Server && e.cfg.Require != 0 {
			e.fail(fmt.Errorf("authentication negotiation failed: client did not agree to %s", e.cfg.Require), "Authentication required")
			return
		}
		e.networkPhase()
		return
	}
	e.setPhase(phaseAuthenticate)
	if e.cfg.Server {
		e.authEx = auth.NewAuthenticator(m, e.cfg.Name, e.cfg.Secret, e.authRand)
	} else {
		if e.authRand != nil {
			e.authEx = auth.NewPeerWithRand(m, e.cfg.User, e.cfg.Password, e.authRand)
		} else {
			e.authEx = auth.NewPeer(m, e.cfg.User, e.cfg.Password)
		}
	}
	if e.authEx == nil {
		e.fail(fmt.Errorf("authentication method %s is not available", m), "")
		return
	}
	e.authDone = false
	if pkt := e.authEx.Start(); pkt != nil {
		e.sendPacketRaw(m.Protocol(), pkt)
	}
	e.authDeadline = e.now().Add(e.cfg.Restart)
}

func (e *Engine) negotiatedAuth() auth.Method {
	if e.cfg.Server {
		if e.lcpc.got.neg.auth {
			return e.lcpc.got.authMethod
		}
		return auth.None
	}
	if e.lcpc.his.neg.auth {
		return e.lcpc.his.authMethod
	}
	return auth.None
}

func (e *Engine) lcpDown() {
	// Leave the network phase first: the NCPs' tlf below must not read as NCP failures.
	if e.closing {
		e.setPhase(phaseTerminate)
	} else {
		e.setPhase(phaseEstablish)
	}
	e.echoDeadline = time.Time{}
	e.authDeadline = time.Time{}
	e.authEx = nil
	e.authDone = false
	e.keys = nil
	for _, f := range []*fsm{e.ipcp, e.ccp} {
		if f.state != stInitial {
			f.lowerDown()
			f.handle(evClose)
		}
	}
}

func (e *Engine) lcpFinished() {
	e.finished = true
	if e.closing {
		return
	}
	switch {
	case e.peerTerm != "":
		e.err = cmpErr(e.err, withKind(ErrPeerTerminated, fmt.Errorf("peer terminated the link: %s", e.peerTerm)))
	default:
		e.err = cmpErr(e.err, withKind(ErrNegotiation, fmt.Errorf("LCP negotiation failed: no agreement with the %s after %d Configure-Requests", e.cfg.peerRole(), e.lcp.maxConfigure)))
	}
}

// Authentication.

func (e *Engine) authTimeout() {
	e.authDeadline = time.Time{}
	if e.authEx == nil || e.authDone {
		return
	}
	resend, res := e.authEx.Timeout()
	if resend != nil {
		e.sendPacketRaw(e.authMethod.Protocol(), resend)
	}
	if res != nil {
		e.authFinished(res)
		return
	}
	e.authDeadline = e.now().Add(e.cfg.Restart)
}

func (e *Engine) authFinished(res *auth.Result) {
	e.authDone = true
	e.authDeadline = time.Time{}
	if res.Err != nil {
		var err error
		reason := "Authentication failed"
		if e.cfg.Server {
			err = withKind(ErrAuthFailed, fmt.Errorf("authentication failed: client %q (%s): %w", res.User, e.authMethod, res.Err))
		} else {
			err = withKind(ErrAuthFailed, fmt.Errorf("authentication failed (%s): %w", e.authMethod, res.Err))
			reason = "Failed to authenticate ourselves to peer" // pppd's words
		}
		e.fail(err, reason)
		return
	}
	e.authUser = res.User
	e.keys = res.Keys
	if e.cfg.Server {
		e.logf("%s: client %q authenticated", e.authMethod, res.User)
	} else {
		e.logf("%s: authenticated as %q", e.authMethod, res.User)
	}
	e.networkPhase()
}

// Network phase.

func (e *Engine) mppeAllowed() bool { return e.cfg.MPPE.Allow40 || e.cfg.MPPE.Allow128 }

func (e *Engine) networkPhase() {
	e.setPhase(phaseNetwork)
	e.ccpUsed = false
	e.ccpErr = nil
	if e.mppeAllowed() {
		if e.keys != nil && (e.authMethod == auth.MSCHAPv1 || e.authMethod == auth.MSCHAPv2) {
			e.ccpUsed = true
		} else if e.cfg.MPPE.Require {
			e.fail(fmt.Errorf("encryption negotiation failed: MPPE is required but %s authentication yields no MPPE keys (use MS-CHAP)", e.authMethod), "MPPE required")
			return
		}
	} else if e.cfg.MPPE.Require {
		e.fail(errors.New("encryption negotiation failed: MPPE is required but neither 40- nor 128-bit is allowed"), "MPPE required")
		return
	}
	e.ipcpStarted = false
	if e.ccpUsed {
		e.ccp.open()
		e.ccp.lowerUp()
		if e.cfg.MPPE.Require {
			// Like pppd, IPCP waits for CCP when encryption is required.
			return
		}
	}
	e.startIPCP()
}

// startIPCP opens IPCP once (after CCP settled, when CCP runs).
func (e *Engine) startIPCP() {
	if e.ipcpStarted || e.closing || e.phase != phaseNetwork {
		return
	}
	e.ipcpStarted = true
	e.ipcp.open()
	e.ipcp.lowerUp()
}

func (e *Engine) ipcpUp() {
	c := e.ipcpc
	if !c.reqAddr || !c.addr.IsValid() || c.addr == zeroIP {
		if !e.cfg.LocalIP.Is4() {
			e.fail(fmt.Errorf("IPCP: could not determine our IP address (the %s did not assign one)", e.cfg.peerRole()), "No IP address")
			return
		}
	}
	e.maybeUp()
}

func (e *Engine) ccpUp() {
	if _, _, err := e.ccpc.params(); err != nil && e.cfg.MPPE.Require {
		e.fail(err, "MPPE required but peer negotiation failed")
		return
	}
	if e.ipcpStarted {
		// A peer that requires MPPE (pppd, pptpd) drops IPCP until its CCP is up, so our
		// request sent beside CCP's is likely lost: resend it now, not after the
		// restart timer (3 s).
		e.ipcp.retransmit()
	}
	e.startIPCP()
	e.maybeUp()
}

// mppeFailed is the CCP codec's verdict that MPPE cannot be agreed.
func (e *Engine) mppeFailed(err error) {
	e.ccpErr = cmpErr(e.ccpErr, err)
	if e.cfg.MPPE.Require {
		e.fail(err, "MPPE required but peer negotiation failed")
	}
}

func (e *Engine) ccpFinished() {
	if e.closing || e.phase != phaseNetwork {
		return
	}
	if e.cfg.MPPE.Require {
		err := e.ccpErr
		if err == nil {
			err = fmt.Errorf("encryption negotiation failed: CCP did not open (the %s did not answer)", e.cfg.peerRole())
		}
		e.fail(err, "MPPE required but peer negotiation failed")
		return
	}
	e.logf("CCP: no encryption negotiated, continuing without MPPE")
	e.startIPCP()
	e.maybeUp()
}

func (e *Engine) ipcpFinished() {
	if e.closing || e.phase != phaseNetwork {
		return
	}
	e.fail(fmt.Errorf("IPCP negotiation failed: no agreement with the %s", e.cfg.peerRole()), "No network protocols running")
}

// ncpDown is tld of IPCP or CCP: the network layer is no longer usable.
func (e *Engine) ncpDown() {
	e.readyOK, e.readyDeadline = false, time.Time{}
	if e.upCalled {
		e.upCalled = false
		e.logf("network layer down")
		if e.cfg.Down != nil {
			e.cfg.Down()
		}
	}
}

// maybeUp calls Up once IPCP is Opened and CCP is Opened or settled without MPPE.
func (e *Engine) maybeUp() {
	if e.upCalled || e.closing || e.ipcp.state != stOpened {
		return
	}
	var mp *MPPEParams
	if e.ccpUsed {
		switch e.ccp.state {
		case stOpened:
			bits, stateless, err := e.ccpc.params()
			if err != nil {
				if e.cfg.MPPE.Require {
					e.fail(err, "MPPE required but peer negotiation failed")
					return
				}
				e.logf("%v; continuing without MPPE", err)
			} else if bits != 0 {
				send, recv := deriveKeys(e.keys, e.cfg.Server)
				mp = &MPPEParams{Bits: bits, Stateless: stateless, SendKey: send, RecvKey: recv}
			}
		case stClosed, stStopped, stInitial, stStarting:
			// CCP gave up without MPPE (allowed, not required).
		default:
			return // still negotiating
		}
	}
	if e.cfg.MPPE.Require && mp == nil {
		e.fail(cmpErr(e.ccpErr, fmt.Errorf("encryption negotiation failed: the %s did not agree to MPPE", e.cfg.peerRole())), "MPPE required but peer negotiation failed")
		return
	}
	// Only the client waits: a server sends data only in answer to the client's, and if it
	// waited too, a client as quick as ours could send before the server was up.
	if !e.cfg.Server && !e.readyOK {
		if e.readyDeadline.IsZero() {
			e.readyID = e.lcpc.echo()
			e.readyDeadline = e.now().Add(readyWait)
		}
		return
	}
	mtu := int(e.peerMRU())
	if e.cfg.MTU != 0 && int(e.cfg.MTU) < mtu {
		mtu = int(e.cfg.MTU)
	}
	if mp != nil {
		mtu -= mppePad
	}
	p := LinkParams{
		Local:    e.ipcpc.addr,
		Peer:     e.ipcpc.peerAddr,
		MTU:      mtu,
		TxACFC:   e.lcpc.his.neg.acfc,
		TxPFC:    e.lcpc.his.neg.pfc,
		MPPE:     mp,
		AuthUser: e.authUser,
	}
	if !p.Local.IsValid() || p.Local == zeroIP {
		p.Local = e.cfg.LocalIP
	}
	if e.cfg.Server {
		if !p.Peer.IsValid() {
			p.Peer = e.cfg.PeerIP
		}
		p.DNS = append(p.DNS, e.cfg.DNS...)
	} else {
		if !p.Peer.IsValid() {
			p.Peer = e.cfg.PeerIP
		}
		for _, d := range [...]netip.Addr{e.ipcpc.dns1, e.ipcpc.dns2} {
			if d.Is4() && d != zeroIP {
				p.DNS = append(p.DNS, d)
			}
		}
	}
	enc := "no encryption"
	if mp != nil {
		mode := "stateful"
		if mp.Stateless {
			mode = "stateless"
		}
		enc = fmt.Sprintf("MPPE %d-bit %s", mp.Bits, mode)
	}
	e.logf("link up: local %v, peer %v, DNS %v, MTU %d, %s", p.Local, p.Peer, p.DNS, p.MTU, enc)
	e.upCalled = true
	if e.cfg.Up != nil {
		e.cfg.Up(p)
	}
}

// peerReady ends the readiness probe (its Echo-Reply came, or readyWait passed).
func (e *Engine) peerReady() {
	if e.readyDeadline.IsZero() {
		return
	}
	e.readyOK, e.readyDeadline = true, time.Time{}
	e.maybeUp()
}

// deriveKeys turns the MS-CHAP key material into MPPE start keys (RFC 3079, pppd 2.4.9).
func deriveKeys(km *auth.KeyMaterial, server bool) (send, recv [16]byte) {
	switch km.Method {
	case auth.MSCHAPv2:
		return mppe.KeysV2(km.PasswordHashHash, km.NTResponse, server)
	case auth.MSCHAPv1:
		return mppe.KeysV1(km.PasswordHashHash, km.Challenge)
	}
	return send, recv
}

// Keepalive and CCP resets.

// echoReply notes an Echo-Reply: the peer is alive, and it may answer the readiness probe.
func (e *Engine) echoReply(id uint8) {
	e.echoPending = 0
	if id == e.readyID {
		e.peerReady() // a no-op unless the readiness probe waits
	}
}

func (e *Engine) echoTimeout() {
	e.echoDeadline = time.Time{}
	if e.lcp.state != stOpened || e.closing {
		return
	}
	if e.traffic.Swap(false) {
		e.echoPending = 0
	}
	if e.cfg.EchoFailure > 0 && e.echoPending >= e.cfg.EchoFailure {
		e.fail(withKind(ErrPeerDead, fmt.Errorf("peer not responding to LCP echo (%d missed)", e.echoPending)), "Peer not responding")
		return
	}
	e.lcpc.echo()
	e.echoPending++
	e.echoDeadline = e.now().Add(e.cfg.EchoInterval)
}

func (e *Engine) resetRequest() {
	if !e.ccpUsed || e.ccp.state != stOpened {
		e.resetDue, e.resetAckDue = time.Time{}, time.Time{}
		return
	}
	if !e.resetAckDue.IsZero() {
		return // one outstanding request at a time (pppd's RACK_PENDING); its timer repeats it
	}
	now := e.now()
	if !e.lastReset.IsZero() && now.Sub(e.lastReset) < minResetInterval {
		e.resetDue = e.lastReset.Add(minResetInterval)
		return
	}
	e.ccp.id++
	e.resetID, e.resetTries = e.ccp.id, 0
	e.sendReset()
}

// sendReset sends (or repeats, with the same Identifier) the current Reset-Request.
func (e *Engine) sendReset() {
	if !e.ccpUsed || e.ccp.state != stOpened {
		return
	}
	e.lastReset = e.now()
	e.resetAckDue = e.lastReset.Add(resetRetry)
	e.resetsSent.Add(1)
	e.sendPacket(ProtoCCP, CodeResetRequest, e.resetID, nil)
}

// txReset resets our encrypter for the peer's Reset-Request.
func (e *Engine) txReset() {
	if e.cfg.TxReset != nil {
		e.cfg.TxReset()
	}
}

// resetAck stops the repetition of the Reset-Request it answers.
func (e *Engine) resetAck(id uint8) {
	if id == e.resetID {
		e.resetAckDue = time.Time{}
	}
}
