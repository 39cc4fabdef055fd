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
	// Stack, when set, ends each session in a user-space stack instead of a TUN (pptpd's
	// "egress netstack"): it is called once the link is up and returns the session's
	// stack (netstack.NewForwarding's, on p.Local) and what to stop when the session ends.
	Stack func(client netip.Addr, p ppp.LinkParams) (dev tun.Device, stop func(), err error)
	// LinkScripts, when set, gives each session hooks run when its link comes up and
	// before its interface configuration is removed (pppd's ip-up and ip-down).
	LinkScripts func(client netip.Addr) (up func(ifname string, p ppp.LinkParams), down func())
	// Hooks, when set, gives each session its authentication, accounting and
	// disconnect hooks (RADIUS); nil from it means none for that call.
	Hooks func(c *Call) Hooks
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
}

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
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	return &Server{cfg: cfg}, nil
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

// newCallID picks a free Call ID, with gre.MuxCallIDBit set if muxed and clear if not.
func (s *Server) newCallID(muxed bool) uint16 {
	for {
		id := control.RandomCallID() &^ gre.MuxCallIDBit
		if muxed {
			id |= gre.MuxCallIDBit
		}
		if id == 0 {
			continue
		}
		if _, busy := s.callIDs.LoadOrStore(id, struct{}{}); !busy {
			return id
		}
	}
}

// serveConn runs one control connection and its call.
func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	logf := s.cfg.Logf
	remote, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	local, _ := netip.ParseAddrPort(c.LocalAddr().String())
	client := remote.Addr().Unmap()

	// The GRE socket exists before the Outgoing-Call-Reply, so the client's first LCP frames
	// are not answered with ICMP protocol-unreachable.
	conn, localID, done, err := s.dialGRE(local.Addr().Unmap(), client)
	if err != nil {
		logf("client %s: %v", client, err)
		return
	}
	defer done()
	var pair pppconf.AddrPair
	var havePair bool
	ccfg := s.cfg.Control
	ccfg.RecvWindow = recvWindow(ccfg.RecvWindow, conn, logf)
	var peerID uint16
	ccfg.NewCall = func(peerCallID uint16, req control.OCRQ) (uint16, error) {
		peerID = peerCallID
		if s.sessions.Add(1) > int64(s.cfg.Connections) {
			s.sessions.Add(-1)
			return 0, fmt.Errorf("%w: connection limit %d reached", control.ErrBusy, s.cfg.Connections)
		}
		if pair, havePair = s.cfg.Pool.Get(); !havePair {
			s.sessions.Add(-1)
			return 0, fmt.Errorf("%w: address pool exhausted", control.ErrBusy)
		}
		return localID, nil
	}
	call, err := control.Accept(ctx, c, ccfg)
	if err != nil {
		conn.Close()
		if havePair {
			s.cfg.Pool.Put(pair)
			s.sessions.Add(-1)
		}
		logf("client %s: %v", client, err)
		return
	}
	// The address and the slot go back as soon as PPP is over, not after the control
	// connection's own teardown (which may wait seconds for a silent client).
	var releaseOnce sync.Once
	release := func() {
		releaseOnce.Do(func() {
			s.cfg.Pool.Put(pair)
			s.sessions.Add(-1)
		})
	}
	defer release()

	link := newLink(conn, call, s.cfg.Link, logf)
	t := &Tunnel{Call: call, Link: link, Server: client}
	dev, ifname, configure, err := s.device(client)
	if err != nil {
		logf("client %s: %v", client, err)
		link.Close()
		call.Close()
		return
	}
	ec := s.cfg.PPP
	ec.Server = true
	ec.LocalIP, ec.PeerIP = pair.Local, pair.Remote
	ec.Logf = func(format string, args ...any) { logf(ifname+": "+format, args...) }
	var scriptUp func(string, ppp.LinkParams)
	var scriptDown func()
	if s.cfg.LinkScripts != nil {
		scriptUp, scriptDown = s.cfg.LinkScripts(client)
	}
	ec.Up = func(p ppp.LinkParams) {
		logf("%s: client %s user %q: %s", ifname, client, p.AuthUser, Describe(p))
		if scriptUp != nil {
			scriptUp(ifname, p)
		}
		s.table.up(ifname, p)
		if s.cfg.SessionUp != nil {
			s.cfg.SessionUp(ifname, p)
		}
	}
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var hooks Hooks
	hc := &Call{Client: client, Local: local.Addr().Unmap(), CallID: localID, PeerCallID: peerID, IfName: ifname, cancel: cancel}
	if s.cfg.Hooks != nil {
		if hooks = s.cfg.Hooks(hc); hooks != nil {
			ec.Verify = hooks.Verify
			up := ec.Up
			ec.Up = func(p ppp.LinkParams) { up(p); hooks.Up(p) }
		}
	}
	sess := NewPPP(link, PPPConfig{Engine: ec, Dev: dev, IfName: ifname, Logf: ec.Logf, LinkDown: scriptDown, Configure: configure})
	hc.sess = sess
	entry := s.table.add(&liveSession{
		info: SessionInfo{IfName: ifname, Client: client, CallID: localID, PeerCallID: peerID, Started: time.Now()},
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
	st := link.Stats()
	counts := fmt.Sprintf("GRE sent %d, %d of them fast; received %d", st.TxSent.Load(), st.TxFast.Load(), st.RxAccepted.Load())
	if ds := sess.Stats(); ds.RxDecryptErrors.Load()+ds.RxBadIP.Load()+ds.RxTunErrors.Load() > 0 {
		counts += fmt.Sprintf("; dropped: %d undecryptable, %d bad IPv4 after decryption, %d TUN write errors",
			ds.RxDecryptErrors.Load(), ds.RxBadIP.Load(), ds.RxTunErrors.Load())
	}
	if _, shared := conn.(*gre.MuxConn); shared {
		counts += "; shared GRE socket"
	}
	if err != nil {
		logf("%s: client %s: session ended (%s): %v", ifname, client, counts, err)
	} else {
		logf("%s: client %s: session ended (%s)", ifname, client, counts)
	}
	if hooks != nil {
		hooks.Down(err, ctx.Err() != nil)
	}
	if s.cfg.SessionDown != nil {
		s.cfg.SessionDown(ifname, err)
	}
}

// device is a session's device: a TUN, or with cfg.Stack a user-space stack made once the
// link is up (configure sets it up; its undo stops it).
func (s *Server) device(client netip.Addr) (dev tun.Device, ifname string, configure func(ppp.LinkParams) (func() error, error), err error) {
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
		callID = s.newCallID(false)
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
		callID = s.newCallID(true)
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
