// SPDX-License-Identifier: MIT

// Package egress sends on the traffic that PPTP clients put into a server's user-space
// stacks (netstack.NewForwarding), with no TUN: each client TCP connection and UDP flow is
// re-originated by the server process, directly or through an upstream proxy
// (proxy.Upstream: SOCKS5 with UDP ASSOCIATE, or HTTP CONNECT for TCP only).
//
// Per session (Session, one per PPTP call):
//   - destinations in Config.Deny are refused as a closed port would be (TCP RST, ICMP port
//     unreachable), logged at most once a minute;
//   - at most Config.MaxFlows flows at once, each closed after its idle timeout, so one
//     client cannot use up the descriptors the server needs for the others;
//   - DNS to the addresses the client was given (ms-dns, and dns6 in the Router
//     Advertisement) goes to the server's own resolvers (UDP, or TCP through a proxy that
//     carries no UDP);
//   - ICMP and ICMPv6 echo requests are forwarded with the server's ICMP socket when going direct, and
//     answered by the stack when the process cannot send ICMP or a proxy is in the way.
package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pptp-go/pptp/netstack"
	"github.com/pptp-go/pptp/proxy"
)

// DefaultDeny is what clients may not reach unless configured otherwise: the server host's
// loopback and link-local ranges, the unspecified addresses (a connection to 0.0.0.0 or ::
// reaches the server host itself) and IPv4-mapped IPv6 addresses (the server's sockets
// would reach them over IPv4, past the IPv4 entries; they never appear on the wire, RFC
// 4291 §2.5.5.2).
var DefaultDeny = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("::/128"),
	netip.MustParsePrefix("::ffff:0:0/96"),
}

// Defaults of Config's zero fields.
const (
	DefaultMaxFlows = 1024
	DefaultTCPIdle  = 2 * time.Hour // Linux's keepalive time: a quiet ssh session lives on
	DefaultUDPIdle  = time.Minute
	dialTimeout     = 10 * time.Second
	// pingTimeout bounds the wait for a forwarded echo's reply; maxPings the echoes a
	// session has waiting at once (more are dropped, as by a busy router).
	pingTimeout = 3 * time.Second
	maxPings    = 16
	logEvery    = time.Minute
)

// Config is the egress policy shared by every session of a server.
type Config struct {
	// Upstream, when set, carries every flow; nil dials directly from the server.
	Upstream proxy.Upstream
	// Deny lists the destinations clients may not reach (nil means DefaultDeny; an
	// empty, non-nil list denies nothing).
	Deny []netip.Prefix
	// Resolvers are where DNS queries to a session's DNS addresses go; empty means the
	// nameservers of /etc/resolv.conf.
	Resolvers []netip.AddrPort
	// MaxFlows bounds a session's TCP connections and UDP flows at once (DefaultMaxFlows).
	MaxFlows int
	// TCPIdle and UDPIdle close a flow with no traffic either way for that long.
	TCPIdle, UDPIdle time.Duration
	Logf             func(format string, args ...any)
}

// Stats counts a session's flows.
type Stats struct {
	TCP, UDP, Pings atomic.Uint64 // flows (and echoes) forwarded
	Denied          atomic.Uint64 // refused by Deny
	OverLimit       atomic.Uint64 // refused by MaxFlows
	Failed          atomic.Uint64 // the destination or the proxy refused or did not answer
	Open            atomic.Int64  // flows open now
}

// Session sends on the flows of one client's stack.
type Session struct {
	cfg    Config
	name   string       // for log lines: "client 192.0.2.3"
	dns    []netip.Addr // addresses the client was told are its DNS servers
	stats  Stats
	ctx    context.Context
	cancel context.CancelFunc
	pings  atomic.Int32

	mu     sync.Mutex
	conns  map[net.Conn]struct{} // every open flow's sockets, closed by Close
	logged map[string]time.Time  // last log line by kind, for the once-a-minute limit
	quiet  map[string]int        // lines suppressed since
}

// NewSession prepares the flows of one client, named in log lines by name; dns are the
// DNS server addresses the client was given.
func NewSession(cfg Config, name string, dns []netip.Addr) *Session {
	if cfg.Deny == nil {
		cfg.Deny = DefaultDeny
	}
	if len(cfg.Resolvers) == 0 {
		cfg.Resolvers = systemResolvers()
	}
	if cfg.MaxFlows <= 0 {
		cfg.MaxFlows = DefaultMaxFlows
	}
	if cfg.TCPIdle <= 0 {
		cfg.TCPIdle = DefaultTCPIdle
	}
	if cfg.UDPIdle <= 0 {
		cfg.UDPIdle = DefaultUDPIdle
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	s := &Session{cfg: cfg, name: name, dns: dns,
		conns: make(map[net.Conn]struct{}), logged: make(map[string]time.Time), quiet: make(map[string]int)}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// Stats returns the session's counters.
func (s *Session) Stats() *Stats { return &s.stats }

// Handler is the session's side of its stack (netstack.NewForwarding).
func (s *Session) Handler() netstack.Handler {
	return netstack.Handler{Allow: s.allow, TCP: s.tcp, UDP: s.udp, Ping: s.ping,
		MaxPendingTCP: min(s.cfg.MaxFlows, 256)}
}

// Close ends every flow of the session.
func (s *Session) Close() {
	s.cancel()
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for c := range conns {
		c.Close()
	}
}

// isDNS reports whether dst is one of the session's DNS servers' port 53.
func (s *Session) isDNS(dst netip.AddrPort) bool {
	if dst.Port() != 53 {
		return false
	}
	for _, a := range s.dns {
		if a == dst.Addr() {
			return true
		}
	}
	return false
}

// allow runs in the stack's receive path for the first packet of every new flow.
func (s *Session) allow(udp bool, f netstack.Flow) bool {
	proto := "TCP"
	if udp {
		proto = "UDP"
	}
	if s.isDNS(f.Dst) {
		return s.admit(proto, f)
	}
	for _, p := range s.cfg.Deny {
		if p.Contains(f.Dst.Addr()) {
			s.stats.Denied.Add(1)
			s.logLimited("deny", "%s: refused %s to %v (denied by %v)", s.name, proto, f.Dst, p)
			return false
		}
	}
	if udp && s.cfg.Upstream != nil && !s.cfg.Upstream.CarriesUDP() {
		s.stats.Failed.Add(1)
		s.logLimited("noudp", "%s: refused UDP to %v: %s carries no UDP", s.name, f.Dst, s.cfg.Upstream)
		return false
	}
	return s.admit(proto, f)
}

// admit checks the flow limit in the receive path; flows are counted (and the limit
// checked again) when their handlers take them.
func (s *Session) admit(proto string, f netstack.Flow) bool {
	if s.stats.Open.Load() >= int64(s.cfg.MaxFlows) {
		s.stats.OverLimit.Add(1)
		s.logLimited("limit", "%s: refused %s to %v: %d flows open (the session's limit)", s.name, proto, f.Dst, s.cfg.MaxFlows)
		return false
	}
	return true
}

// track registers c as one of the session's open sockets; false if the session is over.
func (s *Session) track(cs ...net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns == nil {
		return false
	}
	for _, c := range cs {
		s.conns[c] = struct{}{}
	}
	return true
}

func (s *Session) untrack(cs ...net.Conn) {
	s.mu.Lock()
	for _, c := range cs {
		delete(s.conns, c)
		c.Close()
	}
	s.mu.Unlock()
}

// dialTCP reaches dst directly or through the upstream proxy.
func (s *Session) dialTCP(ctx context.Context, dst netip.AddrPort) (net.Conn, error) {
	if s.cfg.Upstream != nil {
		return s.cfg.Upstream.DialTCP(ctx, dst)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", dst.String())
}

func (s *Session) dialUDP(ctx context.Context, dst netip.AddrPort) (net.Conn, error) {
	if s.cfg.Upstream != nil {
		return s.cfg.Upstream.DialUDP(ctx, dst)
	}
	var d net.Dialer
	return d.DialContext(ctx, "udp", dst.String())
}

// tcp runs in a goroutine of its own per connection attempt: the destination is reached
// first, so that a refusal reaches the client as a RST.
func (s *Session) tcp(r *netstack.TCPRequest) {
	// allow let the SYN in, but others may have passed it at the same time.
	if s.stats.Open.Add(1) > int64(s.cfg.MaxFlows) {
		s.stats.Open.Add(-1)
		s.stats.OverLimit.Add(1)
		r.Reject()
		return
	}
	defer s.stats.Open.Add(-1)
	dst := r.Dst
	if s.isDNS(dst) {
		dst = s.resolvers(dst)[0]
	}
	ctx, cancel := context.WithTimeout(s.ctx, dialTimeout)
	up, err := s.dialTCP(ctx, dst)
	cancel()
	if err != nil {
		r.Reject()
		s.stats.Failed.Add(1)
		s.logLimited("fail", "%s: TCP to %v: %v", s.name, dst, err)
		return
	}
	c, err := r.Accept()
	if err != nil {
		up.Close()
		return
	}
	if !s.track(c, up) {
		c.Close()
		up.Close()
		return
	}
	s.stats.TCP.Add(1)
	splice(c, up, s.cfg.TCPIdle)
	s.untrack(c, up)
}

// udp runs in the stack's receive path for a new flow's first datagram.
func (s *Session) udp(r *netstack.UDPRequest) {
	if s.stats.Open.Add(1) > int64(s.cfg.MaxFlows) {
		s.stats.Open.Add(-1)
		s.stats.OverLimit.Add(1)
		return
	}
	c, err := r.Accept()
	if err != nil {
		s.stats.Open.Add(-1)
		return
	}
	go func() {
		defer s.stats.Open.Add(-1)
		if !s.track(c) {
			c.Close()
			return
		}
		defer s.untrack(c)
		if s.isDNS(r.Dst) {
			s.dns53(c, r.Dst)
			return
		}
		ctx, cancel := context.WithTimeout(s.ctx, dialTimeout)
		up, err := s.dialUDP(ctx, r.Dst)
		cancel()
		if err != nil {
			s.stats.Failed.Add(1)
			s.logLimited("fail", "%s: UDP to %v: %v", s.name, r.Dst, err)
			return
		}
		if !s.track(up) {
			up.Close()
			return
		}
		defer s.untrack(up)
		s.stats.UDP.Add(1)
		relayUDP(c, up, s.cfg.UDPIdle)
	}()
}

// dns53 answers the DNS queries of one client flow to a DNS address: over UDP to the
// resolvers when the way out carries UDP, else over TCP (RFC 7766 framing) through it.
func (s *Session) dns53(c net.Conn, dst netip.AddrPort) {
	ctx, cancel := context.WithTimeout(s.ctx, dialTimeout)
	defer cancel()
	var up net.Conn
	var err error
	tcp := false
	for _, r := range s.resolvers(dst) {
		if up, err = s.dialUDP(ctx, r); errors.Is(err, proxy.ErrNoUDP) {
			tcp = true
			up, err = s.dialTCP(ctx, r)
		}
		if err == nil {
			break
		}
	}
	if err != nil {
		s.stats.Failed.Add(1)
		s.logLimited("dns", "%s: DNS: no resolver answers: %v", s.name, err)
		return
	}
	if !s.track(up) {
		up.Close()
		return
	}
	defer s.untrack(up)
	s.stats.UDP.Add(1)
	if tcp {
		dnsOverTCP(c, up, s.cfg.UDPIdle)
		return
	}
	relayUDP(c, up, s.cfg.UDPIdle)
}

// resolvers is where DNS to dst goes: the configured resolvers, else dst itself.
func (s *Session) resolvers(dst netip.AddrPort) []netip.AddrPort {
	if len(s.cfg.Resolvers) > 0 {
		return s.cfg.Resolvers
	}
	return []netip.AddrPort{dst}
}

// logLimited logs at most one line of a kind per minute per session, saying how many were
// held back.
func (s *Session) logLimited(kind, format string, args ...any) {
	s.mu.Lock()
	now := time.Now()
	if last, ok := s.logged[kind]; ok && now.Sub(last) < logEvery {
		s.quiet[kind]++
		s.mu.Unlock()
		return
	}
	n := s.quiet[kind]
	s.logged[kind], s.quiet[kind] = now, 0
	s.mu.Unlock()
	if n > 0 {
		format += fmt.Sprintf(" (and %d more like it in the last minute)", n)
	}
	s.cfg.Logf(format, args...)
}
