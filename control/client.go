// SPDX-License-Identifier: MIT

package control

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// ClientConfig configures the PNS side. Zero values mean the defaults given per field.
type ClientConfig struct {
	HostName       string        // SCCRQ host name, default "local"
	Vendor         string        // default "pptp-go"
	Phone          string        // OCRQ phone number (--phone), ≤ 64 bytes
	CallID         uint16        // 0 = random non-zero
	RecvWindow     uint16        // OCRQ Packet Recv. Window Size, default 1024 (DefaultWindow)
	ConnectTimeout time.Duration // TCP connect (and name resolution), default 10s
	ReplyTimeout   time.Duration // SCCRP and OCRP each, default 10s
	// IdleWait (--idle-wait, whose default is 60s): send an Echo-Request after this much
	// silence. 0 (or negative) = no echo of ours; the peer's are always answered.
	IdleWait time.Duration
	// MaxEchoWait (--max-echo-wait): how long an Echo-Request of ours waits for its reply.
	// 0 follows IdleWait, as pptp-linux 1.10.0 does (it times the reply with the idle timer,
	// so a dead server is found after about twice the idle wait).
	MaxEchoWait time.Duration
	LocalAddr   netip.Addr                       // --localbind (zero = any)
	Mark        int                              // --rtmark SO_MARK (0 = none)
	Quirk       string                           // "" or "BEZEQ_ISRAEL"
	Logf        func(format string, args ...any) // nil = silent
}

// QuirkBezeqIsrael is pptp-linux's quirk for Orckit ATUR3 ADSL modems.
const QuirkBezeqIsrael = "BEZEQ_ISRAEL"

// Values the client sends, as pptp-linux does.
const (
	clientMaxChannels = 65535
	firmwareRevision  = 1
	minBPS            = 2400
	maxBPS            = 10000000
	phoneLen          = 64
	bezeqName         = "RELAY_PPP1"
)

func (cfg *ClientConfig) setDefaults() {
	if cfg.HostName == "" {
		cfg.HostName = "local"
	}
	if cfg.Vendor == "" {
		cfg.Vendor = ourVendor
	}
	if cfg.RecvWindow == 0 {
		cfg.RecvWindow = DefaultWindow
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	if cfg.ReplyTimeout <= 0 {
		cfg.ReplyTimeout = 10 * time.Second
	}
	if cfg.IdleWait == 0 {
		cfg.IdleWait = -1 // no echo, as the contract says for 0
	}
	if cfg.MaxEchoWait <= 0 {
		cfg.MaxEchoWait = defaultMaxEchoWait
		if cfg.IdleWait > 0 {
			cfg.MaxEchoWait = cfg.IdleWait
		}
	}
}

// Dial connects to server ("host:port" or "host"; port 1723 by default), does SCCRQ/SCCRP
// and OCRQ/OCRP and returns the call. ctx bounds the whole setup; cancelling it afterwards
// has no effect on the call. Errors are descriptive: "cannot resolve vpn.example: no such
// host", "connect to 192.0.2.9:1723: connection refused", a timeout naming the missing
// reply, or a *ResultError for a refusal. A name with several addresses is dialled as
// Connect does.
func Dial(ctx context.Context, server string, cfg ClientConfig) (*Call, error) {
	cfg.setDefaults()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	addrs, err := ResolveServerAddrs(cctx, server)
	cancel()
	if err != nil {
		return nil, connectErr{err}
	}
	conn, err := Connect(ctx, addrs, cfg)
	if err != nil {
		return nil, err
	}
	return Client(ctx, conn, cfg)
}

// HappyEyeballsDelay is how long Connect lets one address try before it starts the next
// beside it (RFC 8305 §5 recommends 250 ms).
const HappyEyeballsDelay = 250 * time.Millisecond

// Connect opens the control connection's TCP to the first of addrs that answers, RFC 8305
// style: the next address starts HappyEyeballsDelay after the last (at once when the last
// failed), the first connection completed wins and the others are abandoned. With
// cfg.LocalAddr only the addresses of its family are tried. The connection's remote
// address is where GRE goes. Errors match ErrConnect and name each address tried.
func Connect(ctx context.Context, addrs []netip.AddrPort, cfg ClientConfig) (net.Conn, error) {
	cfg.setDefaults()
	if cfg.LocalAddr.IsValid() {
		var same []netip.AddrPort
		for _, a := range addrs {
			if a.Addr().Unmap().Is4() == cfg.LocalAddr.Unmap().Is4() {
				same = append(same, a)
			}
		}
		if len(same) == 0 && len(addrs) > 0 {
			return nil, connectErr{fmt.Errorf("connect to %v: no address of the local address %v's family", addrs[0], cfg.LocalAddr)}
		}
		addrs = same
	}
	if len(addrs) == 0 {
		return nil, connectErr{errors.New("connect: no server address")}
	}
	cctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	conn, err := happyDial(cctx, addrs, HappyEyeballsDelay, func(ap netip.AddrPort) func(context.Context) (net.Conn, error) {
		wait := beginConnect(ap, cfg.LocalAddr, cfg.Mark)
		return func(actx context.Context) (net.Conn, error) {
			c, err := wait(actx)
			if err != nil {
				return nil, connectError(ctx, ap, cfg.ConnectTimeout, err)
			}
			return c, nil
		}
	})
	if err != nil {
		if ctx.Err() != nil && len(addrs) > 1 {
			err = fmt.Errorf("connect to %v: %w", addrs[0], ctx.Err())
		}
		return nil, connectErr{err}
	}
	conn.(*net.TCPConn).SetNoDelay(true) // control messages are small and latency-bound
	return conn, nil
}

// happyDial races connections to addrs (RFC 8305 §5): attempt i+1 starts delay after
// attempt i or as soon as it failed, whichever is first; the first success wins and the
// attempts still running are cancelled (a connection one of them completes anyway is
// closed). When all fail, the error lists each address's.
//
// begin starts an attempt on the calling goroutine and returns what waits for it, which
// runs on a goroutine of its own: a socket belongs to the network namespace of the thread
// that made it, and a caller locked into a namespace (nstest.In, a netns-switching
// library user) would lose it on another goroutine.
func happyDial(ctx context.Context, addrs []netip.AddrPort, delay time.Duration, begin func(netip.AddrPort) func(context.Context) (net.Conn, error)) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan result, len(addrs))
	errs := make([]error, 0, len(addrs))
	next, running := 0, 0
	start := func() {
		wait := begin(addrs[next])
		next++
		running++
		go func() {
			c, err := wait(ctx)
			results <- result{c, err}
		}()
	}
	timer := time.NewTimer(delay)
	defer timer.Stop()
	start()
	for running > 0 {
		select {
		case r := <-results:
			running--
			if r.err == nil {
				cancel()
				// Losers still connecting give up now; one that won the race too is closed.
				go func(n int) {
					for range n {
						if l := <-results; l.c != nil {
							l.c.Close()
						}
					}
				}(running)
				return r.c, nil
			}
			errs = append(errs, r.err)
			if next < len(addrs) {
				start()
				timer.Reset(delay)
			}
		case <-timer.C:
			if next < len(addrs) {
				start()
				timer.Reset(delay)
			}
		case <-ctx.Done():
			// Every attempt sees the cancellation and reports; keep collecting.
			for running > 0 {
				if r := <-results; r.c != nil {
					r.c.Close()
				} else {
					errs = append(errs, r.err)
				}
				running--
			}
		}
	}
	if len(errs) == 1 {
		return nil, errs[0]
	}
	return nil, joinedErr(errs)
}

// joinedErr is every address's error on one line.
type joinedErr []error

func (e joinedErr) Error() string {
	s := make([]string, len(e))
	for i, err := range e {
		s[i] = err.Error()
	}
	return strings.Join(s, "; ")
}

func (e joinedErr) Unwrap() []error { return e }

func (cfg *ClientConfig) check() error {
	if len(cfg.Phone) > phoneLen {
		return fmt.Errorf("phone number longer than %d bytes", phoneLen)
	}
	if cfg.Quirk != "" && cfg.Quirk != QuirkBezeqIsrael {
		return fmt.Errorf("unknown quirk %q (known: %s)", cfg.Quirk, QuirkBezeqIsrael)
	}
	return nil
}

// splitServer accepts "host", "host:port", "[v6]:port" and a bare IPv6 literal.
func splitServer(s string) (string, uint16) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.String(), Port
	}
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		return s, Port
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 {
		return s, Port // let resolution fail with the whole string in the message
	}
	return h, uint16(n)
}

// resolveError keeps the resolver's error for errors.As but prints only its reason.
type resolveError struct {
	host string
	err  error
}

func (e *resolveError) Error() string {
	msg := e.err.Error()
	var d *net.DNSError
	if errors.As(e.err, &d) {
		msg = d.Err
	}
	return "cannot resolve " + e.host + ": " + msg
}

func (e *resolveError) Unwrap() error { return e.err }

// ResolveServer resolves server ("host" or "host:port") to its first address, the one
// Connect tries first; see ResolveServerAddrs.
func ResolveServer(ctx context.Context, server string) (netip.Addr, error) {
	addrs, err := ResolveServerAddrs(ctx, server)
	if err != nil {
		return netip.Addr{}, err
	}
	return addrs[0].Addr(), nil
}

// ResolveServerAddrs resolves server ("host", "host:port", "[v6]:port", an IPv4 or IPv6
// literal; port 1723 by default) to the addresses to try, in the order to try them: the
// resolver's (RFC 6724) order with the families interleaved, the first address's family
// first (RFC 8305 §4). A link-local IPv6 literal needs its zone (fe80::1%eth0).
func ResolveServerAddrs(ctx context.Context, server string) ([]netip.AddrPort, error) {
	host, port := splitServer(server)
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap()
		if a.Is6() && a.Zone() == "" && a.IsLinkLocalUnicast() {
			return nil, fmt.Errorf("server %s: a link-local IPv6 address needs its zone, the interface (as in %s%%eth0)", server, a)
		}
		return []netip.AddrPort{netip.AddrPortFrom(a, port)}, nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err == nil && len(addrs) == 0 {
		err = errors.New("no address")
	}
	if err != nil {
		return nil, &resolveError{host, err}
	}
	return interleave(addrs, port), nil
}

// interleave orders addrs for happy eyeballs: alternately one of the first address's
// family and one of the other, each family in its given order, with port.
func interleave(addrs []netip.Addr, port uint16) []netip.AddrPort {
	var first, other []netip.Addr
	fam := addrs[0].Unmap().Is4()
	for _, a := range addrs {
		if a = a.Unmap(); a.Is4() == fam {
			first = append(first, a)
		} else {
			other = append(other, a)
		}
	}
	out := make([]netip.AddrPort, 0, len(addrs))
	for i := 0; i < len(first) || i < len(other); i++ {
		if i < len(first) {
			out = append(out, netip.AddrPortFrom(first[i], port))
		}
		if i < len(other) {
			out = append(out, netip.AddrPortFrom(other[i], port))
		}
	}
	return out
}

// ErrConnect is matched (errors.Is) by Dial's errors that come before any PPTP message:
// resolving the server, or its TCP connection.
var ErrConnect = errors.New("cannot connect")

// connectErr gives an error the ErrConnect kind and keeps its text.
type connectErr struct{ err error }

func (e connectErr) Error() string   { return e.err.Error() }
func (e connectErr) Unwrap() []error { return []error{ErrConnect, e.err} }

// connectError turns a dial error into "connect to ADDR: connection refused" (wrapping
// the errno) or a timeout message.
func connectError(ctx context.Context, ap netip.AddrPort, timeout time.Duration, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("connect to %v: %w", ap, ctx.Err())
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("connect to %v: no answer within %v: %w", ap, timeout, os.ErrDeadlineExceeded)
	}
	var se *os.SyscallError
	if errors.As(err, &se) {
		return fmt.Errorf("connect to %v: %w", ap, se.Err)
	}
	return fmt.Errorf("connect to %v: %w", ap, err)
}

// Client runs the PNS side over an established connection (Dial does this after
// connecting); it is also how tests drive the client over net.Pipe. On error conn is
// closed.
func Client(ctx context.Context, conn net.Conn, cfg ClientConfig) (*Call, error) {
	cfg.setDefaults()
	if err := cfg.check(); err != nil {
		conn.Close()
		return nil, err
	}
	c := newCall(conn, false, cfg.Logf)
	c.idleWait, c.maxEchoWait = cfg.IdleWait, cfg.MaxEchoWait
	stop := setupDeadline(ctx, conn)
	defer stop()
	if err := c.clientSetup(ctx, &cfg); err != nil {
		conn.Close()
		return nil, err
	}
	if !stop() {
		// ctx was cancelled at the last moment and poisoned the deadlines.
		conn.Close()
		return nil, fmt.Errorf("call setup: %w", ctx.Err())
	}
	conn.SetDeadline(time.Time{})
	c.start()
	return c, nil
}

func (c *Call) clientSetup(ctx context.Context, cfg *ClientConfig) error {
	bezeq := cfg.Quirk == QuirkBezeqIsrael
	rq := SCCRQ(c.wbuf[:SCCRQLen])
	rq.Init()
	rq.SetProtocolVersion(ProtocolVersion)
	rq.SetFramingCapabilities(FramingAsync | FramingSync)
	rq.SetBearerCapabilities(BearerAnalog | BearerDigital)
	rq.SetMaxChannels(clientMaxChannels)
	rq.SetFirmwareRevision(firmwareRevision)
	rq.SetHostName(cfg.HostName)
	rq.SetVendor(cfg.Vendor)
	if bezeq {
		rq.SetFramingCapabilities(FramingAsync)
		rq.SetBearerCapabilities(BearerAnalog)
		rq.SetMaxChannels(0)
		rq.SetFirmwareRevision(0x6021)
		rq.SetHostName(bezeqName)
		rq.SetVendor("MS Win NT")
	}
	if err := c.send(rq); err != nil {
		return err
	}
	m, err := c.expect(ctx, TypeSCCRP, cfg.ReplyTimeout, nil)
	if err != nil {
		return err
	}
	rp := SCCRP(m)
	c.logf("Received Start Control Connection Reply")
	if v := rp.ProtocolVersion(); v != ProtocolVersion {
		c.sendStop(StopReasonProtocol)
		return fmt.Errorf("server speaks PPTP version %d.%d, we speak 1.0", v>>8, v&0xff)
	}
	// 0 is not a valid result, but some ADSL modems send it (pptp-linux accepts it too).
	if r := rp.ResultCode(); r != SCCRPSuccess && r != 0 {
		c.sendStop(StopReasonProtocol)
		return &ResultError{Op: "server refused the control connection", Type: TypeSCCRP, Result: r, ErrorCode: rp.ErrorCode()}
	}
	c.logf("Client connection established.")

	c.localID = cfg.CallID
	if c.localID == 0 {
		c.localID = RandomCallID()
	}
	if bezeq {
		c.localID = 0 // the quirk overwrites the whole request, Call ID included
	}
	oc := OCRQ(c.wbuf[:OCRQLen])
	oc.Init()
	oc.SetCallID(c.localID)
	oc.SetMinimumBPS(minBPS)
	oc.SetMaximumBPS(maxBPS)
	oc.SetBearerType(BearerAnalog | BearerDigital)
	oc.SetFramingType(FramingAsync | FramingSync)
	oc.SetRecvWindow(cfg.RecvWindow)
	oc.SetPhoneNumber(cfg.Phone)
	if bezeq {
		oc.SetBearerType(BearerDigital)
		oc.SetRecvWindow(3)
		oc.SetPhoneNumber(bezeqName)
	}
	if err := c.send(oc); err != nil {
		return err
	}
	m, err = c.expect(ctx, TypeOCRP, cfg.ReplyTimeout, func(m []byte) bool {
		if id := OCRP(m).PeerCallID(); id != c.localID {
			c.logf("Outgoing-Call-Reply for non-existent call %d ignored.", id)
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	r := OCRP(m)
	c.logf("Received Outgoing Call Reply.")
	if r.ResultCode() != OCRPConnected {
		err := &ResultError{Op: "server refused the call", Type: TypeOCRP, Result: r.ResultCode(), ErrorCode: r.ErrorCode(), Cause: r.CauseCode()}
		if c.sendStop(StopReasonNone) == nil {
			c.expect(ctx, TypeStopCCRP, teardownWait, nil)
		}
		return err
	}
	c.peerID = r.CallID()
	c.peerWindow = r.RecvWindow()
	if string(rp.Vendor()) != ourVendor {
		c.peerWindow = min(c.peerWindow, mirrorWindow)
	}
	c.speed = r.ConnectSpeed()
	if bezeq {
		s := SetLinkInfo(c.wbuf[:SLILen])
		s.Init()
		s.SetPeerCallID(c.peerID)
		s.SetSendACCM(0xFFFFFFFF)
		s.SetReceiveACCM(0xFFFFFFFF)
		if err := c.send(s); err != nil {
			return err
		}
	}
	c.logf("Outgoing call established (call ID %d, peer's call ID %d).", c.localID, c.peerID)
	return nil
}

// RandomCallID picks a random non-zero Call ID: NATs demultiplex GRE by it, so it must not be
// predictable or shared between clients behind one address.
func RandomCallID() uint16 {
	var b [2]byte
	for {
		rand.Read(b[:]) // never fails (crypto/rand panics instead)
		if id := binary.BigEndian.Uint16(b[:]); id != 0 {
			return id
		}
	}
}
