// SPDX-License-Identifier: MIT

package session

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"

	"golang.zx2c4.com/wireguard/tun"

	"github.com/pptp-go/pptp/gre"
	"github.com/pptp-go/pptp/mppe"
	"github.com/pptp-go/pptp/netif"
	"github.com/pptp-go/pptp/ppp"
)

// PPPConfig describes the upper half of a built-in session: our engine and a TUN device.
type PPPConfig struct {
	Engine ppp.Config // Up, Down and TxReset are wrapped; the caller's are called too
	Dev    tun.Device
	IfName string
	// Netif is the template for the interface configuration; Local, Peer, MTU and (when
	// ApplyDNS) DNS are filled from the negotiated link.
	Netif    netif.Config
	ApplyDNS bool
	// Configure, when set, replaces netif.Apply: it sets up whatever sits above the link
	// (proxy mode: a user-space stack) and returns how to undo it.
	Configure func(p ppp.LinkParams) (undo func() error, err error)
	// LinkDown, if set, is called once the engine has stopped and before the interface
	// configuration is undone, if the link had come up (pppd's ip-down runs there).
	LinkDown func()
	Logf     func(format string, args ...any)
	// AntiSpoof (the server): IPv4 packets from the peer whose source is neither the address
	// it was given nor inside Routed (its routed subnets, e.g. a Framed-Route) are counted
	// (DataStats.RxSpoofed) and dropped instead of reaching the device.
	AntiSpoof bool
	Routed    []netip.Prefix
	// NoMSSClamp leaves the MSS of TCP SYNs crossing the tunnel alone (gre.LinkOptions'
	// NoMSSClamp, which both roles copy here); by default it is clamped to the MTU − 40.
	NoMSSClamp bool
}

// PPP is a running built-in PPP session over a GRE link.
type PPP struct {
	cfg    PPPConfig
	link   *gre.Link
	engine *ppp.Engine
	dp     *datapath

	mu     sync.Mutex
	undo   func() error
	params *ppp.LinkParams
	upErr  error
}

// lowerLink sends the engine's control frames on the GRE link.
type lowerLink struct{ link *gre.Link }

func (l lowerLink) SendFrame(frame []byte) error {
	b := make([]byte, gre.HeaderLen+len(frame))
	copy(b[gre.HeaderLen:], frame)
	_, err := l.link.Write([][]byte{b}, gre.HeaderLen)
	return err
}

// NewPPP prepares a session; Run starts it.
func NewPPP(link *gre.Link, cfg PPPConfig) *PPP {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	s := &PPP{cfg: cfg, link: link}
	s.dp = &datapath{dev: cfg.Dev, link: link, logf: cfg.Logf, up: make(chan struct{})}
	ec := cfg.Engine
	userUp, userDown, userReset := ec.Up, ec.Down, ec.TxReset
	ec.Up = func(p ppp.LinkParams) {
		p.DNS = uniqueAddrs(p.DNS)
		if err := s.linkUp(p); err != nil {
			s.mu.Lock()
			s.upErr = err
			s.mu.Unlock()
			cfg.Logf("%v", err)
			s.engine.Close()
			return
		}
		if userUp != nil {
			userUp(p)
		}
	}
	ec.Down = func() {
		s.dp.setDown()
		if userDown != nil {
			userDown()
		}
	}
	ec.TxReset = func() {
		if st := s.dp.state.Load(); st != nil && st.enc != nil {
			st.enc.RequestReset()
		}
		if userReset != nil {
			userReset()
		}
	}
	s.engine = ppp.NewEngine(ec, lowerLink{link})
	s.dp.engine = s.engine
	return s
}

// linkUp runs in the engine goroutine when IPCP (and CCP when required) opened.
func (s *PPP) linkUp(p ppp.LinkParams) error {
	st := &cryptoState{acfc: p.TxACFC}
	if !s.cfg.NoMSSClamp {
		mtu := p.MTU
		if mtu <= 0 {
			mtu = 1400 // never reached: the engine always says
		}
		st.mss = mssFor(mtu)
	}
	if s.cfg.AntiSpoof {
		st.src, st.routed = p.Peer, s.cfg.Routed
	}
	if p.MPPE != nil {
		st.stateful = !p.MPPE.Stateless
		var err error
		if st.enc, err = mppe.NewEncrypter(p.MPPE.SendKey[:], p.MPPE.Bits, p.MPPE.Stateless); err != nil {
			return fmt.Errorf("MPPE: %w", err)
		}
		if st.dec, err = mppe.NewDecrypter(p.MPPE.RecvKey[:], p.MPPE.Bits, p.MPPE.Stateless); err != nil {
			return fmt.Errorf("MPPE: %w", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.undo == nil && s.cfg.Configure != nil {
		undo, err := s.cfg.Configure(p)
		if err != nil {
			return err
		}
		s.undo = undo
	}
	if s.undo == nil {
		nc := s.cfg.Netif
		nc.IfName = s.cfg.IfName
		nc.Local, nc.Peer = p.Local, p.Peer
		if p.MTU > 0 {
			nc.MTU = p.MTU
		}
		if s.cfg.ApplyDNS {
			nc.DNS = p.DNS
		}
		nc.Logf = s.cfg.Logf
		undo, err := netif.Apply(nc)
		if err != nil {
			return fmt.Errorf("configuring %s: %w", s.cfg.IfName, err)
		}
		s.undo = undo
	}
	pp := p
	s.params = &pp
	s.link.Grow() // large receive buffers only for a link that is up (DeferPacketSize)
	s.dp.setUp(st)
	return nil
}

// setDevice names the device once it exists (the server makes it at authentication) and
// sets PPPConfig.Configure for it (nil: none); call it on the engine goroutine before Up
// (from Config.Assign).
func (s *PPP) setDevice(name string, configure func(p ppp.LinkParams) (undo func() error, err error)) {
	s.cfg.IfName = name
	if configure != nil {
		s.cfg.Configure = configure
	}
}

// Params returns the negotiated link once it is up, else nil.
func (s *PPP) Params() *ppp.LinkParams {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.params
}

// Stats returns the datapath counters.
func (s *PPP) Stats() *DataStats { return &s.dp.stats }

// ResetRequests is the number of CCP Reset-Requests sent for our stateful MPPE receiver.
func (s *PPP) ResetRequests() uint64 { return s.engine.ResetRequestsSent() }

// Close starts a graceful LCP termination; Run returns when it is done.
func (s *PPP) Close() { s.engine.Close() }

// Run runs the engine and the datapath until the link dies or ctx is cancelled (then it
// terminates LCP gracefully). It removes every address, route and DNS change it made, and
// closes the TUN device. The error says why the link ended (nil after a local close).
func (s *PPP) Run(ctx context.Context) error {
	done := make(chan struct{})
	s.link.SetGapHandler(s.dp.onGap)
	s.link.SetResyncHint(s.dp.resyncPoint)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := s.dp.RoutineReadFromTUN(done); err != nil {
			s.cfg.Logf("%v: closing the link", err)
			s.mu.Lock()
			if s.upErr == nil {
				s.upErr = err
			}
			s.mu.Unlock()
			s.engine.CloseWithReason("TUN device failed")
		}
	}()
	go func() {
		defer wg.Done()
		out := make([][]byte, 0, 128)
		s.link.Receive(func(bufs [][]byte, offs []int) {
			out = s.dp.deliver(bufs, offs, out)
		})
	}()
	ectx, ecancel := context.WithCancel(context.WithoutCancel(ctx))
	defer ecancel()
	stop := context.AfterFunc(ctx, func() {
		if errors.Is(context.Cause(ctx), ErrCallEnded) {
			ecancel() // the call is gone under us: one Terminate-Request, no wait for its Ack
			return
		}
		s.engine.Close()
	})
	err := s.engine.Run(ectx)
	stop()
	close(done)
	s.mu.Lock()
	if err == nil && s.upErr != nil {
		err = s.upErr
	}
	undo := s.undo
	s.undo = nil
	s.mu.Unlock()
	if undo != nil && s.cfg.LinkDown != nil {
		s.cfg.LinkDown()
	}
	var uerr error
	if undo != nil {
		uerr = undo()
	}
	s.cfg.Dev.Close()
	s.link.Close()
	wg.Wait()
	if err == nil && uerr != nil {
		err = fmt.Errorf("removing interface configuration: %w", uerr)
	}
	return err
}

// uniqueAddrs drops repeats (servers often send the same DNS as primary and secondary).
func uniqueAddrs(in []netip.Addr) []netip.Addr {
	var out []netip.Addr
	for _, a := range in {
		if a.IsValid() && !a.IsUnspecified() && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}
