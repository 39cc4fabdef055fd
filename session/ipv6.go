// SPDX-License-Identifier: MIT

package session

import (
	"fmt"
	"net/netip"

	"github.com/pptp-go/pptp/netif"
	"github.com/pptp-go/pptp/ppp"
)

// wrapIPv6 hooks the session into IPV6CP's Up and Down (the caller's run too): the
// link-local addresses go on the device and the datapath starts to carry IPv6.
func (s *PPP) wrapIPv6(c *ppp.IPv6Config) {
	userUp, userDown := c.Up, c.Down
	c.Up = func(p ppp.IPv6Params) {
		if err := s.ipv6Up(p); err != nil {
			// IPv6 is an extra: IPv4 carries on without it.
			s.cfg.Logf("IPv6: %v; continuing with IPv4 alone", err)
			return
		}
		if userUp != nil {
			userUp(p)
		}
	}
	// The addresses stay until the session ends (Run undoes them, after LinkDown6): the
	// engine goroutine must not wait for a script, and a renegotiation keeps them.
	c.Down = func() {
		s.dp.ipv6.Store(false)
		if userDown != nil {
			userDown()
		}
	}
}

// ipv6Up runs on the engine goroutine when IPV6CP opened.
func (s *PPP) ipv6Up(p ppp.IPv6Params) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.undo6 == nil {
		var undo func() error
		var err error
		if s.cfg.Configure6 != nil {
			undo, err = s.cfg.Configure6(p)
		} else {
			nc := s.cfg.Netif6
			nc.IfName, nc.Local, nc.Peer = s.cfg.IfName, p.Local(), p.Peer()
			if nc.Logf == nil {
				nc.Logf = s.cfg.Logf
			}
			undo, err = netif.Apply6(nc)
		}
		if err != nil {
			return fmt.Errorf("configuring %s: %w", s.cfg.IfName, err)
		}
		s.undo6 = undo
	}
	s.dp.ipv6.Store(true)
	return nil
}

// ipv6Down stops IPv6 on the datapath and undoes its configuration (after LinkDown6).
func (s *PPP) ipv6Down() {
	s.dp.ipv6.Store(false)
	s.mu.Lock()
	undo := s.undo6
	s.undo6 = nil
	s.mu.Unlock()
	if undo == nil {
		return
	}
	if s.cfg.LinkDown6 != nil {
		s.cfg.LinkDown6()
	}
	if err := undo(); err != nil {
		s.cfg.Logf("IPv6: removing the interface configuration: %v", err)
	}
}

// sources6 are the IPv6 sources a server accepts from its client: its link-local address
// and its /64 (invalid: none).
type sources6 struct {
	ll     netip.Addr
	prefix netip.Prefix
}

// setSources6 turns IPv6 anti-spoofing on (a server's session, once IPV6CP opened).
func (d *datapath) setSources6(ll netip.Addr, prefix netip.Prefix) {
	d.src6.Store(&sources6{ll: ll, prefix: prefix})
}

// src6OK is srcOK for an IPv6 packet (its header checked): anything on a client's link, else
// only its link-local address and its /64.
func (d *datapath) src6OK(ip []byte) bool {
	s := d.src6.Load()
	if s == nil {
		return true
	}
	if len(ip) < 40 {
		return false // not an IPv6 header (an IPv4 frame whose version says 6)
	}
	a := netip.AddrFrom16([16]byte(ip[8:24]))
	return a == s.ll || s.prefix.IsValid() && s.prefix.Contains(a)
}
