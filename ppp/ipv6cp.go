// SPDX-License-Identifier: MIT

package ppp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// IPV6CP configuration option types (RFC 5072 §4).
const (
	ipv6cpIfaceID  = 1 // Interface-Identifier: 8 bytes
	ipv6cpCompress = 2 // IPv6-Compression-Protocol: never done
)

// InterfaceID is an IPv6 interface identifier (RFC 5072 §4.1): the low 64 bits of the
// link-local address fe80::ID each end of the link takes.
type InterfaceID [8]byte

// IsZero reports whether id is all zeros (RFC 5072: "no identifier", never acceptable).
func (id InterfaceID) IsZero() bool { return id == InterfaceID{} }

// String is pppd's notation: four groups of four hex digits, 4cd4:324b:d570:1cbd.
func (id InterfaceID) String() string {
	return fmt.Sprintf("%04x:%04x:%04x:%04x", binary.BigEndian.Uint16(id[0:]),
		binary.BigEndian.Uint16(id[2:]), binary.BigEndian.Uint16(id[4:]), binary.BigEndian.Uint16(id[6:]))
}

// LinkLocal is the link-local address fe80::ID.
func (id InterfaceID) LinkLocal() netip.Addr {
	var a [16]byte
	a[0], a[1] = 0xfe, 0x80
	copy(a[8:], id[:])
	return netip.AddrFrom16(a)
}

// InterfaceIDFromIPv4 is ipv6cp-use-ipaddr's identifier: the IPv4 address in the low 32 bits.
func InterfaceIDFromIPv4(a netip.Addr) InterfaceID {
	var id InterfaceID
	if a.Is4() {
		v := a.As4()
		copy(id[4:], v[:])
	}
	return id
}

// ParseInterfaceID reads an identifier as pppd's `ipv6` option takes it: an IPv6 address
// whose low 64 bits are the identifier ("::1", "::dead:beef", "fe80::1:2:3:4").
func ParseInterfaceID(s string) (InterfaceID, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() || a.Zone() != "" || !strings.Contains(s, ":") {
		return InterfaceID{}, fmt.Errorf("bad interface identifier %q (want an IPv6 address such as ::1 or ::dead:beef)", s)
	}
	b := a.As16()
	return InterfaceID(b[8:]), nil
}

// IPv6Mode is when IPV6CP runs.
type IPv6Mode uint8

const (
	// IPv6Off Protocol-Rejects IPV6CP (pppd's noipv6). The zero value: a Config that says
	// nothing of IPv6 behaves as before IPV6CP existed.
	IPv6Off IPv6Mode = iota
	// IPv6Passive answers IPV6CP when the peer opens it (our built-in default).
	IPv6Passive
	// IPv6Active opens IPV6CP beside IPCP (pppd's +ipv6).
	IPv6Active
)

// IPv6Config is IPV6CP's part of Config (RFC 5072).
type IPv6Config struct {
	Mode IPv6Mode
	// LocalID and PeerID are pppd's `ipv6 <local>,<remote>`: our identifier (zero: random)
	// and the one we suggest to the peer once if it asks for another (zero: its choice).
	LocalID, PeerID InterfaceID
	// UseIPAddr (ipv6cp-use-ipaddr) takes an unset LocalID and PeerID from Config.LocalIP
	// and PeerIP (the IPv4 address in the low 32 bits).
	UseIPAddr bool
	// AcceptLocal (ipv6cp-accept-local) takes the peer's Nak of our identifier even when
	// LocalID is set; a random identifier is always given up for the peer's suggestion.
	AcceptLocal bool
	// Up is called when IPV6CP opens, Down when it stops being usable; both run on the
	// engine goroutine and must not block. IPv6 goes up and down apart from IPv4 (Config.Up).
	Up   func(IPv6Params)
	Down func()
}

// IPv6Params are the identifiers IPV6CP agreed.
type IPv6Params struct {
	LocalID, PeerID InterfaceID
}

// Local is our link-local address, fe80::LocalID.
func (p IPv6Params) Local() netip.Addr { return p.LocalID.LinkLocal() }

// Peer is the peer's link-local address, fe80::PeerID.
func (p IPv6Params) Peer() netip.Addr { return p.PeerID.LinkLocal() }

// ipv6cpParent is what IPV6CP needs besides the automaton's signals: fresh identifiers.
type ipv6cpParent interface {
	parent
	randUint32() uint32 // non-zero
}

// ipv6cp is the IPV6CP codec: our Interface-Identifier and the peer's, following pppd
// 2.4.9's ipv6cp.c (which Debian's pptpd runs) in what it Naks and when.
type ipv6cp struct {
	cfg *Config
	p   ipv6cpParent

	wantLocal, wantPeer InterfaceID // configured, or from the IPv4 addresses
	acceptLocal         bool        // a Nak of our identifier is followed
	req                 bool        // we ask for ourID
	ourID               InterfaceID
	peerID              InterfaceID // what we acked of the peer's request
	suggested           bool        // the peer was Nak'ed with wantPeer once
}

func newIPV6CP(cfg *Config, p ipv6cpParent) *ipv6cp { return &ipv6cp{cfg: cfg, p: p} }

// randID is a fresh non-zero identifier distinct from avoid.
func (c *ipv6cp) randID(avoid InterfaceID) InterfaceID {
	for {
		var id InterfaceID
		binary.BigEndian.PutUint32(id[:4], c.p.randUint32())
		binary.BigEndian.PutUint32(id[4:], c.p.randUint32())
		if !id.IsZero() && id != avoid {
			return id
		}
	}
}

func (c *ipv6cp) resetci() {
	v6 := &c.cfg.IPv6
	c.wantLocal, c.wantPeer = v6.LocalID, v6.PeerID
	if v6.UseIPAddr {
		if c.wantLocal.IsZero() {
			c.wantLocal = InterfaceIDFromIPv4(c.cfg.LocalIP)
		}
		if c.wantPeer.IsZero() {
			c.wantPeer = InterfaceIDFromIPv4(c.cfg.PeerIP)
		}
	}
	c.acceptLocal = v6.AcceptLocal || c.wantLocal.IsZero()
	c.ourID = c.wantLocal
	if c.ourID.IsZero() {
		c.ourID = c.randID(c.wantPeer)
	}
	c.req = true
	c.peerID = InterfaceID{}
	c.suggested = false
}

func (c *ipv6cp) addci(b []byte) []byte {
	if c.req {
		b = append(b, ipv6cpIfaceID, 10)
		b = append(b, c.ourID[:]...)
	}
	return b
}

func (c *ipv6cp) ackci(opts []byte) bool { return true }

func (c *ipv6cp) nakci(opts []byte, treatAsReject bool) bool {
	n := *c
	for o, err := range Options(opts) {
		if err != nil {
			return false
		}
		if o.Type() != ipv6cpIfaceID {
			continue // a suggestion of something we did not ask for: nothing to take
		}
		if len(o.Data()) != 8 {
			return false
		}
		switch id := InterfaceID(o.Data()); {
		case treatAsReject:
			n.req = false
		case n.acceptLocal:
			if id.IsZero() || id == c.peerID {
				id = c.randID(c.peerID) // the peer's suggestion is unusable: try another
			}
			n.ourID = id
		}
	}
	*c = n
	return true
}

func (c *ipv6cp) rejci(opts []byte) bool {
	for o, err := range Options(opts) {
		if err != nil {
			return false
		}
		if o.Type() == ipv6cpIfaceID {
			c.req = false
		}
	}
	return true
}

// reqci judges the peer's request; the identifier it acks becomes peerID.
func (c *ipv6cp) reqci(r *confReply) {
	c.peerID = InterfaceID{}
	for o := range r.Options() {
		c.judge(o, r)
	}
}

func (c *ipv6cp) judge(o Option, r *confReply) {
	if o.Type() != ipv6cpIfaceID || len(o.Data()) != 8 {
		r.Reject(o) // IPv6-Compression-Protocol, anything newer, or a bad length
		return
	}
	id := InterfaceID(o.Data())
	switch {
	case !c.wantPeer.IsZero() && id != c.wantPeer && !c.suggested:
		// We were told the peer's identifier: suggest it once, then take the peer's word.
		c.suggested = true
		r.Nak(o, c.wantPeer[:])
	case id.IsZero() || id == c.ourID:
		// No identifier, or ours (RFC 5072 §4.1: both ends must differ): suggest one.
		s := c.wantPeer
		if s.IsZero() || s == c.ourID {
			s = c.randID(c.ourID)
		}
		c.suggested = true
		r.Nak(o, s[:])
	default:
		c.peerID = id
		r.Ack(o)
	}
}

// params is what IPV6CP agreed: our identifier (asked for, else the configured or random
// one, as pppd) and the peer's (acked, else configured). A zero PeerID means unknown.
func (c *ipv6cp) params() IPv6Params {
	p := IPv6Params{LocalID: c.ourID, PeerID: c.peerID}
	if p.PeerID.IsZero() {
		p.PeerID = c.wantPeer
	}
	return p
}

func (c *ipv6cp) up()                               { c.p.layerUp(ProtoIPV6CP) }
func (c *ipv6cp) down()                             { c.p.layerDown(ProtoIPV6CP) }
func (c *ipv6cp) starting()                         {}
func (c *ipv6cp) finished()                         { c.p.layerFinished(ProtoIPV6CP) }
func (c *ipv6cp) extcode(uint8, uint8, []byte) bool { return false }
func (c *ipv6cp) rxr(uint8, uint8, []byte)          {}

// errNoPeerID is IPV6CP opened without the peer's identifier (it sent none and none is
// configured): no link-local address for it, so IPv6 stays down.
var errNoPeerID = errors.New("IPV6CP: could not determine the peer's interface identifier (it sent none and none is configured); IPv6 stays down")

// The Engine's side of IPV6CP: IPv6 is an extra, so its failure never ends the link.

var _ ipv6cpParent = (*Engine)(nil)

// ipv6cpInput takes an IPV6CP packet: Protocol-Rejected when IPv6 is off, dropped outside
// the network phase, and in passive mode the peer's first Configure-Request opens ours.
func (e *Engine) ipv6cpInput(info []byte) {
	if e.cfg.IPv6.Mode == IPv6Off {
		e.protocolReject(ProtoIPV6CP, info)
		return
	}
	if e.phase != phaseNetwork {
		e.debugf("dropped IPV6CP packet before the network phase")
		return
	}
	if e.ipv6cp.state == stInitial {
		p, err := ParsePacket(info)
		if err != nil || p.Code() != CodeConfigureRequest {
			e.debugf("IPV6CP: dropped packet before the peer opened IPV6CP")
			return
		}
		e.ipv6cp.open()
		e.ipv6cp.lowerUp()
	}
	e.ipv6cp.input(info)
}

func (e *Engine) ipv6cpUp() {
	p := e.ipv6cpc.params()
	if p.PeerID.IsZero() {
		e.logf("%v", errNoPeerID)
		return
	}
	e.logf("IPV6CP opened: local LL address %v, remote LL address %v", p.Local(), p.Peer())
	e.ipv6Up = true
	if e.cfg.IPv6.Up != nil {
		e.cfg.IPv6.Up(p)
	}
}

func (e *Engine) ipv6cpDown() {
	if !e.ipv6Up {
		return
	}
	e.ipv6Up = false
	e.logf("IPv6 down")
	if e.cfg.IPv6.Down != nil {
		e.cfg.IPv6.Down()
	}
}

func (e *Engine) ipv6cpFinished() {
	if e.closing || e.phase != phaseNetwork {
		return
	}
	e.logf("IPV6CP: no agreement with the %s; IPv4 only", e.cfg.peerRole())
}
