// SPDX-License-Identifier: MIT

package netstack

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"github.com/pptp-go/pptp/ra"
)

// A forwarding stack (pptpd's "egress netstack") is the IPv6 router of its link: there is
// no TUN for the server's ra.Responder to advertise on, so the stack sends the session's
// Router Advertisement itself, as the Responder does on a TUN: when IPv6 starts, every
// ra.Interval and in answer to Router Solicitations (at most one answer per minRADelay). Echo
// requests go to the Handler (gVisor would answer those to any address itself), and what
// the client advertises is ignored: a client does not configure its server.

// minRADelay is RFC 4861 §10 MIN_DELAY_BETWEEN_RAS, as ra.Responder keeps it: a client
// soliciting in a loop gets one answer every 3 s.
const minRADelay = 3 * time.Second

// raInterval is between unsolicited advertisements (a variable for tests).
var raInterval = ra.Interval

type router6 struct {
	pkt []byte // the advertisement as an IPv6 packet to all-nodes, checksum in

	mu        sync.Mutex
	solicited time.Time // when a solicitation was last answered
}

var allNodes = netip.MustParseAddr("ff02::1")

// SetIPv6Router starts IPv6 on a forwarding stack's link once IPV6CP opened: local and peer
// are the link-local addresses it agreed, and ad (with a prefix: the session's /64, and
// RDNSS) is advertised from local. Without a prefix nothing is advertised and the link
// carries link-local traffic alone.
func (st *Stack) SetIPv6Router(local, peer netip.Addr, ad ra.Advertisement) error {
	if !st.forwarding {
		return errors.New("netstack: SetIPv6Router needs a forwarding stack (NewForwarding); use SetIPv6")
	}
	if !local.Is6() || !local.IsLinkLocalUnicast() {
		return fmt.Errorf("netstack: IPv6 address %v is not link-local", local)
	}
	addr := tcpip.ProtocolAddress{Protocol: ipv6.ProtocolNumber, AddressWithPrefix: tcpip.AddressWithPrefix{
		Address: tcpip.AddrFrom16(local.As16()), PrefixLen: 64}}
	if err := st.s.AddProtocolAddress(nicID, addr, stack.AddressProperties{}); err != nil {
		return fmt.Errorf("netstack: address %v: %v", local, err)
	}
	// Everything IPv6 goes back over the link: the client's link-local address and its /64.
	st.s.AddRoute(tcpip.Route{Destination: header.IPv6EmptySubnet, NIC: nicID})
	var r *router6
	if ad.Prefix.IsValid() {
		r = &router6{pkt: icmp6Packet(local, allNodes, 255, ad.Append(nil))}
	}
	st.mu.Lock()
	st.local6, st.peer6, st.router = local, peer, r
	st.mu.Unlock()
	st.v6.Store(true)
	if r != nil {
		st.advertise(r, false)
		go st.advertiseEvery(r, raInterval)
	}
	return nil
}

// advertiseEvery repeats the advertisement until the stack closes.
func (st *Stack) advertiseEvery(r *router6, every time.Duration) {
	repeat(st.ctx, every, func() { st.advertise(r, false) })
}

// repeat calls fn every interval until ctx is done.
func repeat(ctx context.Context, every time.Duration, fn func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// advertise sends the advertisement onto the link. Answers to solicitations are spaced by
// minRADelay among themselves only: the first unsolicited one goes out as IPV6CP opens, and
// the client's datapath may not carry IPv6 yet, so its first solicitation is answered.
func (st *Stack) advertise(r *router6, solicited bool) {
	if solicited {
		r.mu.Lock()
		now := time.Now()
		if now.Sub(r.solicited) < minRADelay {
			r.mu.Unlock()
			st.debugf("IPv6: Router Solicitation within %v of the last answer; not answered", minRADelay)
			return
		}
		r.solicited = now
		r.mu.Unlock()
	}
	st.inject(r.pkt)
}

// icmp6Packet is an IPv6 packet carrying the ICMPv6 message msg, its checksum filled in.
func icmp6Packet(src, dst netip.Addr, hopLimit uint8, msg []byte) []byte {
	p := make([]byte, header.IPv6MinimumSize+len(msg))
	s, d := tcpip.AddrFrom16(src.As16()), tcpip.AddrFrom16(dst.As16())
	header.IPv6(p).Encode(&header.IPv6Fields{
		PayloadLength: uint16(len(msg)), TransportProtocol: header.ICMPv6ProtocolNumber, HopLimit: hopLimit,
		SrcAddr: s, DstAddr: d,
	})
	icmp := header.ICMPv6(p[header.IPv6MinimumSize:])
	copy(icmp, msg)
	icmp.SetChecksum(0)
	icmp.SetChecksum(header.ICMPv6Checksum(header.ICMPv6ChecksumParams{Header: icmp, Src: s, Dst: d}))
	return p
}

// routerICMPv6 takes the ICMPv6 messages a forwarding stack handles before gVisor (p has a
// valid IPv6 header and checksum): Router Solicitations, echo requests to others, and the
// client's own advertisements (dropped). It reports whether p was one of them.
func (st *Stack) routerICMPv6(p []byte) bool {
	h := header.IPv6(p)
	if h.NextHeader() != uint8(header.ICMPv6ProtocolNumber) || len(p) < header.IPv6MinimumSize+header.ICMPv6MinimumSize {
		return false
	}
	m := header.ICMPv6(p[header.IPv6MinimumSize : header.IPv6MinimumSize+int(h.PayloadLength())])
	src := netip.AddrFrom16(h.SourceAddress().As16())
	switch m.Type() {
	case header.ICMPv6RouterAdvert:
		st.debugf("IPv6: dropped a Router Advertisement from the client (%v)", src)
		return true
	case header.ICMPv6RouterSolicit:
		// RFC 4861 §6.1.1: hop limit 255, code 0, from a link-local or unspecified source.
		if h.HopLimit() != 255 || !ra.IsSolicitation(m) || !(src.IsLinkLocalUnicast() || src.IsUnspecified()) {
			st.debugf("IPv6: dropped a Router Solicitation from %v (hop limit %d, code %d)", src, h.HopLimit(), m.Code())
			return true
		}
		st.mu.Lock()
		r := st.router
		st.mu.Unlock()
		if r != nil {
			st.advertise(r, true)
		}
		return true
	case header.ICMPv6EchoRequest:
		dst := netip.AddrFrom16(h.DestinationAddress().As16())
		if st.ping == nil || len(m) < header.ICMPv6EchoMinimumSize || dst.IsMulticast() || dst == st.linkLocal6() {
			return false // the stack answers
		}
		st.ping(&PingRequest{
			Src: src, Dst: dst, ID: m.Ident(), Seq: m.Sequence(),
			Data: append([]byte(nil), m[header.ICMPv6EchoMinimumSize:]...), st: st,
		})
		return true
	}
	return false
}

func (st *Stack) linkLocal6() netip.Addr {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.local6
}

// reply6 is PingRequest.Reply for IPv6.
func (r *PingRequest) reply6() {
	msg := make([]byte, header.ICMPv6EchoMinimumSize+len(r.Data))
	m := header.ICMPv6(msg)
	m.SetType(header.ICMPv6EchoReply)
	m.SetIdent(r.ID)
	m.SetSequence(r.Seq)
	copy(msg[header.ICMPv6EchoMinimumSize:], r.Data)
	r.st.inject(icmp6Packet(r.Dst, r.Src, 64, msg))
}
