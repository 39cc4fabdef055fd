// SPDX-License-Identifier: MIT

package netstack

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// A Flow is a TCP connection or UDP flow from the link's far side (Src) to any address
// (Dst), as the stack saw it arrive.
type Flow struct{ Src, Dst netip.AddrPort }

func flowOf(id stack.TransportEndpointID) Flow {
	return Flow{
		Src: netip.AddrPortFrom(addrOf(id.RemoteAddress), id.RemotePort),
		Dst: netip.AddrPortFrom(addrOf(id.LocalAddress), id.LocalPort),
	}
}

func addrOf(a tcpip.Address) netip.Addr {
	ip, _ := netip.AddrFromSlice(a.AsSlice())
	return ip
}

// TCPRequest is a connection attempt (a SYN) held until Accept or Reject: the handler can
// reach the destination first, so that a refused one gets a RST rather than a connection
// that dies at once.
type TCPRequest struct {
	Flow
	r *tcp.ForwarderRequest
}

// Accept completes the handshake and returns the connection, whose local address is Dst.
func (r *TCPRequest) Accept() (net.Conn, error) {
	var wq waiter.Queue
	ep, err := r.r.CreateEndpoint(&wq)
	r.r.Complete(false)
	if err != nil {
		return nil, fmt.Errorf("netstack: accepting %v → %v: %v", r.Src, r.Dst, err)
	}
	return gonet.NewTCPConn(&wq, ep), nil
}

// Reject answers the SYN with a RST.
func (r *TCPRequest) Reject() { r.r.Complete(true) }

// UDPRequest is the first datagram of a UDP flow; Accept gives the flow as a connected
// socket whose reads start with that datagram.
type UDPRequest struct {
	Flow
	r *udp.ForwarderRequest
}

// Accept returns the flow's socket; what is written to it goes to Src from Dst.
func (r *UDPRequest) Accept() (net.Conn, error) {
	var wq waiter.Queue
	ep, err := r.r.CreateEndpoint(&wq)
	if err != nil {
		return nil, fmt.Errorf("netstack: accepting %v → %v: %v", r.Src, r.Dst, err)
	}
	return gonet.NewUDPConn(&wq, ep), nil
}

// PingRequest is an ICMP or ICMPv6 echo request to an address that is not the stack's own.
type PingRequest struct {
	Src, Dst netip.Addr
	ID, Seq  uint16
	Data     []byte // the echo's payload (a copy)
	st       *Stack
}

// Reply sends the echo reply, from Dst to Src, onto the link; it may be called from any
// goroutine, once the far host has answered.
func (r *PingRequest) Reply() {
	if r.Src.Is6() {
		r.reply6()
		return
	}
	b := make([]byte, header.IPv4MinimumSize+header.ICMPv4MinimumSize+len(r.Data))
	ip := header.IPv4(b)
	ip.Encode(&header.IPv4Fields{
		TotalLength: uint16(len(b)), TTL: 64, Protocol: uint8(header.ICMPv4ProtocolNumber),
		SrcAddr: tcpip.AddrFrom4(r.Dst.As4()), DstAddr: tcpip.AddrFrom4(r.Src.As4()),
	})
	ip.SetChecksum(^ip.CalculateChecksum())
	m := header.ICMPv4(b[header.IPv4MinimumSize:])
	m.SetType(header.ICMPv4EchoReply)
	m.SetIdent(r.ID)
	m.SetSequence(r.Seq)
	copy(m.Payload(), r.Data)
	m.SetChecksum(^checksum.Checksum(m, 0))
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(b)})
	defer pkt.DecRef()
	var l stack.PacketBufferList
	l.PushBack(pkt)
	r.st.ep.WritePackets(l)
}

// Handler receives the flows of a stack in forwarding mode.
type Handler struct {
	// Allow decides a new flow from its first packet, in the stack's receive path (so it
	// must be quick): false answers it as from a closed port (TCP RST, ICMP port
	// unreachable) and drops the packet.
	Allow func(udp bool, f Flow) bool
	// TCP is called in a goroutine of its own for each allowed connection attempt, and
	// must Accept or Reject it.
	TCP func(*TCPRequest)
	// UDP is called in the receive path for each allowed new flow; it must not block
	// (Accept, then hand the socket to a goroutine). A flow it does not Accept is dropped.
	UDP func(*UDPRequest)
	// Ping, if set, is called in the receive path for each ICMP echo request (ICMPv6 too,
	// after SetIPv6Router) to an address other than the stack's own (it must not block);
	// nil answers them all from the stack.
	Ping func(*PingRequest)
	// MaxPendingTCP bounds the handshakes waiting in TCP at once; SYNs beyond it are
	// dropped, and the client retries them. Zero means 256.
	MaxPendingTCP int
}

// NewForwarding creates a stack that is a router's far end (a PPTP server's side of a
// session): with local as its own address, it takes packets to every address and hands the
// connections and flows that no socket of its own takes to h. Packets it sends for them
// carry the destination's address as their source. ICMP echo requests to its own address
// are answered by the stack, those to others by h.Ping. Its own sockets cannot reach its
// own address. IPv6 starts with SetIPv6Router.
func NewForwarding(local netip.Addr, mtu int, h Handler) (*Stack, error) {
	if h.Allow == nil || h.TCP == nil || h.UDP == nil {
		return nil, errors.New("netstack: NewForwarding needs Allow, TCP and UDP")
	}
	st, err := newStack(local, nil, mtu, true)
	if err != nil {
		return nil, err
	}
	if err := st.forward(h); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

func (st *Stack) forward(h Handler) error {
	if h.MaxPendingTCP <= 0 {
		h.MaxPendingTCP = 256
	}
	st.ping = h.Ping
	if err := st.s.SetPromiscuousMode(nicID, true); err != nil {
		return fmt.Errorf("netstack: promiscuous mode: %v", err)
	}
	if err := st.s.SetSpoofing(nicID, true); err != nil {
		return fmt.Errorf("netstack: spoofing: %v", err)
	}
	tf := tcp.NewForwarder(st.s, 0, h.MaxPendingTCP, func(r *tcp.ForwarderRequest) {
		h.TCP(&TCPRequest{Flow: flowOf(r.ID()), r: r})
	})
	st.s.SetTransportProtocolHandler(tcp.ProtocolNumber, func(id stack.TransportEndpointID, pkt *stack.PacketBuffer) bool {
		// Only a SYN starts a flow; anything else for an unknown connection gets the
		// stack's RST, as from any host.
		if !h.Allow(false, flowOf(id)) {
			return false
		}
		return tf.HandlePacket(id, pkt)
	})
	st.s.SetTransportProtocolHandler(icmp.ProtocolNumber4, func(id stack.TransportEndpointID, pkt *stack.PacketBuffer) bool {
		// gVisor hands us echo requests to addresses that are not its own and leaves
		// them unanswered; everything else ICMP it handles itself.
		ip := header.IPv4(pkt.NetworkHeader().Slice())
		m := header.ICMPv4(pkt.TransportHeader().Slice())
		if len(m) < header.ICMPv4MinimumSize || m.Type() != header.ICMPv4Echo || len(ip) < header.IPv4MinimumSize {
			return false
		}
		data := pkt.Data().AsRange().ToSlice()
		req := &PingRequest{
			Src: addrOf(ip.SourceAddress()), Dst: addrOf(ip.DestinationAddress()),
			ID: m.Ident(), Seq: m.Sequence(), Data: data, st: st,
		}
		if h.Ping == nil {
			req.Reply()
		} else {
			h.Ping(req)
		}
		return true
	})
	uf := udp.NewForwarder(st.s, func(r *udp.ForwarderRequest) {
		h.UDP(&UDPRequest{Flow: flowOf(r.ID()), r: r})
	})
	st.s.SetTransportProtocolHandler(udp.ProtocolNumber, func(id stack.TransportEndpointID, pkt *stack.PacketBuffer) bool {
		if !h.Allow(true, flowOf(id)) {
			return false
		}
		return uf.HandlePacket(id, pkt)
	})
	return nil
}
