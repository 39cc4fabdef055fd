// SPDX-License-Identifier: MIT

// Package aaa is the server's RADIUS client, as pppd's radius plugin is to poptop:
// authentication of each session (PAP, CHAP-MD5, MS-CHAPv1/v2, RFC 2865/2548/3579),
// with the MPPE keys and the session's address and limits from the Access-Accept;
// accounting (RFC 2866) through a queue that keeps every record until a server
// acknowledges it; and a dynamic authorization listener (RFC 5176) for Disconnect and
// CoA requests. The configuration is pppd's: radiusclient.conf and its servers file.
package aaa

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc2869"
	"layeh.com/radius/rfc3162"

	"github.com/pptp-go/pptp/control"
	"github.com/pptp-go/pptp/netif"
	"github.com/pptp-go/pptp/ppp"
	"github.com/pptp-go/pptp/ppp/auth"
	"github.com/pptp-go/pptp/session"
)

// Causes a session ended with when RADIUS ended it (Acct-Terminate-Cause follows them).
var (
	ErrSessionTimeout = errors.New("RADIUS Session-Timeout reached")
	ErrIdleTimeout    = errors.New("RADIUS Idle-Timeout reached")
	ErrAdminReset     = errors.New("RADIUS Disconnect-Request")
)

// RADIUS serves every session of one pptpd.
type RADIUS struct {
	cfg  *Config
	c    *client
	acct *accounting // nil without acctserver
	logf func(format string, args ...any)
	// RadattrDir, if set, gets a radattr.IFNAME file per session with the attributes
	// of its Access-Accept (pppd's radattr plugin; /var/run).
	RadattrDir string

	queue    func(*record) // tests: takes the accounting records instead of acct
	prefix   string        // of Acct-Session-Id: unique per process start
	seq      atomic.Uint32
	mu       sync.Mutex
	sessions map[string]*sess // by Acct-Session-Id, for Disconnect/CoA
}

// New starts the RADIUS client of cfg (the accounting goroutine, if accounting is
// configured). Close stops it.
func New(cfg *Config, logf func(format string, args ...any)) *RADIUS {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if cfg.NASIdentifier == "" {
		cfg.NASIdentifier, _ = os.Hostname()
	}
	r := &RADIUS{cfg: cfg, c: &client{cfg: cfg, logf: logf}, logf: logf,
		prefix: randomPrefix(), sessions: map[string]*sess{}}
	if len(cfg.Acct) > 0 {
		r.acct = newAccounting(r.c)
	}
	return r
}

// Close delivers the accounting records still queued, waiting at most until ctx ends.
func (r *RADIUS) Close(ctx context.Context) {
	if r.acct != nil {
		r.acct.close(ctx)
	}
}

// Hooks is session.ServerConfig.Hooks.
func (r *RADIUS) Hooks(c *session.Call) session.Hooks {
	nasIP := r.cfg.NASIP
	if !nasIP.IsValid() {
		nasIP = r.cfg.Bind
	}
	if !nasIP.IsValid() {
		nasIP = c.Local
	}
	s := &sess{r: r, call: c, nas: nasInfo{ip: nasIP, id: r.cfg.NASIdentifier, port: uint32(c.CallID),
		calling: c.Client.String(), called: c.Local.String(), ifname: c.IfName,
		sessID: fmt.Sprintf("%s%08X", r.prefix, r.seq.Add(1))}}
	return s
}

// call is what a session's RADIUS state needs of its session (a *session.Call).
type call interface {
	Close(cause error)
	Stats() *session.DataStats
}

// sess is one session's RADIUS state. Verify and Up run on its engine goroutine, Down
// after the session; the timers and DAE reach it under mu.
type sess struct {
	r    *RADIUS
	call call
	nas  nasInfo

	mu       sync.Mutex
	reply    *Reply
	params   ppp.LinkParams
	start    time.Time
	up, down bool
	cause    error // set when we end the session
	timers   []*time.Timer
	sessTO   *time.Timer
	lastAct  time.Time
	lastPkts uint64
	// undoRoutes removes the Framed-Routes (they also go with the interface).
	undoRoutes func() error
}

func (s *sess) Verify(req *auth.VerifyRequest) *auth.Verdict {
	ctx, cancel := context.WithTimeout(context.Background(), s.r.cfg.Bound(s.r.cfg.Auth)+time.Second)
	defer cancel()
	t0 := time.Now()
	v, reply := s.r.c.authenticate(ctx, req, &s.nas)
	if v.OK {
		s.mu.Lock()
		s.reply, s.nas.username = reply, req.User
		s.mu.Unlock()
		s.r.logf("%s: RADIUS accepted %q (%v) in %v", s.nas.ifname, req.User, req.Method, time.Since(t0).Round(time.Millisecond))
		for _, w := range reply.Warnings {
			s.r.logf("%s: RADIUS: %s", s.nas.ifname, w)
		}
	} else {
		s.r.logf("%s: RADIUS refused %q (%v): %v", s.nas.ifname, req.User, req.Method, v.Err)
	}
	return v
}

func (s *sess) Up(p ppp.LinkParams) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reply == nil || s.up {
		return
	}
	if c, ok := s.call.(*session.Call); ok {
		// The server makes the interface at authentication, after Hooks: take its name
		// now (Framed-Route, radattr, log lines).
		s.nas.ifname = c.IfName
	}
	s.up, s.params, s.start, s.lastAct = true, p, time.Now(), time.Now()
	s.r.mu.Lock()
	s.r.sessions[s.nas.sessID] = s
	s.r.mu.Unlock()
	s.account(rfc2866.AcctStatusType_Value_Start, 0)
	if d := s.reply.SessionTimeout; d > 0 {
		s.sessTO = time.AfterFunc(d, func() { s.end(ErrSessionTimeout) })
	}
	if d := s.reply.IdleTimeout; d > 0 {
		s.idleCheck(d)
	}
	if d := s.reply.Interim; d > 0 && (s.r.acct != nil || s.r.queue != nil) {
		s.interim(d)
	}
	if len(s.reply.Routes) > 0 {
		undo, err := netif.AddRoutes(s.nas.ifname, s.reply.Routes, s.r.logf)
		if err != nil {
			s.r.logf("%s: RADIUS Framed-Route: %v", s.nas.ifname, err)
		} else {
			s.undoRoutes = undo
		}
	}
	s.writeRadattr()
}

// idleCheck looks for traffic every quarter of the idle timeout (at least each second).
func (s *sess) idleCheck(idle time.Duration) {
	every := max(idle/4, time.Second)
	var t *time.Timer
	t = time.AfterFunc(every, func() {
		st := s.call.Stats()
		n := st.RxPackets.Load() + st.TxPackets.Load()
		s.mu.Lock()
		if s.down {
			s.mu.Unlock()
			return
		}
		if n != s.lastPkts {
			s.lastPkts, s.lastAct = n, time.Now()
		}
		idleFor := time.Since(s.lastAct)
		s.mu.Unlock()
		if idleFor >= idle {
			s.end(ErrIdleTimeout)
			return
		}
		t.Reset(every)
	})
	s.timers = append(s.timers, t)
}

func (s *sess) interim(every time.Duration) {
	var t *time.Timer
	t = time.AfterFunc(every, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.down {
			return
		}
		s.account(rfc2866.AcctStatusType_Value_InterimUpdate, 0)
		t.Reset(every)
	})
	s.timers = append(s.timers, t)
}

// end closes the session for cause (the first cause wins).
func (s *sess) end(cause error) {
	s.mu.Lock()
	if s.cause == nil {
		s.cause = cause
	}
	s.mu.Unlock()
	s.r.logf("%s: %v: ending the session of %q", s.nas.ifname, cause, s.nas.username)
	s.call.Close(cause)
}

func (s *sess) Down(err error, shutdown bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.up || s.down {
		return
	}
	s.down = true
	if s.undoRoutes != nil {
		s.undoRoutes()
	}
	for _, t := range s.timers {
		t.Stop()
	}
	if s.sessTO != nil {
		s.sessTO.Stop()
	}
	s.r.mu.Lock()
	delete(s.r.sessions, s.nas.sessID)
	s.r.mu.Unlock()
	cause := rfc2866.AcctTerminateCause_Value_LostCarrier
	switch {
	case errors.Is(s.cause, ErrSessionTimeout) || errors.Is(err, ErrSessionTimeout):
		cause = rfc2866.AcctTerminateCause_Value_SessionTimeout
	case errors.Is(s.cause, ErrIdleTimeout) || errors.Is(err, ErrIdleTimeout):
		cause = rfc2866.AcctTerminateCause_Value_IdleTimeout
	case errors.Is(s.cause, ErrAdminReset) || errors.Is(err, ErrAdminReset) || errors.Is(err, session.ErrKicked):
		cause = rfc2866.AcctTerminateCause_Value_AdminReset
	case shutdown:
		cause = rfc2866.AcctTerminateCause_Value_NASReboot
	case errors.Is(err, ppp.ErrPeerTerminated) || errors.As(err, new(*control.ClearedError)):
		cause = rfc2866.AcctTerminateCause_Value_UserRequest
	}
	s.account(rfc2866.AcctStatusType_Value_Stop, cause)
	if s.r.RadattrDir != "" {
		os.Remove(filepath.Join(s.r.RadattrDir, "radattr."+s.nas.ifname))
	}
}

// account queues one Accounting-Request with the counters as they are now. Called
// with s.mu held.
func (s *sess) account(status rfc2866.AcctStatusType, cause rfc2866.AcctTerminateCause) {
	if s.r.acct == nil && s.r.queue == nil {
		return
	}
	st := s.call.Stats()
	inB, outB := st.RxBytes.Load(), st.TxBytes.Load()
	inP, outP := st.RxPackets.Load(), st.TxPackets.Load()
	secs := uint32(time.Since(s.start) / time.Second)
	nas, user, peer, class := s.nas, s.nas.username, s.params.Peer, s.reply.Class
	prefix6, id6 := s.reply.Grant.IPv6Prefix, s.reply.Grant.IPv6PeerID
	event := time.Now()
	what := fmt.Sprintf("accounting %v of session %s", status, nas.sessID)
	enqueue := s.r.queue
	if enqueue == nil {
		enqueue = s.r.acct.enqueue
	}
	enqueue(&record{what: what, build: func(secret []byte) (*radius.Packet, error) {
		p := radius.New(radius.CodeAccountingRequest, secret)
		rfc2866.AcctStatusType_Set(p, status)
		rfc2866.AcctSessionID_SetString(p, nas.sessID)
		rfc2866.AcctAuthentic_Set(p, rfc2866.AcctAuthentic_Value_RADIUS)
		rfc2865.UserName_SetString(p, user)
		nas.add(p)
		if peer.Is4() {
			rfc2865.FramedIPAddress_Set(p, peer.AsSlice())
		}
		if prefix6.IsValid() { // as granted, like the address (RFC 3162 §3)
			rfc3162.FramedIPv6Prefix_Set(p, &net.IPNet{IP: prefix6.Addr().AsSlice(), Mask: net.CIDRMask(prefix6.Bits(), 128)})
		}
		if id6 != [8]byte{} {
			rfc3162.FramedInterfaceID_Set(p, id6[:])
		}
		for _, c := range class {
			rfc2865.Class_Add(p, c)
		}
		rfc2869.EventTimestamp_Set(p, event)
		if status != rfc2866.AcctStatusType_Value_Start {
			rfc2866.AcctSessionTime_Set(p, rfc2866.AcctSessionTime(secs))
			rfc2866.AcctInputOctets_Set(p, rfc2866.AcctInputOctets(uint32(inB)))
			rfc2866.AcctOutputOctets_Set(p, rfc2866.AcctOutputOctets(uint32(outB)))
			rfc2869.AcctInputGigawords_Set(p, rfc2869.AcctInputGigawords(uint32(inB>>32)))
			rfc2869.AcctOutputGigawords_Set(p, rfc2869.AcctOutputGigawords(uint32(outB>>32)))
			rfc2866.AcctInputPackets_Set(p, rfc2866.AcctInputPackets(uint32(inP)))
			rfc2866.AcctOutputPackets_Set(p, rfc2866.AcctOutputPackets(uint32(outP)))
		}
		if status == rfc2866.AcctStatusType_Value_Stop {
			rfc2866.AcctTerminateCause_Set(p, cause)
		}
		return p, nil
	}})
}

// writeRadattr writes radattr.IFNAME as pppd's radattr plugin does. Called with s.mu held.
func (s *sess) writeRadattr() {
	if s.r.RadattrDir == "" {
		return
	}
	lines := append([]string{"User-Name " + s.nas.username, "Acct-Session-Id " + s.nas.sessID}, s.reply.Attrs...)
	path := filepath.Join(s.r.RadattrDir, "radattr."+s.nas.ifname)
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		s.r.logf("radattr: %v", err)
	}
}

// find returns the live sessions matching every given selector.
func (r *RADIUS) find(user, sessID string, ip netip.Addr) []*sess {
	// s.mu is taken before r.mu elsewhere: collect first, then look at each.
	r.mu.Lock()
	var cand []*sess
	for id, s := range r.sessions {
		if sessID == "" || id == sessID {
			cand = append(cand, s)
		}
	}
	r.mu.Unlock()
	var out []*sess
	for _, s := range cand {
		s.mu.Lock()
		match := (user == "" || s.nas.username == user) && (!ip.IsValid() || s.params.Peer == ip)
		s.mu.Unlock()
		if match {
			out = append(out, s)
		}
	}
	return out
}

// DAEAddr is the configured Disconnect/CoA listen address, "" for none.
func (r *RADIUS) DAEAddr() string { return r.cfg.DAE }

// Bound is the longest one exchange may take (every server, every try), plus a second.
func (r *RADIUS) Bound() time.Duration {
	return max(r.cfg.Bound(r.cfg.Auth), r.cfg.Bound(r.cfg.Acct)) + time.Second
}

// randomPrefix starts every Acct-Session-Id of this process: random, so two pptpd
// started in the same second (or on two machines) never reuse an ID.
func randomPrefix() string {
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%02X%02X%02X%02X", b[0], b[1], b[2], b[3])
}
