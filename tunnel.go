// SPDX-License-Identifier: MIT

package pptp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.zx2c4.com/wireguard/tun"

	"github.com/pptp-go/pptp/control"
	"github.com/pptp-go/pptp/gre"
	"github.com/pptp-go/pptp/netif"
	"github.com/pptp-go/pptp/netstack"
	"github.com/pptp-go/pptp/ppp"
	"github.com/pptp-go/pptp/session"
)

// Tunnel is a PPTP call whose PPP link is up. Its methods are safe for concurrent use.
type Tunnel struct {
	call   *session.Tunnel
	sess   *session.PPP
	cancel context.CancelFunc // ends routineRun's session

	up     chan struct{} // closed by the engine's Up, after params (and tnet) are set
	upOnce sync.Once
	done   chan struct{} // closed by routineRun when the session is over; err is set then
	err    error
	over   atomic.Bool // set by routineRun just before done is closed

	mu     sync.Mutex
	params Params
	stack  *netstack.Stack // netstack mode; nil with a TUN
}

// TUNConfig configures DialTUN's kernel interface.
type TUNConfig struct {
	// Name is the interface name; a %d in it takes the first free number. "" = "pptp%d".
	Name string
	// Routes are sent through the tunnel; DefaultRoute sends everything (as 0.0.0.0/1 and
	// 128.0.0.0/1, leaving the original default route in place).
	Routes       []netip.Prefix
	DefaultRoute bool
	// SetDNS writes the server's DNS servers to /etc/resolv.conf (restored at Close).
	SetDNS bool
	// NoHostRoute skips the host route that keeps the server itself off the tunnel.
	NoHostRoute bool
	// Up runs once, when the link is up (before Dial returns), Down before the interface
	// configuration is removed; pppd's ip-up and ip-down go here. Neither may block long
	// nor call Close.
	Up   func(Params)
	Down func()
	// IPv6 (when the server opens IPV6CP; Config.PPP's IPv6.Mode decides): Up6 runs when the
	// link-local addresses are on the interface, Down6 before they are removed (pppd's
	// ipv6-up and ipv6-down). The kernel takes a global address from the server's Router
	// Advertisement; DefaultRoute6 also takes its default route.
	Up6           func(Params)
	Down6         func()
	DefaultRoute6 bool
}

// Dial places a call to cfg.Server and brings its PPP link up onto a user-space TCP/IP
// stack: no TUN device, no routes, no CAP_NET_ADMIN. It returns once the link can carry
// traffic (IPCP opened, MPPE keys in place), or a *DialError naming the stage that failed.
// ctx bounds the whole set-up; once Dial has returned it has no effect on the tunnel.
func Dial(ctx context.Context, cfg Config) (*Tunnel, error) {
	return dial(ctx, cfg, nil)
}

// DialTUN is Dial onto a kernel TUN device, configured with the link's addresses and tc's
// routes; Close removes every address, route and DNS change again. It needs CAP_NET_ADMIN
// besides CAP_NET_RAW. The interface is configured from the tunnel's own goroutines, so it
// works in the process's network namespace only (not from a thread switched into another).
func DialTUN(ctx context.Context, cfg Config, tc TUNConfig) (*Tunnel, error) {
	return dial(ctx, cfg, &tc)
}

func dial(ctx context.Context, cfg Config, tc *TUNConfig) (*Tunnel, error) {
	ec, err := cfg.engineConfig()
	if err != nil {
		return nil, &DialError{Stage: StageConfig, Err: err}
	}
	if ctx.Err() != nil {
		return nil, &DialError{Stage: StageConnect, Err: ctx.Err()}
	}
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	t := &Tunnel{up: make(chan struct{}), done: make(chan struct{})}

	var dev tun.Device
	pc := session.PPPConfig{Logf: logf, NoMSSClamp: cfg.Link.NoMSSClamp}
	if tc == nil {
		lazy := session.NewLazyDevice()
		dev, pc.IfName = lazy, "netstack"
		// IPCP makes the stack; IPV6CP, which may open first, adds IPv6 to it (both run on
		// the engine goroutine).
		var pending6 *ppp.IPv6Params
		pc.Configure = func(p ppp.LinkParams) (func() error, error) {
			st, err := netstack.New(p.Local, p.DNS, p.MTU)
			if err != nil {
				return nil, err
			}
			st.SetLogf(logf)
			if pending6 != nil {
				if err := st.SetIPv6(pending6.Local(), pending6.Peer()); err != nil {
					logf("IPv6: %v; continuing with IPv4 alone", err)
				}
			}
			lazy.Set(st)
			t.mu.Lock()
			t.stack = st
			t.mu.Unlock()
			return func() error { return nil }, nil // the device closes with the session
		}
		pc.Configure6 = func(p6 ppp.IPv6Params) (func() error, error) {
			if st := t.netstack(); st != nil {
				return func() error { return nil }, st.SetIPv6(p6.Local(), p6.Peer())
			}
			pending6 = &p6
			return func() error { return nil }, nil
		}
		ec.UsePeerDNS = true // the stack resolves names with the server's DNS
	} else {
		name := tc.Name
		if name == "" {
			name = "pptp%d"
		}
		mtu := int(ec.MTU)
		if mtu == 0 {
			mtu = DefaultMTU
		}
		if dev, pc.IfName, err = netif.CreateTUN(name, mtu); err != nil {
			return nil, &DialError{Stage: StageSetup, Err: err}
		}
		pc.Netif = netif.Config{Routes: tc.Routes, DefaultRoute: tc.DefaultRoute}
		pc.ApplyDNS = tc.SetDNS
		pc.LinkDown = tc.Down
		pc.Netif6 = netif.Config6{AcceptRA: true, DefaultRoute: tc.DefaultRoute6}
		pc.LinkDown6 = tc.Down6
	}
	userUp6 := ec.IPv6.Up
	ec.IPv6.Up = func(p6 ppp.IPv6Params) {
		t.mu.Lock()
		t.params.Local6, t.params.Peer6 = p6.Local(), p6.Peer()
		t.params.Interface = pc.IfName // IPV6CP may open before IPCP
		params := t.params
		t.mu.Unlock()
		logf("IPv6 up on %s: local %v, peer %v", pc.IfName, p6.Local(), p6.Peer())
		if userUp6 != nil {
			userUp6(p6)
		}
		if tc != nil && tc.Up6 != nil {
			tc.Up6(params)
		}
	}

	link := cfg.Link
	if link == (gre.LinkOptions{}) {
		link = DefaultLinkOptions()
	}
	// One bind address and routing mark for TCP and GRE, whichever says it.
	if !link.Socket.Local.IsValid() {
		link.Socket.Local = cfg.Control.LocalAddr
	}
	if link.Socket.Mark == 0 {
		link.Socket.Mark = cfg.Control.Mark
	}
	pctx, cancel := context.WithTimeout(ctx, placeTimeout)
	call, err := session.Dial(pctx, session.DialConfig{Server: cfg.Server, Control: cfg.Control, Link: link, Logf: logf})
	cancel()
	if err != nil {
		dev.Close()
		return nil, &DialError{Stage: placeStage(err), Err: err}
	}
	t.call = call
	logf("connected to %s (call ID %d, peer's call ID %d)", call.Server, call.Call.LocalCallID(), call.Call.PeerCallID())
	if tc != nil && !tc.NoHostRoute {
		pc.Netif.Server = call.Server
		pc.Netif.ServerShared = func() bool { return session.OtherCallsTo(call.Server, call.Call.LocalCallID()) }
	}

	userUp := ec.Up
	ec.Up = func(p ppp.LinkParams) {
		params := t.describe(p, pc.IfName, tc == nil)
		t.mu.Lock()
		params.Local6, params.Peer6 = t.params.Local6, t.params.Peer6 // IPV6CP may have been first
		t.params = params
		t.mu.Unlock()
		logf("link up on %s: %s", pc.IfName, session.Describe(p))
		if userUp != nil {
			userUp(p)
		}
		t.upOnce.Do(func() {
			if tc != nil && tc.Up != nil {
				tc.Up(params) // once: a renegotiation keeps the interface (Down runs once too)
			}
			close(t.up)
		})
	}
	if ec.Logf == nil {
		ec.Logf = logf
	}
	ec.Debug = ec.Debug || cfg.Debug
	pc.Engine, pc.Dev = ec, dev
	t.sess = session.NewPPP(call.Link, pc)

	rctx, rcancel := context.WithCancel(context.Background())
	t.cancel = rcancel
	go t.routineRun(rctx)

	select {
	case <-t.up:
		return t, nil
	case <-t.done:
		return nil, &DialError{Stage: pppStage(t.err), Err: t.err}
	case <-ctx.Done():
		rcancel()
		<-t.done
		return nil, &DialError{Stage: StageLink, Err: ctx.Err()}
	}
}

// routineRun runs the session until it ends or ctx is cancelled, then records why.
func (t *Tunnel) routineRun(ctx context.Context) {
	err := t.call.RunOver(ctx, t.sess.Run)
	if err == nil && ctx.Err() == nil {
		err = errors.New("link ended")
	}
	t.err = err
	t.over.Store(true)
	close(t.done)
}

// describe builds the Params of a link that came up.
func (t *Tunnel) describe(p ppp.LinkParams, ifname string, netstackMode bool) Params {
	out := Params{
		Server:     t.call.Server,
		CallID:     t.call.Call.LocalCallID(),
		PeerCallID: t.call.Call.PeerCallID(),
		Local:      p.Local,
		Peer:       p.Peer,
		DNS:        p.DNS,
		MTU:        p.MTU,
		User:       p.AuthUser,
		Auth:       p.Auth.String(),
		Encryption: session.Cipher(p),
	}
	if !netstackMode {
		out.Interface = ifname
	}
	if p.MPPE != nil {
		out.MPPEBits = p.MPPE.Bits
	}
	return out
}

// Close ends the tunnel in order (LCP Terminate, Call-Clear-Request, Stop-Control-Connection),
// removes what DialTUN configured and waits until nothing of it is left. It returns what
// went wrong in that teardown (nil when all went well, or when the tunnel had already
// ended: Err says why). It is idempotent. It must not be called from the TUNConfig or
// Config.PPP callbacks, which run on the goroutine it waits for.
func (t *Tunnel) Close() error {
	if t.ended() {
		return nil
	}
	t.cancel()
	<-t.done
	return t.Err()
}

// Done is closed when the tunnel has ended, by Close or because the link failed.
func (t *Tunnel) Done() <-chan struct{} { return t.done }

// Err says why the tunnel ended: nil while it runs and after a Close that tore everything
// down; otherwise the failure (the server hung up, the peer stopped answering echoes, a
// route that could not be removed, …).
func (t *Tunnel) Err() error {
	if !t.ended() || errors.Is(t.err, context.Canceled) {
		return nil // t.err is written before over is set
	}
	return t.err
}

// Params describes the link.
func (t *Tunnel) Params() Params {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.params
	p.DNS = append([]netip.Addr(nil), p.DNS...)
	return p
}

// Stats returns the tunnel's counters now.
func (t *Tunnel) Stats() Stats {
	ds, gs := t.sess.Stats(), t.call.Link.Stats()
	return Stats{
		TxPackets:       ds.TxPackets.Load(),
		TxBytes:         ds.TxBytes.Load(),
		RxPackets:       ds.RxPackets.Load(),
		RxBytes:         ds.RxBytes.Load(),
		TxDropped:       ds.TxDropped.Load(),
		RxDecryptErrors: ds.RxDecryptErrors.Load(),
		RxUnencrypted:   ds.RxUnencrypted.Load(),
		RxBadIP:         ds.RxBadIP.Load(),
		RxMPPESanity:    ds.RxSanity.Load(),
		RxLost:          gs.RxLost.Load(),
		RxReordered:     gs.RxBuffered.Load(),
		RxInvalid:       gs.RxInvalid.Load(),
		TxFailed:        gs.TxFailed.Load(),
		CCPResets:       t.sess.ResetRequests(),
		RTT:             rtt(gs),
		EchoRTT:         t.call.Call.EchoRTT(),
	}
}

// LinkStats are the live counters of the GRE link, in pptp-linux's terms (its String is
// pptp's SIGUSR1 dump). They are the datapath's own: read them, do not store into them.
func (t *Tunnel) LinkStats() *gre.Stats { return t.call.Link.Stats() }

// DataStats are the live counters of the IP datapath, read-only as LinkStats.
func (t *Tunnel) DataStats() *session.DataStats { return t.sess.Stats() }

// DialError is a failed Dial: the stage that failed and why.
type DialError struct {
	Stage Stage
	Err   error
}

func (e *DialError) Error() string { return e.Stage.String() + ": " + e.Err.Error() }
func (e *DialError) Unwrap() error { return e.Err }

// Stage is a step of setting a tunnel up.
type Stage uint8

const (
	StageConfig  Stage = iota // Config was refused before anything was sent
	StageSetup                // a local resource: the raw GRE socket (CAP_NET_RAW), the TUN
	StageConnect              // resolving the server or its TCP connection
	StageControl              // the PPTP control exchange (Start-Control-Connection, Outgoing-Call)
	StageLCP                  // LCP negotiation over GRE
	StageAuth                 // authentication
	StageCCP                  // MPPE negotiation (CCP)
	StageIPCP                 // IPCP: addresses and DNS
	// StageLink: the link failed after IPCP and CCP, or Dial's context ended during PPP
	// (errors.Is(err, context.Canceled or DeadlineExceeded) tells the latter, in any stage).
	StageLink
)

var stageNames = [...]string{"configuration", "local set-up", "connect", "PPTP control", "LCP", "authentication", "encryption (CCP)", "IPCP", "link"}

func (s Stage) String() string {
	if int(s) < len(stageNames) {
		return stageNames[s]
	}
	return fmt.Sprintf("stage %d", uint8(s))
}

// placeStage is the stage that failed when placing the call failed.
func placeStage(err error) Stage {
	switch {
	case errors.Is(err, control.ErrConnect), errors.Is(err, session.ErrResolve):
		return StageConnect
	case errors.Is(err, session.ErrGRESocket):
		return StageSetup
	}
	return StageControl // a refusal (*control.ResultError), a timeout, a broken exchange
}

// pppStage is the stage a PPP failure belongs to.
func pppStage(err error) Stage {
	switch {
	case errors.Is(err, ppp.ErrAuthFailed):
		return StageAuth
	case errors.Is(err, ppp.ErrLCP):
		return StageLCP
	case errors.Is(err, ppp.ErrCCP):
		return StageCCP
	case errors.Is(err, ppp.ErrIPCP):
		return StageIPCP
	}
	return StageLink
}

func rtt(gs *gre.Stats) time.Duration { return time.Duration(gs.RTT.Load()) }
