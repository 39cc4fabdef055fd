// SPDX-License-Identifier: MIT

package ppp

import (
	"net/netip"
)

// IPCP configuration option types (RFC 1332 §3, RFC 1877 §1).
const (
	ipcpAddresses = 1 // deprecated IP-Addresses
	ipcpCompress  = 2
	ipcpAddress   = 3
	ipcpDNS1      = 129
	ipcpNBNS1     = 130
	ipcpDNS2      = 131
	ipcpNBNS2     = 132
)

var zeroIP = netip.AddrFrom4([4]byte{})

// ipcp is the IPCP codec: our address and DNS servers, and the peer's address.
type ipcp struct {
	cfg *Config
	p   parent

	// our request
	reqAddr, reqDNS1, reqDNS2 bool
	addr, dns1, dns2          netip.Addr
	// what we acked of the peer's request
	peerAddr netip.Addr
}

func newIPCP(cfg *Config, p parent) *ipcp { return &ipcp{cfg: cfg, p: p} }

func (c *ipcp) resetci() {
	cfg := c.cfg
	c.reqAddr = true
	c.addr = zeroIP
	if cfg.LocalIP.Is4() {
		c.addr = cfg.LocalIP
	} else if cfg.Server {
		// A server without an address of its own simply does not ask for one.
		c.reqAddr = false
	}
	c.reqDNS1 = !cfg.Server && cfg.UsePeerDNS
	c.reqDNS2 = c.reqDNS1
	c.dns1, c.dns2 = zeroIP, zeroIP
}

func appendAddrOpt(b []byte, typ uint8, a netip.Addr) []byte {
	v := a.As4()
	return append(b, typ, 6, v[0], v[1], v[2], v[3])
}

func (c *ipcp) addci(b []byte) []byte {
	if c.reqAddr {
		b = appendAddrOpt(b, ipcpAddress, c.addr)
	}
	if c.reqDNS1 {
		b = appendAddrOpt(b, ipcpDNS1, c.dns1)
	}
	if c.reqDNS2 {
		b = appendAddrOpt(b, ipcpDNS2, c.dns2)
	}
	return b
}

func (c *ipcp) ackci(opts []byte) bool { return true }

func addrOf(d []byte) (netip.Addr, bool) {
	if len(d) != 4 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4([4]byte(d)), true
}

func (c *ipcp) nakci(opts []byte, treatAsReject bool) bool {
	n := *c
	for o, err := range Options(opts) {
		if err != nil {
			return false
		}
		a, ok := addrOf(o.Data())
		switch o.Type() {
		case ipcpAddress:
			if !ok {
				return false
			}
			switch {
			case treatAsReject:
				n.reqAddr = false
			case !c.cfg.Server:
				// The server assigns our address.
				n.addr = a
			}
		case ipcpDNS1, ipcpDNS2:
			if !ok {
				return false
			}
			if o.Type() == ipcpDNS1 {
				n.dns1 = a
				n.reqDNS1 = n.reqDNS1 && !treatAsReject
			} else {
				n.dns2 = a
				n.reqDNS2 = n.reqDNS2 && !treatAsReject
			}
		}
	}
	*c = n
	return true
}

func (c *ipcp) rejci(opts []byte) bool {
	for o, err := range Options(opts) {
		if err != nil {
			return false
		}
		switch o.Type() {
		case ipcpAddress:
			c.reqAddr = false
		case ipcpDNS1:
			c.reqDNS1 = false
		case ipcpDNS2:
			c.reqDNS2 = false
		}
	}
	return true
}

// reqci judges the peer's request; the address it acks becomes peerAddr.
func (c *ipcp) reqci(r *confReply) {
	c.peerAddr = netip.Addr{}
	for o := range r.Options() {
		c.judge(o, r)
	}
}

// judge decides one option of the peer's request.
func (c *ipcp) judge(o Option, r *confReply) {
	cfg := c.cfg
	a, ok := addrOf(o.Data())
	nak := func(v netip.Addr) {
		b := v.As4()
		r.Nak(o, b[:])
	}
	switch o.Type() {
	case ipcpAddress:
		switch {
		case !ok:
			r.Reject(o)
		case cfg.Server && !cfg.PeerIP.Is4():
			r.Reject(o)
		case cfg.Server && a != cfg.PeerIP:
			nak(cfg.PeerIP)
		case !cfg.Server && a == zeroIP && !cfg.PeerIP.Is4():
			r.Reject(o)
		case !cfg.Server && a == zeroIP:
			// The server wants us to tell it its own address.
			nak(cfg.PeerIP)
		default:
			c.peerAddr = a
			r.Ack(o)
		}
	case ipcpDNS1, ipcpDNS2:
		i := 0
		if o.Type() == ipcpDNS2 {
			i = 1
		}
		switch {
		case !ok || !cfg.Server || i >= len(cfg.DNS) || !cfg.DNS[i].Is4():
			r.Reject(o)
		case a != cfg.DNS[i]:
			nak(cfg.DNS[i])
		default:
			r.Ack(o)
		}
	default:
		// VJ compression, NBNS, IP-Addresses and anything newer.
		r.Reject(o)
	}
}

func (c *ipcp) up()                               { c.p.layerUp(ProtoIPCP) }
func (c *ipcp) down()                             { c.p.layerDown(ProtoIPCP) }
func (c *ipcp) starting()                         {}
func (c *ipcp) finished()                         { c.p.layerFinished(ProtoIPCP) }
func (c *ipcp) extcode(uint8, uint8, []byte) bool { return false }
func (c *ipcp) rxr(uint8, uint8, []byte)          {}
