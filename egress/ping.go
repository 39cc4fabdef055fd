// SPDX-License-Identifier: MIT

package egress

import (
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/pptp-go/pptp/netstack"
)

// ping forwards an echo request from the server when going direct, and answers it from
// the stack when a proxy is in the way (it carries no ICMP) or the process may not send
// ICMP (no CAP_NET_RAW and no unprivileged ping sockets).
func (s *Session) ping(r *netstack.PingRequest) {
	for _, p := range s.cfg.Deny {
		if p.Contains(r.Dst) {
			s.stats.Denied.Add(1)
			return
		}
	}
	if s.cfg.Upstream != nil {
		s.stats.Pings.Add(1)
		r.Reply()
		return
	}
	if s.pings.Add(1) > maxPings {
		s.pings.Add(-1)
		return
	}
	go func() {
		defer s.pings.Add(-1)
		ok, err := echo(r.Dst, r.ID, r.Seq, r.Data)
		switch {
		case err != nil:
			s.logLimited("icmp", "%s: cannot send ICMP (%v): answering echo requests from the server", s.name, err)
			r.Reply()
		case ok:
			r.Reply()
		}
		s.stats.Pings.Add(1)
	}()
}

// echo sends one echo request to dst and waits for its reply; err is set only when no
// ICMP socket could be opened or written.
func echo(dst netip.Addr, id, seq uint16, data []byte) (answered bool, err error) {
	// A raw socket (CAP_NET_RAW, which pptpd has for GRE) keeps the client's identifier;
	// a ping socket, the fallback, has the kernel choose one.
	rawNet, pingNet, wildcard, proto := "ip4:icmp", "udp4", "0.0.0.0", 1
	var req, reply icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	if dst.Is6() {
		rawNet, pingNet, wildcard, proto = "ip6:ipv6-icmp", "udp6", "::", 58
		req, reply = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply
	}
	c, err := icmp.ListenPacket(rawNet, wildcard)
	raw := err == nil
	if !raw {
		if c, err = icmp.ListenPacket(pingNet, wildcard); err != nil {
			return false, err
		}
	}
	defer c.Close()
	if dst.Is6() && raw {
		// The kernel would hand this socket every ICMPv6 message; only replies are ours.
		var f ipv6.ICMPFilter
		f.SetAll(true)
		f.Accept(ipv6.ICMPTypeEchoReply)
		c.IPv6PacketConn().SetICMPFilter(&f)
	}
	// The ICMPv6 checksum is the kernel's (it covers the pseudo-header): Marshal leaves it
	// zero without one.
	m := icmp.Message{Type: req, Body: &icmp.Echo{ID: int(id), Seq: int(seq), Data: data}}
	b, err := m.Marshal(nil)
	if err != nil {
		return false, err
	}
	var to net.Addr = &net.IPAddr{IP: dst.AsSlice()}
	if !raw {
		to = &net.UDPAddr{IP: dst.AsSlice()}
	}
	if _, err := c.WriteTo(b, to); err != nil {
		if os.IsPermission(err) {
			return false, err
		}
		return false, nil // unreachable from here: no reply, as from the far side
	}
	deadline := time.Now().Add(pingTimeout)
	c.SetReadDeadline(deadline)
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return false, nil
		}
		rm, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil || rm.Type != reply {
			continue
		}
		e, ok := rm.Body.(*icmp.Echo)
		if !ok || e.Seq != int(seq) || (raw && e.ID != int(id)) || !sameHost(from, dst) {
			continue
		}
		return true, nil
	}
}

func sameHost(a net.Addr, dst netip.Addr) bool {
	var ip net.IP
	switch v := a.(type) {
	case *net.IPAddr:
		ip = v.IP
	case *net.UDPAddr:
		ip = v.IP
	}
	got, ok := netip.AddrFromSlice(ip)
	return ok && got.Unmap() == dst
}
