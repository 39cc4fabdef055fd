// SPDX-License-Identifier: MIT

// Package ra is the IPv6 router side of a PPP link, as pptpd needs it: Router
// Advertisements (RFC 4861 §4.2) with one /64 Prefix Information option for stateless
// autoconfiguration (RFC 4862), the link MTU and DNS servers (RDNSS, RFC 8106), sent when a
// session's IPV6CP opens, in answer to Router Solicitations and periodically. A Responder
// sends them on a server's TUN links from one raw socket; a session without a TUN (package
// netstack's router) builds its own packets from the same messages. The client side parses
// them with Parse; IsSolicitation recognizes its request for one.
//
// The messages are ICMPv6 bodies: the IPv6 header and the checksum are the sender's (the
// kernel's for a Responder).
//
// Deviation: RFC 4861 §6.2.5 asks a router that stops advertising on an interface for
// final advertisements with a Router Lifetime of 0. A session's link stops advertising only
// as the link itself ends (LCP Terminate), and the client's routes and addresses go with its
// interface; an advertisement sent then would race the Terminate-Request and be dropped by
// the datapath that is closing, so none is sent.
package ra

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// ICMPv6 types (RFC 4861 §4).
const (
	TypeRouterSolicitation  = 133
	TypeRouterAdvertisement = 134
)

// Neighbor Discovery option types.
const (
	optPrefixInfo = 3  // RFC 4861 §4.6.2
	optMTU        = 5  // RFC 4861 §4.6.4
	optRDNSS      = 25 // RFC 8106 §5.1
)

// Advertisement is what a Router Advertisement says.
type Advertisement struct {
	HopLimit       uint8         // Cur Hop Limit for the host (0: unspecified)
	RouterLifetime time.Duration // as a default router (0: not one); at most 9000 s
	// Prefix is the on-link, autonomous prefix (SLAAC needs a /64); invalid = none.
	Prefix                   netip.Prefix
	ValidLife, PreferredLife time.Duration
	MTU                      uint32       // 0: no MTU option
	DNS                      []netip.Addr // RDNSS; empty: none
	DNSLife                  time.Duration
}

// Defaults for a session's link: the router and DNS lifetimes cover three periodic
// advertisements (RFC 8106 §5.1 asks for at least MaxRtrAdvInterval), the prefix a day.
const (
	Interval      = 10 * time.Minute // between unsolicited advertisements (MaxRtrAdvInterval)
	RouterLife    = 3 * Interval
	ValidLife     = 24 * time.Hour
	PreferredLife = 4 * time.Hour
)

func seconds(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	return uint32(d / time.Second)
}

// Append appends a's ICMPv6 message (checksum zero: the kernel fills it in) to b.
func (a *Advertisement) Append(b []byte) []byte {
	rl := seconds(a.RouterLifetime)
	if rl > 9000 {
		rl = 9000 // RFC 4861 §6.2.1: AdvDefaultLifetime at most 9000 s
	}
	b = append(b, TypeRouterAdvertisement, 0, 0, 0, a.HopLimit, 0, byte(rl>>8), byte(rl))
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0) // reachable time, retrans timer: unspecified
	if a.Prefix.IsValid() {
		p := a.Prefix.Masked()
		b = append(b, optPrefixInfo, 4, byte(p.Bits()), 0xC0) // L (on-link), A (autonomous)
		b = binary.BigEndian.AppendUint32(b, seconds(a.ValidLife))
		b = binary.BigEndian.AppendUint32(b, seconds(a.PreferredLife))
		b = append(b, 0, 0, 0, 0)
		v := p.Addr().As16()
		b = append(b, v[:]...)
	}
	if a.MTU != 0 {
		b = append(b, optMTU, 1, 0, 0)
		b = binary.BigEndian.AppendUint32(b, a.MTU)
	}
	if len(a.DNS) > 0 {
		b = append(b, optRDNSS, byte(1+2*len(a.DNS)), 0, 0)
		b = binary.BigEndian.AppendUint32(b, seconds(a.DNSLife))
		for _, d := range a.DNS {
			v := d.As16()
			b = append(b, v[:]...)
		}
	}
	return b
}

var (
	errShort   = errors.New("ra: message too short")
	errType    = errors.New("ra: not a Router Advertisement")
	errOption  = errors.New("ra: malformed option")
	errTooMany = errors.New("ra: more than 8 RDNSS addresses")
)

// Parse reads a Router Advertisement's ICMPv6 message. Of several Prefix Information
// options it keeps the first with the A flag; unknown options are skipped (RFC 4861 §4.6).
// It does not judge the values: see Usable.
func Parse(b []byte) (Advertisement, error) {
	var a Advertisement
	if len(b) < 16 {
		return a, errShort
	}
	if b[0] != TypeRouterAdvertisement || b[1] != 0 {
		return a, errType
	}
	a.HopLimit = b[4]
	a.RouterLifetime = time.Duration(binary.BigEndian.Uint16(b[6:])) * time.Second
	for o := b[16:]; len(o) > 0; {
		if len(o) < 2 || o[1] == 0 || int(o[1])*8 > len(o) {
			return a, errOption // RFC 4861 §4.6: a zero length means the packet is dropped
		}
		n := int(o[1]) * 8
		d := o[:n]
		switch o[0] {
		case optPrefixInfo:
			if n != 32 || d[2] > 128 {
				return a, errOption
			}
			if d[3]&0x40 != 0 && !a.Prefix.IsValid() {
				a.Prefix = netip.PrefixFrom(netip.AddrFrom16([16]byte(d[16:32])), int(d[2])).Masked()
				a.ValidLife = time.Duration(binary.BigEndian.Uint32(d[4:])) * time.Second
				a.PreferredLife = time.Duration(binary.BigEndian.Uint32(d[8:])) * time.Second
			}
		case optMTU:
			if n != 8 {
				return a, errOption
			}
			a.MTU = binary.BigEndian.Uint32(d[4:])
		case optRDNSS:
			if n < 24 || (n-8)%16 != 0 {
				return a, errOption
			}
			if len(a.DNS)+(n-8)/16 > 8 {
				return a, errTooMany
			}
			a.DNSLife = time.Duration(binary.BigEndian.Uint32(d[4:])) * time.Second
			for i := 8; i < n; i += 16 {
				a.DNS = append(a.DNS, netip.AddrFrom16([16]byte(d[i:i+16])))
			}
		}
		o = o[n:]
	}
	return a, nil
}

// Usable says whether a host can autoconfigure from a's prefix, and if not, why (for a
// debug line): SLAAC over a PPP link needs a /64 with non-zero lifetimes, the preferred
// within the valid one (RFC 4862 §5.5.3).
func (a *Advertisement) Usable() (bool, string) {
	switch {
	case !a.Prefix.IsValid():
		return false, "no autonomous prefix"
	case a.Prefix.Bits() != 64:
		return false, fmt.Sprintf("prefix %v is not a /64", a.Prefix)
	case !a.Prefix.Addr().IsGlobalUnicast() || a.Prefix.Addr().IsLinkLocalUnicast():
		return false, fmt.Sprintf("prefix %v is not global", a.Prefix)
	case a.ValidLife == 0 || a.PreferredLife == 0:
		return false, fmt.Sprintf("prefix %v has a zero lifetime", a.Prefix)
	case a.PreferredLife > a.ValidLife:
		return false, fmt.Sprintf("prefix %v: preferred lifetime above the valid one", a.Prefix)
	}
	return true, ""
}

// IsSolicitation reports whether b is a Router Solicitation (RFC 4861 §4.1: type 133,
// code 0, at least 8 bytes; the hop limit of 255 is checked by the receiver).
func IsSolicitation(b []byte) bool {
	return len(b) >= 8 && b[0] == TypeRouterSolicitation && b[1] == 0
}
