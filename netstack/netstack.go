// SPDX-License-Identifier: MIT

// Package netstack is a user-space TCP/IP stack (gVisor's) whose one interface is a PPP link:
// it is a tun.Device that the session's datapath reads and writes like a kernel TUN, in
// batches, and a network that Go code dials, listens on and resolves names in.
//
// It is built on gVisor directly rather than on wireguard-go's tun/netstack, whose device
// hands each outgoing packet over an unbuffered channel to a Read that takes one: the TCP
// sender then waits for the datapath per packet. Here the stack queues outgoing packets on
// its link endpoint and Read drains what is queued, up to the batch.
package netstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"

	"golang.zx2c4.com/wireguard/tun"
	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/stack/gro"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

const (
	nicID = 1
	// BatchSize is the most packets one Read returns.
	BatchSize = 64
	// queueLen is how many outgoing packets the link endpoint holds before the stack
	// drops (TCP then backs off as from a loss).
	queueLen = 1024
	// DefaultMTU is New's MTU for 0.
	DefaultMTU = 1400
)

// Stack is a TCP/IP stack on one point-to-point link: IPv4, and IPv6 after SetIPv6. Its tun.Device methods are the
// link's side (the datapath's); the others are the network's (the program's).
type Stack struct {
	s     *stack.Stack
	ep    *channel.Endpoint
	link  *linkEndpoint
	gro   gro.GRO // owned by Write's caller (the session's receive goroutine)
	local netip.Addr
	mtu   int

	forwarding bool               // NewForwarding's: the link's router (router6.go)
	ping       func(*PingRequest) // Handler.Ping, for IPv6 echoes (set before the link runs)

	// IPv6 (ipv6.go), and the DNS servers RDNSS adds to, under mu.
	mu            sync.Mutex
	dns           []netip.Addr
	local6, peer6 netip.Addr  // link-local, from IPV6CP
	global6       netip.Addr  // from the server's Router Advertisement
	route6        bool        // the default route is in
	router        *router6    // a forwarding stack's advertisement (router6.go)
	v6            atomic.Bool // SetIPv6 ran: Write takes IPv6
	logf          func(string, ...any)

	// RxDropped counts packets from the link that Write dropped (not IP, IPv6 before
	// SetIPv6, bad checksums);
	// TxTooBig those of the stack that did not fit Read's buffers.
	RxDropped, TxTooBig atomic.Uint64

	ctx    context.Context // ends with Close: wakes a Read waiting for a packet
	cancel context.CancelFunc
	once   sync.Once
	events chan tun.Event
}

var _ tun.Device = (*Stack)(nil)

// New creates a stack whose address is local (IPv4) and whose names resolve with the dns
// servers; mtu 0 means DefaultMTU.
func New(local netip.Addr, dns []netip.Addr, mtu int) (*Stack, error) {
	return newStack(local, dns, mtu, false)
}

// newStack is New, or NewForwarding's stack. That one does not let its own sockets reach
// its own address (gVisor would then take any source address as one of its own) and takes
// packets to loopback addresses, so that the forwarding policy, not gVisor, refuses them
// (with a RST rather than silence).
func newStack(local netip.Addr, dns []netip.Addr, mtu int, forwarding bool) (*Stack, error) {
	if !local.Is4() {
		return nil, fmt.Errorf("netstack: local address %v is not an IPv4 address", local)
	}
	if mtu == 0 {
		mtu = DefaultMTU
	}
	if mtu < 576 || mtu > 65535 {
		// IPv4 needs at least 576 (RFC 791's minimum datagram size) to be usable.
		return nil, fmt.Errorf("netstack: MTU %d out of range (576..65535)", mtu)
	}
	st := &Stack{
		s: stack.New(stack.Options{
			NetworkProtocols: []stack.NetworkProtocolFactory{
				ipv4.NewProtocolWithOptions(ipv4.Options{AllowExternalLoopbackTraffic: forwarding}),
				// The zero NDP configuration: no autoconfiguration, no DAD, no MLD (ipv6.go).
				ipv6.NewProtocolWithOptions(ipv6.Options{AllowExternalLoopbackTraffic: forwarding}),
			},
			TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4, icmp.NewProtocol6},
			HandleLocal:        !forwarding,
		}),
		ep:         channel.New(queueLen, uint32(mtu), ""),
		local:      local,
		forwarding: forwarding,
		dns:        append([]netip.Addr(nil), dns...),
		mtu:        mtu,
		events:     make(chan tun.Event, 1),
	}
	// gVisor's own GSO: TCP builds segments of up to 32 KiB and cuts them into MSS-sized
	// packets in one go, queued together, so a Read finds a batch.
	st.ep.SupportedGSOKind = stack.GVisorGSOSupported
	// The stack then trusts received checksums, so Write verifies every packet's before it
	// hands it on (MPPE has no integrity check of its own; GRO would pass a bad one up).
	st.ep.LinkEPCapabilities |= stack.CapabilityRXChecksumOffload
	st.ctx, st.cancel = context.WithCancel(context.Background())
	fail := func(err error) (*Stack, error) {
		st.s.Close() // stack.New started gVisor's TCP goroutines
		st.cancel()
		return nil, err
	}
	sack := tcpip.TCPSACKEnabled(true) // off by default in gVisor; recovery from losses needs it
	if err := st.s.SetTransportProtocolOption(tcp.ProtocolNumber, &sack); err != nil {
		return fail(fmt.Errorf("netstack: TCP SACK: %v", err))
	}
	st.link = &linkEndpoint{Endpoint: st.ep}
	if err := st.s.CreateNIC(nicID, st.link); err != nil {
		return fail(fmt.Errorf("netstack: %v", err))
	}
	addr := tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: tcpip.AddrFrom4(local.As4()).WithPrefix()}
	if err := st.s.AddProtocolAddress(nicID, addr, stack.AddressProperties{}); err != nil {
		return fail(fmt.Errorf("netstack: address %v: %v", local, err))
	}
	st.s.AddRoute(tcpip.Route{Destination: header.IPv4EmptySubnet, NIC: nicID})
	// Received TCP segments of one flow are merged before the stack sees them (GRO, as a
	// kernel NIC does): one pass through gVisor's TCP per batch instead of per segment.
	st.gro.Init(true)
	st.gro.Dispatcher = st.link.dispatcher
	st.events <- tun.EventUp
	return st, nil
}

// Read waits for the stack's next outgoing packet and returns it with every other one
// already queued, up to len(bufs): bufs[i][offset:offset+sizes[i]].
func (st *Stack) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	pkt := st.ep.ReadContext(st.ctx)
	if pkt == nil {
		return 0, os.ErrClosed
	}
	n := 0
	for pkt != nil {
		if pkt.Size() <= len(bufs[n])-offset {
			sizes[n] = copyOut(bufs[n][offset:], pkt)
			n++
		} else {
			st.TxTooBig.Add(1) // larger than the MTU the datapath allows for: never sent whole
		}
		pkt.DecRef()
		if n == len(bufs) {
			break
		}
		if pkt = st.ep.Read(); pkt == nil && n == 0 {
			pkt = st.ep.ReadContext(st.ctx) // everything so far was dropped: wait again
			if pkt == nil {
				return 0, os.ErrClosed
			}
		}
	}
	return n, nil
}

// copyOut copies the whole packet into b, which holds it, without allocating.
func copyOut(b []byte, pkt *stack.PacketBuffer) int {
	views, off := pkt.AsViewList()
	n := 0
	for v := views.Front(); v != nil && n < len(b); v = v.Next() {
		s := v.AsSlice()
		if off >= len(s) {
			off -= len(s)
			continue
		}
		n += copy(b[n:], s[off:])
		off = 0
	}
	return n
}

// Write hands IP packets bufs[i][offset:] arriving on the link to the stack, the TCP
// segments of a flow merged; packets that are not IP (or IPv6 before SetIPv6) or whose
// checksums are wrong are dropped and counted (RxDropped), as the stack would. Router
// Advertisements configure the stack (ipv6.go). Calls must not overlap.
func (st *Stack) Write(bufs [][]byte, offset int) (int, error) {
	defer st.gro.Flush()
	for _, b := range bufs {
		p := b[offset:]
		if len(p) == 0 {
			continue
		}
		proto := header.IPv4ProtocolNumber
		switch {
		case p[0]>>4 == 4 && checksumsOK(p):
		case p[0]>>4 == 6 && st.v6.Load() && checksums6OK(p):
			if st.forwarding && st.routerICMPv6(p) || !st.forwarding && st.routerAdvertisement(p) {
				continue
			}
			proto = header.IPv6ProtocolNumber
		default:
			st.RxDropped.Add(1)
			continue
		}
		pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(p)})
		pkt.NetworkProtocolNumber = proto
		pkt.RXChecksumValidated = true // GRO need not check again
		st.gro.Enqueue(pkt)
		pkt.DecRef()
	}
	return len(bufs), nil
}

// checksumsOK checks the IPv4 header checksum and, for an unfragmented TCP, UDP or ICMP
// packet, the transport checksum; a fragment's transport checksum can only be checked
// after reassembly, which the stack does without checking it again.
func checksumsOK(p []byte) bool {
	h := header.IPv4(p)
	if !h.IsValid(len(p)) || !h.IsChecksumValid() {
		return false
	}
	if h.FragmentOffset() != 0 || h.Flags()&header.IPv4FlagMoreFragments != 0 {
		return true
	}
	payload := p[h.HeaderLength():h.TotalLength()]
	pseudo := func(proto tcpip.TransportProtocolNumber) uint16 {
		return header.PseudoHeaderChecksum(proto, h.SourceAddress(), h.DestinationAddress(), uint16(len(payload)))
	}
	switch tcpip.TransportProtocolNumber(h.Protocol()) {
	case header.TCPProtocolNumber:
		return len(payload) >= header.TCPMinimumSize && checksum.Checksum(payload, pseudo(header.TCPProtocolNumber)) == 0xffff
	case header.UDPProtocolNumber:
		if len(payload) < header.UDPMinimumSize {
			return false
		}
		if header.UDP(payload).Checksum() == 0 { // none sent (RFC 768)
			return true
		}
		return checksum.Checksum(payload, pseudo(header.UDPProtocolNumber)) == 0xffff
	case header.ICMPv4ProtocolNumber:
		return checksum.Checksum(payload, 0) == 0xffff
	}
	return true
}

// linkEndpoint is the channel endpoint, keeping the dispatcher the NIC attaches so that
// Write can hand it merged packets.
type linkEndpoint struct {
	*channel.Endpoint
	dispatcher stack.NetworkDispatcher
}

func (l *linkEndpoint) Attach(d stack.NetworkDispatcher) {
	l.dispatcher = d
	l.Endpoint.Attach(d)
}

func (st *Stack) File() *os.File           { return nil }
func (st *Stack) MTU() (int, error)        { return st.mtu, nil }
func (st *Stack) Name() (string, error)    { return "netstack", nil }
func (st *Stack) Events() <-chan tun.Event { return st.events }
func (st *Stack) BatchSize() int           { return BatchSize }
func (st *Stack) LocalAddr() netip.Addr    { return st.local }

// DNSServers are the link's DNS servers: IPCP's, then any the Router Advertisement named.
func (st *Stack) DNSServers() []netip.Addr {
	st.mu.Lock()
	defer st.mu.Unlock()
	return append([]netip.Addr(nil), st.dns...)
}

// IPv6Addr is the stack's global IPv6 address, invalid until an advertisement gave one.
func (st *Stack) IPv6Addr() netip.Addr {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.global6
}

// SetLogf sets where the stack's debug lines go (IPv6 configuration); nil: nowhere.
func (st *Stack) SetLogf(logf func(string, ...any)) {
	st.mu.Lock()
	st.logf = logf
	st.mu.Unlock()
}

// debugf logs with SetLogf's function; st.mu may be held.
func (st *Stack) debugf(format string, args ...any) {
	if l := st.logf; l != nil {
		l(format, args...)
	}
}

// Close ends every connection of the stack and wakes a waiting Read. It is idempotent.
func (st *Stack) Close() error {
	st.once.Do(func() {
		st.cancel()
		st.s.RemoveNIC(nicID)
		st.s.Close()
		st.ep.Close()
		close(st.events)
	})
	return nil
}

// fullAddr is a in gVisor's form and its network protocol (IPv4 for an unspecified address).
func fullAddr(a netip.AddrPort) (tcpip.FullAddress, tcpip.NetworkProtocolNumber) {
	fa := tcpip.FullAddress{NIC: nicID, Port: a.Port()}
	proto := ipv4.ProtocolNumber
	if a.Addr().IsValid() && !a.Addr().IsUnspecified() {
		fa.Addr, proto = addrProto(a.Addr())
	}
	return fa, proto
}

// DialContext connects to address ("host:port"; host a name or an IP address) over
// "tcp", "tcp4", "tcp6", "udp", "udp4" or "udp6", or sends ICMP echoes to a host with
// "ping4" or "ping6" (address without a port). Names are resolved with the stack's DNS
// servers, through the stack; "tcp" and "udp" take a name's IPv4 address first, its IPv6
// one when it has none (and the link carries IPv6).
func (st *Stack) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if st.ctx.Err() != nil {
		return nil, net.ErrClosed
	}
	family := network[len(network)-1]
	if network == "ping4" || network == "ping6" {
		a, err := st.resolveOne(ctx, address, family)
		if err != nil {
			return nil, err
		}
		return st.dialPing(a)
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	pn, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("netstack: port %q: %w", port, err)
	}
	switch network {
	case "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6":
	default:
		return nil, &net.OpError{Op: "dial", Net: network, Err: net.UnknownNetworkError(network)}
	}
	a, err := st.resolveOne(ctx, host, family)
	if err != nil {
		return nil, err
	}
	raddr, proto := fullAddr(netip.AddrPortFrom(a, uint16(pn)))
	switch network[:3] {
	case "tcp":
		c, err := gonet.DialContextTCP(ctx, st.s, raddr, proto)
		if err != nil {
			return nil, err
		}
		return c, nil
	case "udp":
		c, err := gonet.DialUDP(st.s, nil, &raddr, proto)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	return nil, &net.OpError{Op: "dial", Net: network, Err: net.UnknownNetworkError(network)}
}

// resolveOne is host's address of the network's family ('4', '6', else either, IPv4
// first), an IPv6 one only while the link carries IPv6.
func (st *Stack) resolveOne(ctx context.Context, host string, family byte) (netip.Addr, error) {
	v6 := st.v6.Load()
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap()
		switch {
		case family == '4' && !a.Is4(), family == '6' && !a.Is6():
			return netip.Addr{}, fmt.Errorf("netstack: %v is not an IPv%c address", a, family)
		case a.Is6() && !v6:
			return netip.Addr{}, fmt.Errorf("netstack: %v: the link carries no IPv6 (IPV6CP is not open)", a)
		}
		return a.WithZone(""), nil
	}
	want := "ip4"
	switch {
	case family == '6':
		want = "ip6"
	case family != '4' && v6:
		want = "ip"
	}
	addrs, err := st.Resolver().LookupNetIP(ctx, want, host)
	if err != nil {
		return netip.Addr{}, err
	}
	for _, a := range addrs { // IPv4 first
		if a = a.Unmap(); a.Is4() {
			return a, nil
		}
	}
	if len(addrs) == 0 || family == '6' && !v6 {
		return netip.Addr{}, &net.DNSError{Err: "no address the link carries", Name: host, IsNotFound: true}
	}
	return addrs[0], nil
}

// ListenTCP listens on a over "tcp", "tcp4" or "tcp6", as net.Listen does: with an
// unspecified (or zero) address, "tcp" takes both families, "tcp4" IPv4 only and "tcp6"
// IPv6 only; a specific address must be the stack's and of the network's family.
func (st *Stack) ListenTCP(network string, a netip.AddrPort) (net.Listener, error) {
	ep, wq, err := st.bind(tcp.ProtocolNumber, network, a)
	if err != nil {
		return nil, err
	}
	if err := ep.Listen(4096); err != nil {
		ep.Close()
		return nil, &net.OpError{Op: "listen", Net: network, Addr: net.TCPAddrFromAddrPort(a), Err: errors.New(err.String())}
	}
	return gonet.NewTCPListener(st.s, wq, ep), nil
}

// ListenUDP opens a UDP socket bound to a over "udp", "udp4" or "udp6" (families as in
// ListenTCP).
func (st *Stack) ListenUDP(network string, a netip.AddrPort) (net.PacketConn, error) {
	ep, wq, err := st.bind(udp.ProtocolNumber, network, a)
	if err != nil {
		return nil, err
	}
	return gonet.NewUDPConn(wq, ep), nil
}

// bind opens a transport endpoint for network's family and binds it to a on the link.
// "tcp" or "udp" with an unspecified address is an IPv6 endpoint that also takes IPv4 (as
// Linux's dual-stack sockets); the "6" networks' unspecified endpoints take IPv6 only.
func (st *Stack) bind(transport tcpip.TransportProtocolNumber, network string, a netip.AddrPort) (tcpip.Endpoint, *waiter.Queue, error) {
	if st.ctx.Err() != nil {
		return nil, nil, net.ErrClosed
	}
	name := "tcp"
	var addr net.Addr = net.TCPAddrFromAddrPort(a)
	if transport == udp.ProtocolNumber {
		name, addr = "udp", net.UDPAddrFromAddrPort(a)
	}
	opErr := func(msg string) error {
		return &net.OpError{Op: "listen", Net: network, Addr: addr, Err: errors.New(msg)}
	}
	if network != name && network != name+"4" && network != name+"6" {
		return nil, nil, opErr("network not " + name + ", " + name + "4 or " + name + "6")
	}
	family := network[len(network)-1]
	ip := a.Addr().Unmap().WithZone("")
	fa := tcpip.FullAddress{NIC: nicID, Port: a.Port()}
	proto := ipv6.ProtocolNumber
	switch {
	case family != '4' && family != '6' && (!ip.IsValid() || ip.IsUnspecified()):
	case !ip.IsValid() || ip.IsUnspecified():
		if family == '4' {
			proto = ipv4.ProtocolNumber
		}
	case ip.Is4() && family == '6' || ip.Is6() && family == '4':
		return nil, nil, opErr("address of the other family")
	default:
		fa.Addr, proto = addrProto(ip)
	}
	var wq waiter.Queue
	ep, terr := st.s.NewEndpoint(transport, proto, &wq)
	if terr != nil {
		return nil, nil, errors.New(terr.String())
	}
	if proto == ipv6.ProtocolNumber && fa.Addr.Len() == 0 {
		ep.SocketOptions().SetV6Only(family == '6')
	}
	if terr := ep.Bind(fa); terr != nil {
		ep.Close()
		return nil, nil, opErr(terr.String())
	}
	return ep, &wq, nil
}

// errNoDNS is the resolver's error when the link has no DNS server.
var errNoDNS = errors.New("netstack: the link has no DNS server")

// Resolver asks the stack's DNS servers, through the stack, whatever the host's resolv.conf
// names (names in /etc/hosts answer first, as for any Go resolver).
func (st *Stack) Resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		dns := st.DNSServers()
		if len(dns) == 0 {
			return nil, errNoDNS
		}
		var err error
		for _, s := range dns {
			var c net.Conn
			if c, err = st.DialContext(ctx, network, netip.AddrPortFrom(s, 53).String()); err == nil {
				return c, nil
			}
		}
		return nil, err
	}}
}

// LookupHost resolves host with the stack's DNS servers.
func (st *Stack) LookupHost(ctx context.Context, host string) ([]string, error) {
	return st.Resolver().LookupHost(ctx, host)
}

// dialPing opens an ICMP echo socket to a: each Write is an ICMP message (type 8, or 128
// for IPv6, with identifier, sequence and payload; the stack sets the identifier), each
// Read a reply.
func (st *Stack) dialPing(a netip.Addr) (net.Conn, error) {
	var wq waiter.Queue
	raddr, proto := fullAddr(netip.AddrPortFrom(a, 0))
	tp := icmp.ProtocolNumber4
	if proto == header.IPv6ProtocolNumber {
		tp = icmp.ProtocolNumber6
	}
	ep, err := st.s.NewEndpoint(tp, proto, &wq)
	if err != nil {
		return nil, fmt.Errorf("netstack: ICMP endpoint: %v", err)
	}
	if err := ep.Connect(raddr); err != nil {
		ep.Close()
		return nil, fmt.Errorf("netstack: ICMP connect %v: %v", a, err)
	}
	return gonet.NewUDPConn(&wq, ep), nil
}
