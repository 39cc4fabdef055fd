// SPDX-License-Identifier: MIT

package session

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.zx2c4.com/wireguard/tun"

	"github.com/pptp-go/pptp/control"
	"github.com/pptp-go/pptp/gre"
	"github.com/pptp-go/pptp/netif"
	"github.com/pptp-go/pptp/ppp"
	"github.com/pptp-go/pptp/ppp/auth"
	"github.com/pptp-go/pptp/pppconf"
)

// Pool hands out address pairs, one per session; safe for concurrent use.
type Pool struct {
	mu    sync.Mutex
	pairs []pppconf.AddrPair
	used  map[netip.Addr]bool
}

// NewPool makes a pool from address pairs (pppconf.PPTPDConf.Pairs: localip/remoteip).
func NewPool(pairs []pppconf.AddrPair) *Pool {
	return &Pool{pairs: pairs, used: make(map[netip.Addr]bool)}
}

// Get reserves the first free pair.
func (p *Pool) Get() (pppconf.AddrPair, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pr := range p.pairs {
		if !p.used[pr.Remote] {
			p.used[pr.Remote] = true
			return pr, true
		}
	}
	return pppconf.AddrPair{}, false
}

// GetPermitted reserves the first free pair whose client address ok permits.
func (p *Pool) GetPermitted(ok func(netip.Addr) bool) (pppconf.AddrPair, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pr := range p.pairs {
		if !p.used[pr.Remote] && ok(pr.Remote) {
			p.used[pr.Remote] = true
			return pr, true
		}
	}
	return pppconf.AddrPair{}, false
}

// Free reports whether a pair is free now (without reserving it).
func (p *Pool) Free() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.used) < len(p.pairs)
}

// Put returns a pair to the pool.
func (p *Pool) Put(pr pppconf.AddrPair) {
	p.mu.Lock()
	delete(p.used, pr.Remote)
	p.mu.Unlock()
}

// ServerConfig configures the PAC side.
type ServerConfig struct {
	Control     control.ServerConfig // NewCall is set by the server
	PPP         ppp.Config           // template; Server, LocalIP and PeerIP are set per session
	Pool        *Pool
	Connections int    // most concurrent sessions (pptpd "connections"), default 100
	IfName      string // TUN name pattern, default "pptpd%d" (one device per session, like ppp0..N)
	Link        gre.LinkOptions
	// OwnGRESockets is how many calls at a time get a GRE socket of their own (see
	// dialGRE): 0 = 32, negative = none (every call shares the gre.Mux).
	OwnGRESockets int
	Logf          func(format string, args ...any)
	// SessionUp and SessionDown, when set, observe sessions (tests, status).
	SessionUp   func(ifname string, p ppp.LinkParams)
	SessionDown func(ifname string, err error)
	// AuthFailed, when set, is told of every call whose client failed to authenticate
	// (user: the name it claimed, "" if none; err wraps ppp.ErrAuthFailed): pptpd's metrics.
	AuthFailed func(client netip.Addr, user string, err error)
	// Stack, when set, ends each session in a user-space stack instead of a TUN (pptpd's
	// "egress netstack"): it is called once the link is up and returns the session's
	// stack (netstack.NewForwarding's, on p.Local) and what to stop when the session ends.
	// A stack that is an IPv6Router carries IPv6 too.
	Stack func(client netip.Addr, p ppp.LinkParams) (dev tun.Device, stop func(), err error)
	// LinkScripts, when set, gives each session hooks run when its link comes up and
	// before its interface configuration is removed (pppd's ip-up and ip-down).
	LinkScripts func(client netip.Addr) (up func(ifname string, p ppp.LinkParams), down func())
	// Limits bounds what one source address may hold and how fast it may fail logins.
	Limits Limits
	// PermitAddress, when set, says which pool addresses an authenticated user may get
	// (chap-secrets' address column): the first free permitted one is assigned, and a
	// user none is free for is refused.
	PermitAddress func(user string, a netip.Addr) bool
	// RoutedSubnets are source prefixes a client may send from besides its own address
	// (subnets routed to clients); everything else from a client is dropped (anti-spoofing).
	RoutedSubnets []netip.Prefix
	// Hooks, when set, gives each session its authentication, accounting and
	// disconnect hooks (RADIUS); nil from it means none for that call.
	Hooks func(c *Call) Hooks
	// LinkScripts6 is LinkScripts for IPv6 (pppd's ipv6-up and ipv6-down): up runs once
	// the session's link-local addresses are on its interface.
	LinkScripts6 func(client netip.Addr) (up func(ifname string, p ppp.IPv6Params), down func())
	// IPv6 is what sessions get once IPV6CP opened (PPP.IPv6.Mode decides whether it
	// runs). A session in a user-space stack needs no RA: its stack advertises (IPv6Router).
	IPv6 ServerIPv6
}

// Limits are the server's per-source limits. Zero values mean the defaults given per field.
type Limits struct {
	// HalfOpen is how many control connections one source address may have open that
	// have not authenticated yet, default 8: enough for clients behind one NAT logging in
	// at once, too few for one host to crowd out everyone else. Negative = no limit.
	HalfOpen int
	// Calls is how many sessions one source address may hold at once, default (0) the
	// global Connections limit.
	Calls int
	// FailDelay is the delay after one failed login from a source or for a user, doubled
	// with each further failure up to MaxFailDelay (defaults 1 s and 32 s; negative
	// FailDelay = none). A new call from such a source waits it out before its
	// Outgoing-Call-Reply; a Response for such a user waits before it is judged. A failure
	// is forgotten after FailMemory (default 10 min) without further failures.
	FailDelay, MaxFailDelay, FailMemory time.Duration
}

func (l *Limits) setDefaults(connections int) {
	if l.HalfOpen == 0 {
		l.HalfOpen = 8
	}
	if l.Calls <= 0 {
		l.Calls = connections
	}
	if l.FailDelay == 0 {
		l.FailDelay = time.Second
	}
	if l.MaxFailDelay <= 0 {
		l.MaxFailDelay = 32 * time.Second
	}
	if l.FailMemory <= 0 {
		l.FailMemory = 10 * time.Minute
	}
}

// Server accepts PPTP calls and runs one built-in PPP session with its own TUN device per call.
type Server struct {
	cfg      ServerConfig
	active   atomic.Int64
	callIDs  sync.Map // uint16 → struct{}
	wg       sync.WaitGroup
	sessions atomic.Int64
	stackSeq atomic.Uint64 // names user-space stacks netstack0, netstack1, … in logs
	table    table         // live sessions and totals (Sessions, Totals, Kick)

	greMu sync.Mutex
	muxes map[netip.Addr]*gre.Mux // shared GRE receivers by local address, closed with their last call
	own   map[netip.Addr]struct{} // client addresses with a call on a GRE socket of its own

	srcMu    sync.Mutex
	halfOpen map[netip.Addr]int // per source: control connections not authenticated yet
	calls    map[netip.Addr]int // per source: calls placed
	fails    failures
	refused  rateLog // connections refused or failed before a session: rate-limited lines
}

// DefaultServerMissingWindow is the server's default gre.ReorderConfig.MissingWindow.
const DefaultServerMissingWindow = 4096

// ownSocketCalls is the default of ServerConfig.OwnGRESockets.
const ownSocketCalls = 32

// NewServer checks cfg and returns a server.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.Pool == nil {
		return nil, errors.New("server: no address pool (localip/remoteip)")
	}
	if cfg.Connections <= 0 {
		cfg.Connections = 100
	}
	if cfg.IfName == "" {
		cfg.IfName = "pptpd%d"
	}
	if cfg.OwnGRESockets == 0 {
		cfg.OwnGRESockets = ownSocketCalls
	}
	// A call's large receive buffers (PacketSize) wait until its link is up.
	cfg.Link.DeferPacketSize = true
	if cfg.Link.Reorder.MissingWindow == 0 {
		// One injected data packet 2³¹−1 ahead would otherwise make every genuine
		// packet look old; 4096 is far more than any real reordering.
		cfg.Link.Reorder.MissingWindow = DefaultServerMissingWindow
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	cfg.Limits.setDefaults(cfg.Connections)
	s := &Server{cfg: cfg, halfOpen: make(map[netip.Addr]int), calls: make(map[netip.Addr]int)}
	s.fails = failures{limits: &s.cfg.Limits, m: make(map[string]*failure)}
	s.refused = rateLog{out: cfg.Logf, burst: 10, every: 10 * time.Second}
	return s, nil
}

// Active is the number of connections being served.
func (s *Server) Active() int { return int(s.active.Load()) }

// Serve accepts connections until ctx ends or ln fails, then closes every session gracefully
// and waits for them.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var err error
	var backoff time.Duration
	refusing := false
	for {
		var c net.Conn
		c, err = ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || ctx.Err() != nil {
				break
			}
			// Out of descriptors (EMFILE), memory, or a connection aborted before we took
			// it: the listener still works, so wait and accept again (a client must not
			// be able to stop the server by opening connections). Logged once a streak.
			if backoff == 0 {
				s.cfg.Logf("accept: %v; retrying", err)
				backoff = 5 * time.Millisecond
			} else {
				backoff = min(2*backoff, time.Second)
			}
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		// Connections that have not placed a call yet cost descriptors too; beyond twice
		// the call limit new ones are closed at once, so idle connections cannot use up
		// the descriptors that calls need (each gives up after the start timeout anyway).
		if limit := s.connLimit(); s.active.Load() >= limit {
			c.Close()
			if !refusing {
				s.cfg.Logf("%d control connections open: closing new ones until some end", limit)
			}
			refusing = true
			continue
		}
		refusing = false
		src := remoteAddr(c)
		if !s.takeHalfOpen(src) {
			c.Close()
			s.refused.logf("client %s: %d connections not logged in yet: closing new ones", src, s.cfg.Limits.HalfOpen)
			continue
		}
		s.wg.Add(1)
		s.active.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.active.Add(-1)
			s.serveConn(ctx, c)
		}()
	}
	s.wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// connLimit is how many control connections Serve keeps open at once.
func (s *Server) connLimit() int64 { return 2*int64(s.cfg.Connections) + 16 }

// newCallID picks a free Call ID, with gre.MuxCallIDBit set if muxed and clear if not;
// ErrCallIDs when every one of that half is taken. Random picks first (IDs are hard to
// guess), then a scan from a random point, so a nearly full space costs a bounded search.
func (s *Server) newCallID(muxed bool) (uint16, error) {
	bit := uint16(0)
	if muxed {
		bit = gre.MuxCallIDBit
	}
	try := func(id uint16) bool {
		id = id&^gre.MuxCallIDBit | bit
		if id == 0 {
			return false
		}
		_, busy := s.callIDs.LoadOrStore(id, struct{}{})
		return !busy
	}
	for range 64 {
		if id := control.RandomCallID(); try(id) {
			return id&^gre.MuxCallIDBit | bit, nil
		}
	}
	start := control.RandomCallID()
	for i := range uint16(gre.MuxCallIDBit) {
		if id := start + i; try(id) {
			return id&^gre.MuxCallIDBit | bit, nil
		}
	}
	return 0, ErrCallIDs
}

// ErrCallIDs: no Call ID is free for a new call.
var ErrCallIDs = fmt.Errorf("%w: no free Call ID", control.ErrBusy)

// serveConn runs one control connection and its call. Its half-open slot (taken by
// Serve) is given back once the client authenticated, or when the connection ends.
func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	logf := s.cfg.Logf
	local, _ := netip.ParseAddrPort(c.LocalAddr().String())
	client := remoteAddr(c)
	var halfOnce sync.Once
	halfDone := func() { halfOnce.Do(func() { s.putHalfOpen(client) }) }
	defer halfDone()

	var (
		conn    gre.CallConn
		greDone func()
		callOK  bool
	)
	defer func() {
		if greDone != nil {
			greDone()
		}
	}()
	ccfg := s.cfg.Control
	ccfg.NewCall = func(peerCallID uint16, req control.OCRQ) (uint16, error) {
		// A source whose logins failed waits before its call is answered.
		if err := s.fails.wait(ctx, "source "+client.String()); err != nil {
			return 0, err
		}
		if !s.cfg.Pool.Free() {
			// Checked, not taken: the address is committed only after authentication.
			return 0, fmt.Errorf("%w: address pool exhausted", control.ErrBusy)
		}
		if err := s.takeCall(client); err != nil {
			return 0, err
		}
		callOK = true
		// The GRE socket is opened only now that the control connection has identified
		// itself, and still before the Outgoing-Call-Reply, so the client's first LCP
		// frames are not answered with ICMP protocol-unreachable.
		var localID uint16
		var err error
		conn, localID, greDone, err = s.dialGRE(local.Addr().Unmap(), client)
		if err != nil {
			return 0, err
		}
		return localID, nil
	}
	ccfg.Window = func() uint16 { return recvWindow(s.cfg.Control.RecvWindow, conn, logf) }
	call, err := control.Accept(ctx, c, ccfg)
	if err != nil {
		if conn != nil {
			conn.Close()
		}
		if callOK {
			s.putCall(client)
		}
		s.refused.logf("client %s: %v", client, err)
		return
	}
	// The slot and (once assigned) the address go back as soon as PPP is over, not after
	// the control connection's own teardown (which may wait seconds for a silent client).
	var (
		pair     pppconf.AddrPair
		havePair bool
		haveSlot bool
		dev      tun.Device
	)
	lazy := NewLazyDevice()
	var releaseOnce sync.Once
	release := func() {
		releaseOnce.Do(func() {
			if havePair {
				s.cfg.Pool.Put(pair)
			}
			if haveSlot {
				s.sessions.Add(-1)
			}
			s.putCall(client)
		})
	}
	defer release()

	link := newLink(conn, call, s.cfg.Link, logf)
	t := &Tunnel{Call: call, Link: link, Server: client, watch: watchGRE("client", client, call.LocalCallID(), false, func(f string, a ...any) { logf("client %s: "+f, append([]any{client}, a...)...) })}
	t.watch.setLink(link)
	ec := s.cfg.PPP
	ec.Server = true
	// Until the device exists the session is named by its client.
	var name atomic.Pointer[string] // read by the datapath's goroutines too
	cs := client.String()
	name.Store(&cs)
	ec.Logf = func(format string, args ...any) { logf(*name.Load()+": "+format, args...) }
	var claimed string // the last user name the client claimed (for the failure delay)
	if secret := ec.Secret; secret != nil {
		ec.Secret = func(user string) (string, bool) {
			if claimed != user {
				claimed = user
				// Runs on the engine goroutine: only this session waits.
				s.fails.wait(ctx, "user "+user)
			}
			return secret(user)
		}
	}
	var sess *PPP
	var st6 stack6             // a netstack session's IPv6 (server_ipv6.go)
	var entry *liveSession     // in the session table (Sessions, Kick), from before Run
	var ifnameSet func(string) // tells the hooks the interface's name
	// Assign runs once the client authenticated: only then are an address, a connection
	// slot and a device committed to it. granted is the verifier's (RADIUS
	// Framed-IP-Address): the pool then gives only our side's address.
	ec.Assign = func(user string, granted netip.Addr) (netip.Addr, netip.Addr, error) {
		halfDone()
		if err := s.takeSlot(); err != nil {
			return netip.Addr{}, netip.Addr{}, err
		}
		haveSlot = true
		if s.cfg.PermitAddress != nil && !granted.IsValid() {
			pair, havePair = s.cfg.Pool.GetPermitted(func(a netip.Addr) bool { return s.cfg.PermitAddress(user, a) })
			if !havePair {
				return netip.Addr{}, netip.Addr{}, errors.New("no free pool address that the secrets file permits for this user")
			}
		} else if pair, havePair = s.cfg.Pool.Get(); !havePair {
			return netip.Addr{}, netip.Addr{}, errors.New("address pool exhausted")
		}
		d, ifname, configure, err := s.device(client, st6.made)
		if err != nil {
			return netip.Addr{}, netip.Addr{}, err
		}
		dev = d
		lazy.Set(d)
		name.Store(&ifname)
		sess.setDevice(ifname, configure)
		ifnameSet(ifname)
		s.table.named(entry, ifname)
		if granted.IsValid() {
			return pair.Local, granted, nil
		}
		return pair.Local, pair.Remote, nil
	}
	var scriptUp func(string, ppp.LinkParams)
	var scriptDown func()
	if s.cfg.LinkScripts != nil {
		scriptUp, scriptDown = s.cfg.LinkScripts(client)
	}
	ec.Up = func(p ppp.LinkParams) {
		ifname := *name.Load()
		logf("%s: client %s user %q: %s", ifname, client, p.AuthUser, Describe(p))
		if scriptUp != nil {
			scriptUp(ifname, p)
		}
		s.table.up(entry, p)
		if s.cfg.SessionUp != nil {
			s.cfg.SessionUp(ifname, p)
		}
	}
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var hooks Hooks
	var granted6 netip.Prefix // the verifier's Framed-IPv6-Prefix
	// The interface is made at authentication: until then the call goes by its client.
	hc := &Call{Client: client, Local: local.Addr().Unmap(), CallID: call.LocalCallID(), PeerCallID: call.PeerCallID(), IfName: client.String(), cancel: cancel}
	if s.cfg.Hooks != nil {
		if hooks = s.cfg.Hooks(hc); hooks != nil {
			ec.Verify = func(r *auth.VerifyRequest) *auth.Verdict {
				v := hooks.Verify(r)
				if v.OK && v.Grant != nil {
					granted6 = v.Grant.IPv6Prefix // read by configure6, on this goroutine too
				}
				return v
			}
			up := ec.Up
			ec.Up = func(p ppp.LinkParams) { up(p); hooks.Up(p) }
		}
	}
	ifnameSet = func(name string) { hc.IfName = name }
	pc := PPPConfig{Engine: ec, Dev: lazy, Logf: ec.Logf, LinkDown: scriptDown,
		AntiSpoof: true, Routed: s.cfg.RoutedSubnets, NoMSSClamp: s.cfg.Link.NoMSSClamp}
	if s.cfg.Stack != nil {
		// The stack is the link's router: it advertises the session's /64 itself.
		pc.Configure6 = s.configureStack6(ec.Logf, func() *PPP { return sess }, func() netip.Prefix { return granted6 }, &st6)
	} else {
		// IPV6CP opens after authentication, when the device and its name exist.
		ifname := func() string { return *name.Load() }
		pc.Configure6 = s.configure6(ifname, ec.Logf, func() *PPP { return sess }, func() netip.Prefix { return granted6 })
		if s.cfg.LinkScripts6 != nil {
			up6, down6 := s.cfg.LinkScripts6(client)
			pc.LinkDown6 = down6
			userUp6 := pc.Engine.IPv6.Up
			pc.Engine.IPv6.Up = func(p ppp.IPv6Params) {
				if userUp6 != nil {
					userUp6(p)
				}
				up6(ifname(), p)
			}
		}
	}
	sess = NewPPP(link, pc)
	hc.sess = sess
	entry = s.table.add(&liveSession{
		info: SessionInfo{Client: client, CallID: call.LocalCallID(), PeerCallID: call.PeerCallID(), Started: time.Now()},
		link: link, sess: sess, cancel: func() { cancel(ErrKicked) }, // as a shutdown ends them all
	})
	defer s.table.remove(entry)
	err = t.RunOver(sctx, func(ctx context.Context) error {
		defer release()
		return sess.Run(ctx)
	})
	if err == nil && context.Cause(sctx) != nil && ctx.Err() == nil {
		err = context.Cause(sctx) // a hook ended the session (RADIUS timeout, disconnect)
	}
	if errors.Is(err, ppp.ErrAuthFailed) {
		if s.cfg.AuthFailed != nil {
			s.cfg.AuthFailed(client, claimed, err)
		}
		s.fails.add("source " + client.String())
		if claimed != "" {
			s.fails.add("user " + claimed)
		}
	}
	st := link.Stats()
	counts := fmt.Sprintf("GRE sent %d, %d of them fast; received %d", st.TxSent.Load(), st.TxFast.Load(), st.RxAccepted.Load())
	if ds := sess.Stats(); ds.RxDecryptErrors.Load()+ds.RxBadIP.Load()+ds.RxTunErrors.Load()+ds.RxSpoofed.Load()+ds.RxSanity.Load() > 0 {
		counts += fmt.Sprintf("; dropped: %d undecryptable, %d bad IPv4 after decryption, %d TUN write errors, %d with a source not the client's, %d past the MPPE sanity limit",
			ds.RxDecryptErrors.Load(), ds.RxBadIP.Load(), ds.RxTunErrors.Load(), ds.RxSpoofed.Load(), ds.RxSanity.Load())
	}
	if _, shared := conn.(*gre.MuxConn); shared {
		counts += "; shared GRE socket"
	}
	ifname := *name.Load()
	if dev == nil {
		// Never authenticated: one rate-limited line, no device was made.
		s.refused.logf("client %s: session ended before login (%s): %v", client, counts, err)
	} else if err != nil {
		logf("%s: client %s: session ended (%s): %v", ifname, client, counts, err)
	} else {
		logf("%s: client %s: session ended (%s)", ifname, client, counts)
	}
	if hooks != nil {
		hooks.Down(err, ctx.Err() != nil)
	}
	if s.cfg.SessionDown != nil && dev != nil {
		s.cfg.SessionDown(ifname, err)
	}
}

func remoteAddr(c net.Conn) netip.Addr {
	remote, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	return remote.Addr().Unmap()
}

// takeHalfOpen counts a new control connection from src, false beyond Limits.HalfOpen.
func (s *Server) takeHalfOpen(src netip.Addr) bool {
	s.srcMu.Lock()
	defer s.srcMu.Unlock()
	if s.cfg.Limits.HalfOpen > 0 && s.halfOpen[src] >= s.cfg.Limits.HalfOpen {
		return false
	}
	s.halfOpen[src]++
	return true
}

func (s *Server) putHalfOpen(src netip.Addr) {
	s.srcMu.Lock()
	defer s.srcMu.Unlock()
	if s.halfOpen[src]--; s.halfOpen[src] <= 0 {
		delete(s.halfOpen, src)
	}
}

// takeCall counts a call from src against Limits.Calls. The global Connections limit is
// only checked here; a slot of it is taken by takeSlot once the client authenticated, so
// calls that never log in cannot fill it.
func (s *Server) takeCall(src netip.Addr) error {
	s.srcMu.Lock()
	defer s.srcMu.Unlock()
	if s.calls[src] >= s.cfg.Limits.Calls {
		return fmt.Errorf("%w: %d calls from %s", control.ErrBusy, s.calls[src], src)
	}
	if s.sessions.Load() >= int64(s.cfg.Connections) {
		return fmt.Errorf("%w: connection limit %d reached", control.ErrBusy, s.cfg.Connections)
	}
	s.calls[src]++
	return nil
}

func (s *Server) putCall(src netip.Addr) {
	s.srcMu.Lock()
	defer s.srcMu.Unlock()
	if s.calls[src]--; s.calls[src] <= 0 {
		delete(s.calls, src)
	}
}

// takeSlot takes one of the Connections slots for an authenticated session.
func (s *Server) takeSlot() error {
	if s.sessions.Add(1) > int64(s.cfg.Connections) {
		s.sessions.Add(-1)
		return fmt.Errorf("connection limit %d reached", s.cfg.Connections)
	}
	return nil
}

// device is a session's device, made once its client authenticated (ppp.Config.Assign): a
// TUN, or with cfg.Stack a user-space stack made once the link is up (configure sets it
// up; its undo stops it). It is the one place a session's device is made.
func (s *Server) device(client netip.Addr, made func(tun.Device)) (dev tun.Device, ifname string, configure func(ppp.LinkParams) (func() error, error), err error) {
	if s.cfg.Stack == nil {
		dev, ifname, err = netif.CreateTUN(s.cfg.IfName, 1500)
		return dev, ifname, nil, err
	}
	lazy := NewLazyDevice()
	configure = func(p ppp.LinkParams) (func() error, error) {
		st, stop, err := s.cfg.Stack(client, p)
		if err != nil {
			return nil, err
		}
		made(st)
		lazy.Set(st)
		return func() error { stop(); return nil }, nil
	}
	return lazy, fmt.Sprintf("netstack%d", s.stackSeq.Add(1)-1), configure, nil
}

// dialGRE opens the GRE side of a call from client to local and picks our Call ID for it;
// done frees what it held once the call's GRE Conn is closed.
//
// The kernel walks every raw GRE socket of the namespace for each GRE packet and copies the
// packet to each socket connected to its source address, so a socket per call makes every
// packet cost O(calls), worst for clients behind one NAT address (docs/performance.md). A
// socket of its own, read in blocking calls, is still the fastest path for one call, so a
// call gets one while fewer than OwnGRESockets have one and no other call from client has;
// the others share the gre.Mux of local, one socket for all.
func (s *Server) dialGRE(local, client netip.Addr) (conn gre.CallConn, callID uint16, done func(), err error) {
	s.greMu.Lock()
	_, taken := s.own[client]
	if !taken && len(s.own) < s.cfg.OwnGRESockets {
		if s.own == nil {
			s.own = make(map[netip.Addr]struct{})
		}
		s.own[client] = struct{}{}
		s.greMu.Unlock()
		if callID, err = s.newCallID(false); err != nil {
			s.greMu.Lock()
			delete(s.own, client)
			s.greMu.Unlock()
			return nil, 0, nil, err
		}
		opt := s.cfg.Link.Socket
		opt.Local, opt.CallID, opt.Blocking = local, callID, true
		conn, err = gre.Dial(client, opt)
		done = func() {
			s.callIDs.Delete(callID)
			s.greMu.Lock()
			delete(s.own, client)
			s.greMu.Unlock()
		}
	} else {
		s.greMu.Unlock()
		if callID, err = s.newCallID(true); err != nil {
			return nil, 0, nil, err
		}
		done = func() { s.callIDs.Delete(callID) }
		var m *gre.Mux
		if m, err = s.mux(local); err == nil {
			conn, err = m.Dial(client, callID)
			m.Release()
		}
	}
	if err != nil {
		done()
		return nil, 0, nil, err
	}
	return conn, callID, done, nil
}

// mux returns the Mux for local, opened if there is none, with a reference taken.
func (s *Server) mux(local netip.Addr) (*gre.Mux, error) {
	s.greMu.Lock()
	defer s.greMu.Unlock()
	if m := s.muxes[local]; m != nil && m.Acquire() {
		return m, nil
	}
	m, err := gre.NewMux(local, s.cfg.Link.Socket)
	if err != nil {
		return nil, err
	}
	if s.muxes == nil {
		s.muxes = make(map[netip.Addr]*gre.Mux)
	}
	s.muxes[local] = m
	return m, nil
}

// Cipher names the link's encryption: "MPPE 128-bit stateless", or "none".
func Cipher(p ppp.LinkParams) string {
	if p.MPPE == nil {
		return "none"
	}
	mode := "stateful"
	if p.MPPE.Stateless {
		mode = "stateless"
	}
	return fmt.Sprintf("MPPE %d-bit %s", p.MPPE.Bits, mode)
}

// Describe is the one-line summary of a negotiated link.
func Describe(p ppp.LinkParams) string {
	enc := "no encryption"
	if p.MPPE != nil {
		enc = Cipher(p)
	}
	s := fmt.Sprintf("%s, address %s peer %s", enc, p.Local, p.Peer)
	if len(p.DNS) > 0 {
		s += " DNS"
		for _, d := range p.DNS {
			s += " " + d.String()
		}
	}
	return s
}
