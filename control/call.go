// SPDX-License-Identifier: MIT

package control

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Timing of the teardown and of writes. Not configurable: they only bound how long a
// dying peer can hold us.
const (
	teardownWait = 2 * time.Second // for a CDN, a Stop-Control-Connection-Reply, a peer's Stop
	writeTimeout = 5 * time.Second // a control message that cannot be written by then ends the connection
	echoLogLimit = 10              // echo messages logged per connection, like pptp-linux
)

// DefaultWindow is the Packet Recv. Window Size we advertise unless told otherwise (the
// session package advertises less when the GRE socket's buffer is smaller:
// gre.Conn.RecvWindow). Our 4 MiB socket buffer (forced with CAP_NET_ADMIN, which the TUN
// needs too; the kernel doubles it) takes some 3600 full-size packets ahead of an ack;
// smaller windows bound the sender between our own ends (docs/performance-log.md).
const DefaultWindow = 1024

const (
	defaultIdleWait    = 60 * time.Second
	defaultMaxEchoWait = 60 * time.Second
	// mirrorWindow caps the window of a server that is not ours. Debian's pptpd answers an
	// OCRQ with the client's window as its own, and we keep to the peer's window when
	// sending: trusting that echo of a larger window made our uploads overrun pptpd.
	mirrorWindow = 64
	ourVendor    = "pptp-go"
)

// Call is one established PPTP call on its own control connection. After Dial or Accept
// returns it, a goroutine owned by the Call reads the connection: it answers Echo-Requests,
// sends its own after IdleWait of silence, and ends the call when the peer clears it,
// stops the connection, closes TCP or stops answering echoes. All methods are safe for
// concurrent use.
type Call struct {
	conn        net.Conn
	server      bool
	peer        string // "server" or "client": who is at the other end, for messages
	logf        func(format string, args ...any)
	idleWait    time.Duration // < 0: no echo (0 never reaches the Call)
	maxEchoWait time.Duration

	localID, peerID, peerWindow uint16
	speed                       uint32
	laddr, raddr                netip.Addr

	// Owned by the setup code, then by the goroutine in run.
	wbuf            [ICRQLen]byte
	rbuf            [MaxMessageLen]byte
	echoLogged      int
	echoID          uint32
	echoOutstanding bool
	echoSent        time.Time    // when the outstanding Echo-Request went out
	echoRTT         atomic.Int64 // the last Echo-Request's round trip, ns (EchoRTT)
	readErr         error        // the reader's final error, once received
	ended           bool

	msgs     chan []byte
	readErrC chan error
	quit     chan struct{} // closed when run returns: the reader stops

	closeReq  chan struct{}
	closeOnce sync.Once
	done      chan struct{} // closed when the call ended; err is set before
	err       error
	finished  chan struct{} // closed when run returned and the connection is closed
	closeErr  error
}

func newCall(conn net.Conn, server bool, logf func(string, ...any)) *Call {
	c := &Call{
		conn:     conn,
		server:   server,
		peer:     "server",
		logf:     logf,
		msgs:     make(chan []byte, 16), // slack so that two loops writing at once cannot wedge net.Pipe-like conns
		readErrC: make(chan error),
		quit:     make(chan struct{}),
		closeReq: make(chan struct{}),
		done:     make(chan struct{}),
		finished: make(chan struct{}),
	}
	if server {
		c.peer = "client"
	}
	if c.logf == nil {
		c.logf = func(string, ...any) {}
	}
	c.laddr = tcpAddr(conn.LocalAddr())
	c.raddr = tcpAddr(conn.RemoteAddr())
	return c
}

func tcpAddr(a net.Addr) netip.Addr {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// EchoRTT is the round trip of our last answered control-connection Echo-Request (sent
// after IdleWait of silence); 0 until one was answered.
func (c *Call) EchoRTT() time.Duration { return time.Duration(c.echoRTT.Load()) }

// LocalCallID is the Call ID we chose; the peer puts it in the GRE packets it sends us.
func (c *Call) LocalCallID() uint16 { return c.localID }

// PeerCallID is the peer's Call ID; we put it in the GRE packets we send.
func (c *Call) PeerCallID() uint16 { return c.peerID }

// PeerRecvWindow is the peer's Packet Receive Window Size.
func (c *Call) PeerRecvWindow() uint16 { return c.peerWindow }

// ConnectSpeed is the Connect Speed of the Outgoing-Call-Reply (bits per second).
func (c *Call) ConnectSpeed() uint32 { return c.speed }

// LocalAddr is our IP address of the TCP connection, the source for GRE. Zero if the
// connection is not TCP.
func (c *Call) LocalAddr() netip.Addr { return c.laddr }

// RemoteAddr is the peer's IP address of the TCP connection, the GRE destination.
func (c *Call) RemoteAddr() netip.Addr { return c.raddr }

// Done is closed when the call has ended, for any reason. The graceful teardown of the
// control connection may still be under way; Close waits for it.
func (c *Call) Done() <-chan struct{} { return c.done }

// Err says why the call ended: nil before Done is closed and after our own Close,
// otherwise the peer's doing (often a *ResultError) or a connection failure.
func (c *Call) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Close ends the call and the control connection and waits until both are gone: at most
// 2 s per wait below, plus a 5 s write deadline per message if the peer stopped reading. The client sends Call-Clear-Request, waits up to 2 s for the
// Call-Disconnect-Notify, sends Stop-Control-Connection-Request and waits up to 2 s for the
// reply; the server sends Call-Disconnect-Notify (Administrative Shutdown) and
// Stop-Control-Connection-Request and waits up to 2 s for the reply. Close is idempotent;
// if the call had already ended it only waits for the teardown. The error reports a peer
// that did not complete the exchange; the connection is closed regardless.
func (c *Call) Close() error {
	c.closeOnce.Do(func() { close(c.closeReq) })
	<-c.finished
	return c.closeErr
}

// start hands the connection to the owner goroutine.
func (c *Call) start() {
	go c.reader()
	go c.run()
}

func (c *Call) reader() {
	buf := make([]byte, MaxMessageLen)
	for {
		m, err := ReadMessage(c.conn, buf)
		if err != nil {
			select {
			case c.readErrC <- err:
			case <-c.quit:
			}
			return
		}
		select {
		case c.msgs <- bytes.Clone(m):
		case <-c.quit:
			return
		}
	}
}

// ErrNoEchoReply is matched (errors.Is) by a call's error when the peer stopped answering
// our control-connection Echo-Requests; the error is an *EchoTimeoutError.
var ErrNoEchoReply = errors.New("no Echo-Reply")

// ClearedError is a call's end when the peer asked for it (a Call-Clear-Request): the
// user hung up, not the line.
type ClearedError struct{ Peer string }

func (e *ClearedError) Error() string {
	return e.Peer + " cleared the call (Call-Clear-Request)"
}

// EchoTimeoutError says that the control-connection keepalive gave the peer up: nothing
// came for Idle, our Echo-Request then went unanswered for Wait.
type EchoTimeoutError struct {
	Peer       string // "server" or "client"
	Idle, Wait time.Duration
}

func (e *EchoTimeoutError) Error() string {
	return fmt.Sprintf("control connection keepalive: the %s sent no Echo-Reply within %v of our Echo-Request; nothing heard from it for %v",
		e.Peer, e.Wait, e.Idle+e.Wait)
}

func (e *EchoTimeoutError) Is(target error) bool { return target == ErrNoEchoReply }

// end records why the call ended and closes Done. Only the first reason counts.
func (c *Call) end(err error) {
	if c.ended {
		return
	}
	c.ended = true
	c.err = err
	close(c.done)
}

// run owns the connection until the call and the connection have ended.
func (c *Call) run() {
	defer func() {
		c.end(errors.New("control connection ended")) // not reached on any known path
		c.conn.Close()
		close(c.quit)
		close(c.finished)
	}()
	var timer *time.Timer
	var tick <-chan time.Time
	if c.idleWait > 0 {
		timer = time.NewTimer(c.idleWait)
		defer timer.Stop()
		tick = timer.C
	}
	for {
		select {
		case m := <-c.msgs:
			if c.handle(m) {
				return
			}
			// Any message shows the peer is alive: restart the idle wait.
			c.echoOutstanding = false
			if timer != nil {
				timer.Reset(c.idleWait)
			}
		case err := <-c.readErrC:
			c.readErr = err
			c.end(c.describeReadError(err))
			return
		case <-tick:
			if c.echoOutstanding {
				c.logf("closing control connection due to missing echo reply")
				c.end(&EchoTimeoutError{Peer: c.peer, Idle: c.idleWait, Wait: c.maxEchoWait})
				c.abort()
				return
			}
			c.echoID++
			m := EchoRequest(c.wbuf[:EchoRQLen])
			m.Init()
			m.SetIdentifier(c.echoID)
			if err := c.send(m); err != nil {
				c.end(err)
				return
			}
			c.echoOutstanding, c.echoSent = true, time.Now()
			timer.Reset(c.maxEchoWait)
		case <-c.closeReq:
			c.end(nil)
			c.closeErr = c.teardown()
			return
		}
	}
}

// handle acts on one message while the call is up. It reports whether the call ended
// (and the teardown is done).
func (c *Call) handle(m []byte) bool {
	h := Header(m)
	if h.MessageType() != MessageControl {
		c.logf("Ignoring management message (type %d).", h.ControlType())
		return false
	}
	switch t := h.ControlType(); t {
	case TypeEchoRQ:
		id := EchoRequest(m).Identifier()
		c.logEcho("Echo Request received.")
		if err := c.sendEchoReply(id); err != nil {
			c.end(err)
			return true
		}
	case TypeEchoRP:
		r := EchoReply(m)
		c.logEcho("Echo Reply received.")
		if c.echoOutstanding && r.Identifier() != c.echoID {
			c.logf("Echo Reply with identifier %d, expected %d.", r.Identifier(), c.echoID)
		}
		if r.Identifier() == c.echoID && !c.echoSent.IsZero() { // once per request: a late or repeated reply is not measured again
			c.echoRTT.Store(max(int64(time.Since(c.echoSent)), 1)) // 0 means none yet
			c.echoSent = time.Time{}
		}
	case TypeStopCCRQ:
		reason := StopCCRQ(m).Reason()
		c.logf("Received Stop Control Connection Request (reason %d, %s).", reason, ResultText(TypeStopCCRQ, reason))
		c.sendStopReply()
		c.end(&ResultError{Op: c.peer + " closed the control connection", Type: TypeStopCCRQ, Result: reason})
		return true
	case TypeCDN:
		d := CDN(m)
		if c.server || d.CallID() != c.peerID {
			c.logf("Call-Disconnect-Notify for unknown call %d ignored.", d.CallID())
			return false
		}
		c.logf("Call disconnect notification received (call id %d): result %d (%s).", d.CallID(), d.ResultCode(), ResultText(TypeCDN, d.ResultCode()))
		c.end(&ResultError{Op: "server cleared the call", Type: TypeCDN, Result: d.ResultCode(), ErrorCode: d.ErrorCode(), Cause: d.CauseCode()})
		c.stopAndWait()
		return true
	case TypeCCRQ:
		id := CCRQ(m).CallID()
		want := c.localID // a client receiving one (non-standard) gets its own ID back
		if c.server {
			want = c.peerID
		}
		if id != want {
			c.logf("Call-Clear-Request for unknown call %d ignored.", id)
			return false
		}
		c.logf("Call-Clear-Request received (call id %d).", id)
		c.sendCDN(CDNRequest)
		c.end(&ClearedError{Peer: c.peer})
		if c.server {
			c.waitFor(teardownWait, nil) // the client's Stop-Control-Connection-Request, if any
		} else {
			c.stopAndWait()
		}
		return true
	case TypeSLI:
		s := SetLinkInfo(m)
		c.logf("Set-Link-Info: send ACCM 0x%08x, receive ACCM 0x%08x.", s.SendACCM(), s.ReceiveACCM())
	case TypeWEN:
		w := WANErrorNotify(m)
		c.logf("WAN-Error-Notify: CRC %d, framing %d, hardware overruns %d, buffer overruns %d, time-outs %d, alignment %d.",
			w.CRCErrors(), w.FramingErrors(), w.HardwareOverruns(), w.BufferOverruns(), w.TimeoutErrors(), w.AlignmentErrors())
	case TypeOCRQ:
		// One call per connection (unlike pptp-linux's shared call manager).
		c.logf("Refusing a further Outgoing-Call-Request (call id %d).", OCRQ(m).CallID())
		if err := c.sendOCRP(OCRQ(m).CallID(), 0, OCRPNotAccepted, 0, 0); err != nil {
			c.end(err)
			return true
		}
	case TypeICRQ:
		c.logf("Refusing an Incoming-Call-Request (call id %d).", ICRQ(m).CallID())
		r := ICRP(c.wbuf[:ICRPLen])
		r.Init()
		r.SetPeerCallID(ICRQ(m).CallID())
		r.SetResultCode(ICRPNotAccepted)
		if err := c.send(r); err != nil {
			c.end(err)
			return true
		}
	case TypeSCCRQ:
		c.logf("Ignoring a second Start-Control-Connection-Request.")
	default:
		c.logf("Unrecognized Packet %d received.", t)
	}
	return false
}

func (c *Call) logEcho(what string) {
	if c.echoLogged < echoLogLimit {
		c.echoLogged++
		c.logf("%s", what)
		if c.echoLogged == echoLogLimit {
			c.logf("no more Echo Reply/Request packets will be reported.")
		}
	}
}

// teardown is our own Close while the call is up.
func (c *Call) teardown() error {
	var errs []error
	if c.server {
		if err := c.sendCDN(CDNAdminShutdown); err != nil {
			return err
		}
	} else {
		if err := c.sendCCRQ(); err != nil {
			return err
		}
		switch c.waitFor(teardownWait, func(m []byte) bool {
			return Header(m).ControlType() == TypeCDN && CDN(m).CallID() == c.peerID
		}) {
		case waitStopped, waitClosed:
			return nil
		case waitTimeout:
			errs = append(errs, fmt.Errorf("no Call-Disconnect-Notify from server within %v", teardownWait))
		}
	}
	errs = append(errs, c.stopAndWait())
	return errors.Join(errs...)
}

// stopAndWait sends Stop-Control-Connection-Request and waits for the reply (or the
// peer's own Stop, or the end of the connection).
func (c *Call) stopAndWait() error {
	if err := c.sendStop(StopReasonNone); err != nil {
		return err
	}
	if c.waitFor(teardownWait, func(m []byte) bool {
		return Header(m).ControlType() == TypeStopCCRP
	}) == waitTimeout {
		return fmt.Errorf("no Stop-Control-Connection-Reply from %s within %v", c.peer, teardownWait)
	}
	return nil
}

// abort tells a peer that stopped answering that we are leaving, without waiting.
func (c *Call) abort() {
	if c.server {
		c.sendCDN(CDNLostCarrier)
	} else {
		c.sendCCRQ()
	}
	c.sendStop(StopReasonNone)
}

type waitResult int

const (
	waitWanted  waitResult = iota
	waitStopped            // the peer sent its own Stop-Control-Connection-Request (answered)
	waitClosed             // the connection ended
	waitTimeout
)

// waitFor reads messages until want accepts one, for at most d. Echo-Requests are
// answered and a peer's Stop-Control-Connection-Request is answered and ends the wait.
func (c *Call) waitFor(d time.Duration, want func([]byte) bool) waitResult {
	if c.readErr != nil {
		return waitClosed
	}
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case m := <-c.msgs:
			h := Header(m)
			if h.MessageType() != MessageControl {
				continue
			}
			if want != nil && want(m) {
				return waitWanted
			}
			switch h.ControlType() {
			case TypeStopCCRQ:
				c.sendStopReply()
				return waitStopped
			case TypeEchoRQ:
				c.sendEchoReply(EchoRequest(m).Identifier())
			}
		case err := <-c.readErrC:
			c.readErr = err
			return waitClosed
		case <-t.C:
			return waitTimeout
		}
	}
}

func (c *Call) describeReadError(err error) error {
	switch {
	case errors.Is(err, io.EOF):
		return fmt.Errorf("%s closed the control connection", c.peer)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%s closed the control connection in the middle of a message", c.peer)
	case errors.Is(err, ErrMalformed):
		return fmt.Errorf("bad control message from %s: %w", c.peer, err)
	}
	return fmt.Errorf("control connection: %w", err)
}

// send writes one message. Only the goroutine that owns the connection calls it.
func (c *Call) send(m []byte) error {
	c.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := c.conn.Write(m); err != nil {
		return fmt.Errorf("send %v: %w", Header(m).ControlType(), err)
	}
	return nil
}

func (c *Call) sendEchoReply(id uint32) error {
	r := EchoReply(c.wbuf[:EchoRPLen])
	r.Init()
	r.SetIdentifier(id)
	r.SetResultCode(EchoOK)
	return c.send(r)
}

func (c *Call) sendStop(reason uint8) error {
	m := StopCCRQ(c.wbuf[:StopCCRQLen])
	m.Init()
	m.SetReason(reason)
	return c.send(m)
}

func (c *Call) sendStopReply() error {
	m := StopCCRP(c.wbuf[:StopCCRPLen])
	m.Init()
	m.SetResultCode(StopCCRPOK)
	return c.send(m)
}

func (c *Call) sendCCRQ() error {
	m := CCRQ(c.wbuf[:CCRQLen])
	m.Init()
	m.SetCallID(c.localID)
	return c.send(m)
}

func (c *Call) sendCDN(result uint8) error {
	m := CDN(c.wbuf[:CDNLen])
	m.Init()
	m.SetCallID(c.localID)
	m.SetResultCode(result)
	return c.send(m)
}

func (c *Call) sendOCRP(peerID, localID uint16, result, errCode uint8, speed uint32) error {
	m := OCRP(c.wbuf[:OCRPLen])
	m.Init()
	m.SetCallID(localID)
	m.SetPeerCallID(peerID)
	m.SetResultCode(result)
	m.SetErrorCode(errCode)
	m.SetConnectSpeed(speed)
	return c.send(m)
}

// expect is the synchronous read of the setup phase: it reads until a message of type
// want that accept (if not nil) takes, within timeout, answering Echo-Requests. A peer's
// Stop-Control-Connection-Request is answered and returned as a *ResultError.
func (c *Call) expect(ctx context.Context, want ControlType, timeout time.Duration, accept func([]byte) bool) ([]byte, error) {
	c.conn.SetReadDeadline(time.Now().Add(timeout))
	defer c.conn.SetReadDeadline(time.Time{})
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("waiting for %v: %w", want, err)
	}
	for {
		m, err := ReadMessage(c.conn, c.rbuf[:])
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("waiting for %v: %w", want, ctx.Err())
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return nil, fmt.Errorf("no %v from %s within %v", want, c.peer, timeout)
			}
			return nil, fmt.Errorf("waiting for %v: %w", want, c.describeReadError(err))
		}
		h := Header(m)
		if h.MessageType() != MessageControl {
			continue
		}
		switch t := h.ControlType(); t {
		case want:
			if accept == nil || accept(m) {
				return m, nil
			}
		case TypeEchoRQ:
			if err := c.sendEchoReply(EchoRequest(m).Identifier()); err != nil {
				return nil, err
			}
		case TypeStopCCRQ:
			reason := StopCCRQ(m).Reason()
			c.sendStopReply()
			return nil, &ResultError{Op: c.peer + " closed the control connection", Type: TypeStopCCRQ, Result: reason}
		default:
			c.logf("Ignoring %v while waiting for %v.", t, want)
		}
	}
}

// lingerSync is the setup phase's goodbye: wait a little for the peer's Stop (answered)
// or the end of the connection, then close it.
func (c *Call) lingerSync(ctx context.Context) {
	c.expect(ctx, TypeStopCCRP, teardownWait, nil)
	c.conn.Close()
}

// setupDeadline makes ctx's cancellation interrupt the setup reads and writes.
func setupDeadline(ctx context.Context, conn net.Conn) (stop func() bool) {
	return context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
}
