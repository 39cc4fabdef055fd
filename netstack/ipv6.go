// SPDX-License-Identifier: MIT

package netstack

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"github.com/pptp-go/pptp/ra"
)

// IPv6 on the link. gVisor's own Neighbor Discovery stays off (no link-layer addresses on
// PPP, and its address generation wants a MAC): the link-local addresses are IPV6CP's, and
// the global address is made here from the server's Router Advertisement, the /64 with our
// interface identifier, as the kernel does on a PPP link. Solicitations are sent as a host
// does (RFC 4861 §6.3.7: up to 3, 4 s apart) until an advertisement came, since the server's
// first one may arrive before the datapath carries IPv6.

const (
	rtrSolicitations        = 3
	rtrSolicitationInterval = 4 * time.Second
)

// SetIPv6 starts IPv6 on the link once IPV6CP opened: local and peer are the link-local
// addresses it agreed. Router Solicitations go out until the server advertises a prefix.
func (st *Stack) SetIPv6(local, peer netip.Addr) error {
	if st.forwarding {
		return errors.New("netstack: a forwarding stack is the link's router: use SetIPv6Router")
	}
	if !local.Is6() || !local.IsLinkLocalUnicast() {
		return fmt.Errorf("netstack: IPv6 address %v is not link-local", local)
	}
	addr := tcpip.ProtocolAddress{Protocol: ipv6.ProtocolNumber, AddressWithPrefix: tcpip.AddressWithPrefix{
		Address: tcpip.AddrFrom16(local.As16()), PrefixLen: 64}}
	if err := st.s.AddProtocolAddress(nicID, addr, stack.AddressProperties{}); err != nil {
		return fmt.Errorf("netstack: address %v: %v", local, err)
	}
	st.s.AddRoute(tcpip.Route{Destination: linkLocalSubnet, NIC: nicID})
	st.mu.Lock()
	st.local6, st.peer6 = local, peer
	st.mu.Unlock()
	st.v6.Store(true)
	st.solicit(rtrSolicitations)
	return nil
}

var linkLocalSubnet = func() tcpip.Subnet {
	s, err := tcpip.NewSubnet(tcpip.AddrFrom16([16]byte{0xfe, 0x80}), tcpip.MaskFromBytes([]byte{0xff, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}))
	if err != nil {
		panic(err)
	}
	return s
}()

// solicit sends a Router Solicitation and schedules the next of n, unless an advertisement
// came or the stack closed.
func (st *Stack) solicit(n int) {
	if n == 0 || st.ctx.Err() != nil {
		return
	}
	st.mu.Lock()
	done, src := st.global6.IsValid(), st.local6
	st.mu.Unlock()
	if done {
		return
	}
	st.inject(routerSolicitation(src))
	time.AfterFunc(rtrSolicitationInterval, func() { st.solicit(n - 1) })
}

// inject queues one packet of ours for the link, as if the stack had sent it.
func (st *Stack) inject(p []byte) {
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(p)})
	var l stack.PacketBufferList
	l.PushBack(pkt)
	st.ep.WritePackets(l)
	pkt.DecRef()
}

// routerSolicitation is an RS from src to all-routers (RFC 4861 §4.1), without the
// source link-layer option a PPP link has no use for.
func routerSolicitation(src netip.Addr) []byte {
	p := make([]byte, header.IPv6MinimumSize+8)
	dst := netip.MustParseAddr("ff02::2")
	header.IPv6(p).Encode(&header.IPv6Fields{
		PayloadLength: 8, TransportProtocol: header.ICMPv6ProtocolNumber, HopLimit: 255,
		SrcAddr: tcpip.AddrFrom16(src.As16()), DstAddr: tcpip.AddrFrom16(dst.As16()),
	})
	icmp := header.ICMPv6(p[header.IPv6MinimumSize:])
	icmp.SetType(header.ICMPv6RouterSolicit)
	icmp.SetChecksum(header.ICMPv6Checksum(header.ICMPv6ChecksumParams{
		Header: icmp, Src: tcpip.AddrFrom16(src.As16()), Dst: tcpip.AddrFrom16(dst.As16()),
	}))
	return p
}

// routerAdvertisement takes a Router Advertisement from the link (p, checksums checked):
// the /64 with our identifier becomes the stack's global address, a router lifetime the
// default route, RDNSS the DNS servers. It reports whether p was one (the stack does not
// see those: its NDP is off).
func (st *Stack) routerAdvertisement(p []byte) bool {
	h := header.IPv6(p)
	if h.NextHeader() != uint8(header.ICMPv6ProtocolNumber) || len(p) < header.IPv6MinimumSize+1 ||
		p[header.IPv6MinimumSize] != ra.TypeRouterAdvertisement {
		return false
	}
	src := netip.AddrFrom16(h.SourceAddress().As16())
	if h.HopLimit() != 255 || !src.IsLinkLocalUnicast() { // RFC 4861 §6.1.2
		st.debugf("IPv6: dropped a Router Advertisement from %v (hop limit %d)", src, h.HopLimit())
		return true
	}
	ad, err := ra.Parse(h.Payload())
	if err != nil {
		st.debugf("IPv6: Router Advertisement from %v: %v", src, err)
		return true
	}
	if ok, why := ad.Usable(); !ok {
		st.debugf("IPv6: Router Advertisement from %v ignored: %s", src, why)
		return true
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	id := st.local6.As16()
	pfx := ad.Prefix.Masked().Addr().As16()
	copy(pfx[8:], id[8:])
	global := netip.AddrFrom16(pfx)
	if global != st.global6 {
		if st.global6.IsValid() {
			st.s.RemoveAddress(nicID, tcpip.AddrFrom16(st.global6.As16()))
		}
		addr := tcpip.ProtocolAddress{Protocol: ipv6.ProtocolNumber, AddressWithPrefix: tcpip.AddressWithPrefix{
			Address: tcpip.AddrFrom16(global.As16()), PrefixLen: 64}}
		if err := st.s.AddProtocolAddress(nicID, addr, stack.AddressProperties{}); err != nil {
			st.debugf("IPv6: address %v: %v", global, err)
			return true
		}
		st.global6 = global
		st.debugf("IPv6: address %v from the server's advertisement", global)
	}
	if ad.RouterLifetime > 0 && !st.route6 {
		st.s.AddRoute(tcpip.Route{Destination: header.IPv6EmptySubnet, NIC: nicID})
		st.route6 = true
	}
	for _, d := range ad.DNS {
		if !containsAddr(st.dns, d) {
			st.dns = append(st.dns, d)
		}
	}
	return true
}

func containsAddr(l []netip.Addr, a netip.Addr) bool {
	for _, x := range l {
		if x == a {
			return true
		}
	}
	return false
}

// checksums6OK checks the TCP, UDP or ICMPv6 checksum of an IPv6 packet whose transport
// header follows the fixed header; packets with extension headers are the stack's to check.
func checksums6OK(p []byte) bool {
	h := header.IPv6(p)
	if !h.IsValid(len(p)) {
		return false
	}
	payload := p[header.IPv6MinimumSize : header.IPv6MinimumSize+int(h.PayloadLength())]
	proto := tcpip.TransportProtocolNumber(h.NextHeader())
	var min int
	switch proto {
	case header.TCPProtocolNumber:
		min = header.TCPMinimumSize
	case header.UDPProtocolNumber:
		min = header.UDPMinimumSize
	case header.ICMPv6ProtocolNumber:
		min = header.ICMPv6MinimumSize
	default:
		return true
	}
	if len(payload) < min {
		return false
	}
	// UDP over IPv6 must carry a checksum (RFC 8200 §8.1), so zero is as wrong as any other.
	sum := header.PseudoHeaderChecksum(proto, h.SourceAddress(), h.DestinationAddress(), uint16(len(payload)))
	return checksum.Checksum(payload, sum) == 0xffff
}

// addrProto is a's tcpip form and network protocol.
func addrProto(a netip.Addr) (tcpip.Address, tcpip.NetworkProtocolNumber) {
	if a.Is4() || a.Is4In6() {
		return tcpip.AddrFrom4(a.Unmap().As4()), header.IPv4ProtocolNumber
	}
	return tcpip.AddrFrom16(a.As16()), header.IPv6ProtocolNumber
}
