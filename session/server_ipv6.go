// SPDX-License-Identifier: MIT

package session

import (
	"fmt"
	"net"
	"net/netip"
	"sync"

	"golang.zx2c4.com/wireguard/tun"

	"github.com/pptp-go/pptp/netif"
	"github.com/pptp-go/pptp/ppp"
	"github.com/pptp-go/pptp/ra"
)

// ServerIPv6 is what the server gives each session over IPv6 once IPV6CP opened (pptpd.conf
// remoteip6 and dns6). The zero value: the link-local addresses alone.
type ServerIPv6 struct {
	Pool *IPv6Pool     // a /64 per session, advertised by RA; nil: none
	DNS  []netip.Addr  // RDNSS in the advertisements
	RA   *ra.Responder // sends them on TUNs; required there with Pool or prefixes granted by Hooks
}

// IPv6Pool hands out the /64s of a prefix, one per session; safe for concurrent use.
type IPv6Pool struct {
	prefix netip.Prefix
	n      uint64 // /64s handed out from index first
	first  uint64

	mu   sync.Mutex
	used map[uint64]bool
}

// maxIPv6Pool bounds the /64s a pool hands out (more than the sessions a server holds).
const maxIPv6Pool = 1 << 20

// NewIPv6Pool makes the pool of p's /64s (p at most /64). Of more than one, the first
// (…::/64, often the server's own LAN) is kept back.
func NewIPv6Pool(p netip.Prefix) (*IPv6Pool, error) {
	if !p.Addr().Is6() || p.Bits() > 64 || p.Bits() < 0 {
		return nil, fmt.Errorf("IPv6 pool %v: need an IPv6 prefix of /64 or shorter", p)
	}
	pl := &IPv6Pool{prefix: p.Masked(), used: map[uint64]bool{}, n: 1}
	if b := 64 - p.Bits(); b > 0 {
		pl.first = 1
		pl.n = maxIPv6Pool
		if b < 20 {
			pl.n = 1<<b - 1
		}
	}
	return pl, nil
}

func (p *IPv6Pool) subnet(i uint64) netip.Prefix {
	a := p.prefix.Addr().As16()
	hi := uint64(a[0])<<56 | uint64(a[1])<<48 | uint64(a[2])<<40 | uint64(a[3])<<32 |
		uint64(a[4])<<24 | uint64(a[5])<<16 | uint64(a[6])<<8 | uint64(a[7])
	hi |= i
	for k := range 8 {
		a[k] = byte(hi >> (56 - 8*k))
	}
	return netip.PrefixFrom(netip.AddrFrom16(a), 64)
}

// Get reserves the first free /64.
func (p *IPv6Pool) Get() (netip.Prefix, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := p.first; i < p.first+p.n; i++ {
		if !p.used[i] {
			p.used[i] = true
			return p.subnet(i), true
		}
	}
	return netip.Prefix{}, false
}

// Put returns a /64 from Get.
func (p *IPv6Pool) Put(s netip.Prefix) {
	if !s.IsValid() {
		return
	}
	a := s.Addr().As16()
	var hi uint64
	for k := range 8 {
		hi = hi<<8 | uint64(a[k])
	}
	mask := uint64(1)<<(64-p.prefix.Bits()) - 1
	if p.prefix.Bits() == 0 {
		mask = ^uint64(0)
	}
	p.mu.Lock()
	delete(p.used, hi&mask)
	p.mu.Unlock()
}

// configure6 is a TUN session's IPv6 set-up when IPV6CP opened: the link-local addresses
// and the session's /64 (the verifier's grant, else the pool's) routed to its interface
// and advertised on it.
func (s *Server) configure6(ifnameOf func() string, logf func(string, ...any), sess func() *PPP, granted func() netip.Prefix) func(ppp.IPv6Params) (func() error, error) {
	return func(p ppp.IPv6Params) (func() error, error) {
		ifname := ifnameOf()
		v6 := s.cfg.IPv6
		nc := netif.Config6{IfName: ifname, Local: p.Local(), Peer: p.Peer(), Logf: logf}
		prefix, pooled := granted(), false
		if prefix.IsValid() {
			nc.Routes = []netip.Prefix{prefix}
			if v6.RA == nil {
				logf("IPv6: granted prefix %v, but nothing sends Router Advertisements (ServerIPv6.RA)", prefix)
			}
		} else if v6.Pool != nil {
			var ok bool
			if prefix, ok = v6.Pool.Get(); ok {
				pooled = true
				nc.Routes = []netip.Prefix{prefix}
			} else {
				logf("IPv6 pool exhausted: link-local addresses only")
			}
		}
		undo, err := netif.Apply6(nc)
		if err != nil {
			if pooled {
				v6.Pool.Put(prefix)
			}
			return nil, err
		}
		idx := 0
		if prefix.IsValid() && v6.RA != nil {
			ifi, err := net.InterfaceByName(ifname)
			if err == nil {
				idx = ifi.Index
				err = v6.RA.Add(idx, ifname, p.Local(), v6.sessionAd(prefix))
			}
			if err != nil {
				logf("%v", err)
			}
		}
		// Anti-spoofing, as for IPv4: the client sends from its link-local address or
		// from its /64.
		sess().dp.setSources6(p.Peer(), prefix)
		logf("IPv6: local %v, peer %v, prefix %v", p.Local(), p.Peer(), prefix)
		return func() error {
			if idx != 0 {
				v6.RA.Remove(idx)
			}
			err := undo()
			if pooled {
				v6.Pool.Put(prefix)
			}
			return err
		}, nil
	}
}

// sessionAd is the Router Advertisement of a session's link with prefix (invalid: none).
func (v6 *ServerIPv6) sessionAd(prefix netip.Prefix) ra.Advertisement {
	if !prefix.IsValid() {
		return ra.Advertisement{}
	}
	return ra.Advertisement{
		HopLimit: 64, RouterLifetime: ra.RouterLife,
		Prefix: prefix, ValidLife: ra.ValidLife, PreferredLife: ra.PreferredLife,
		DNS: v6.DNS, DNSLife: ra.RouterLife,
	}
}

// IPv6Router is a session's user-space stack that carries IPv6 as its link's router,
// sending the advertisement itself: there is no interface for ServerIPv6.RA
// (netstack.Stack from NewForwarding).
type IPv6Router interface {
	SetIPv6Router(local, peer netip.Addr, ad ra.Advertisement) error
}

// stack6 joins a netstack session's two halves: IPCP makes the stack, IPV6CP (which may
// open first) starts IPv6 on it. Both run on the engine goroutine.
type stack6 struct {
	dev     tun.Device
	pending func(tun.Device)
}

func (x *stack6) made(dev tun.Device) {
	x.dev = dev
	if f := x.pending; f != nil {
		x.pending = nil
		f(dev)
	}
}

func (x *stack6) whenMade(f func(tun.Device)) {
	if x.dev != nil {
		f(x.dev)
		return
	}
	x.pending = f
}

// configureStack6 is configure6 for a session in a user-space stack: the same /64 (the
// verifier's grant, else the pool's), advertised by the stack.
func (s *Server) configureStack6(logf func(string, ...any), sess func() *PPP, granted func() netip.Prefix, st *stack6) func(ppp.IPv6Params) (func() error, error) {
	return func(p ppp.IPv6Params) (func() error, error) {
		v6 := &s.cfg.IPv6
		prefix, pooled := granted(), false
		if !prefix.IsValid() && v6.Pool != nil {
			var ok bool
			if prefix, ok = v6.Pool.Get(); ok {
				pooled = true
			} else {
				logf("IPv6 pool exhausted: link-local addresses only")
			}
		}
		ad := v6.sessionAd(prefix)
		st.whenMade(func(dev tun.Device) {
			r, ok := dev.(IPv6Router)
			if !ok {
				logf("IPv6: the session's stack carries no IPv6")
				return
			}
			if err := r.SetIPv6Router(p.Local(), p.Peer(), ad); err != nil {
				logf("IPv6: %v", err)
			}
		})
		sess().dp.setSources6(p.Peer(), prefix)
		logf("IPv6: local %v, peer %v, prefix %v (advertised by the session's stack)", p.Local(), p.Peer(), prefix)
		return func() error {
			if pooled {
				v6.Pool.Put(prefix)
			}
			return nil
		}, nil
	}
}
