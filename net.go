// SPDX-License-Identifier: MIT

package pptp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/pptp-go/pptp/netstack"
)

// DialContext connects to address through the tunnel, as net.Dialer.DialContext does
// ("tcp", "tcp4", "tcp6", "udp", "udp4", "udp6"; in netstack mode also "ping4" and "ping6",
// an ICMP echo socket to a host given without a port). Host names are resolved with the
// server's DNS servers, through the tunnel, IPv4 addresses first, IPv6 ones once IPV6CP is
// open. With a TUN the connection is a kernel socket bound to the tunnel's interface.
func (t *Tunnel) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if st := t.netstack(); st != nil {
		return st.DialContext(ctx, network, address)
	}
	if t.ended() {
		return nil, net.ErrClosed // the interface name may already be another tunnel's
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Control: t.bindToDevice}
	if _, err := netip.ParseAddr(host); err == nil {
		return d.DialContext(ctx, network, address)
	}
	family := "ip4"
	switch {
	case strings.HasSuffix(network, "6"):
		family = "ip6"
	case !strings.HasSuffix(network, "4") && t.Params().Local6.IsValid():
		family = "ip"
	}
	addrs, err := t.Resolver().LookupNetIP(ctx, family, host)
	if err != nil {
		return nil, err
	}
	v6 := func(a netip.Addr) int { return b2i(!a.Unmap().Is4()) }
	slices.SortStableFunc(addrs, func(a, b netip.Addr) int { return v6(a) - v6(b) }) // IPv4 first
	for _, a := range addrs {
		var c net.Conn
		if c, err = d.DialContext(ctx, network, net.JoinHostPort(a.Unmap().String(), port)); err == nil {
			return c, nil
		}
	}
	if err == nil {
		err = &net.DNSError{Err: "no address the tunnel carries", Name: host, IsNotFound: true}
	}
	return nil, err
}

// ended reports whether the tunnel is over.
func (t *Tunnel) ended() bool { return t.over.Load() }

// Listen listens for TCP connections arriving through the tunnel, as net.Listen does:
// "tcp" on ":port" takes both IPv4 and IPv6 (IPv6 once IPV6CP is open), "tcp4" IPv4 only,
// "tcp6" IPv6 only. A host in address must be the tunnel's IPv4 address or one of its
// IPv6 ones (a link-local one in TUN mode needs no zone).
func (t *Tunnel) Listen(network, address string) (net.Listener, error) {
	return listen(t, "Listen", network, "tcp", address, (*netstack.Stack).ListenTCP,
		func(lc *net.ListenConfig, network, a string) (net.Listener, error) {
			return lc.Listen(context.Background(), network, a)
		})
}

// ListenPacket listens for UDP datagrams arriving through the tunnel ("udp", "udp4",
// "udp6"; addresses as for Listen).
func (t *Tunnel) ListenPacket(network, address string) (net.PacketConn, error) {
	return listen(t, "ListenPacket", network, "udp", address, (*netstack.Stack).ListenUDP,
		func(lc *net.ListenConfig, network, a string) (net.PacketConn, error) {
			return lc.ListenPacket(context.Background(), network, a)
		})
}

// listen checks a Listen's network and address and listens on the stack, or on a kernel
// socket bound to the TUN while the tunnel is up.
func listen[T any](t *Tunnel, op, network, proto, address string,
	onStack func(*netstack.Stack, string, netip.AddrPort) (T, error), onKernel func(*net.ListenConfig, string, string) (T, error)) (T, error) {
	var none T
	if network != proto && network != proto+"4" && network != proto+"6" {
		return none, fmt.Errorf("pptp: %s: network %q: only %s, %s4 and %s6", op, network, proto, proto, proto)
	}
	ap, err := t.localAddrPort(network, address)
	switch {
	case err != nil:
		return none, err
	case t.netstack() != nil:
		return onStack(t.netstack(), network, ap)
	case t.ended():
		return none, net.ErrClosed // the interface name may already be another tunnel's
	}
	a := ap.String()
	if !ap.Addr().IsValid() {
		a = ":" + strconv.Itoa(int(ap.Port())) // Go's choice of family: both where the host has IPv6
	}
	return onKernel(&net.ListenConfig{Control: t.bindToDevice}, network, a)
}

// localAddrPort parses ":port" or "ADDR:port" for network. An empty or unspecified host is
// the tunnel's IPv4 address for a "4" network, IPv6's unspecified address for a "6" one and
// the zero address (both families) otherwise. An IPv6 host, and a host of the other
// family, are left for the bind to refuse.
func (t *Tunnel) localAddrPort(network, address string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return netip.AddrPort{}, err
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("pptp: port %q: %w", port, err)
	}
	var a netip.Addr
	if host != "" {
		if a, err = netip.ParseAddr(host); err != nil {
			return netip.AddrPort{}, fmt.Errorf("pptp: %q is not an IP address", host)
		}
		a = a.Unmap()
	}
	family := network[len(network)-1]
	local := t.Params().Local
	switch {
	case a.IsValid() && !a.IsUnspecified():
		if a.Is4() && a != local {
			return netip.AddrPort{}, fmt.Errorf("pptp: %v is not the tunnel's address (%v)", a, local)
		}
	case family == '4':
		a = local
	case family == '6':
		a = netip.IPv6Unspecified()
	default:
		a = netip.Addr{}
	}
	return netip.AddrPortFrom(a, uint16(n)), nil
}

// Resolver returns a resolver that asks the DNS servers IPCP gave, through the tunnel
// (names in /etc/hosts answer first, as for any Go resolver).
func (t *Tunnel) Resolver() *net.Resolver {
	if st := t.netstack(); st != nil {
		return st.Resolver()
	}
	return &net.Resolver{PreferGo: true, Dial: t.dialDNS}
}

// LookupHost resolves host with the tunnel's DNS servers.
func (t *Tunnel) LookupHost(ctx context.Context, host string) ([]string, error) {
	return t.Resolver().LookupHost(ctx, host)
}

// errNoDNS is the resolvers' error when the server gave no DNS server.
var errNoDNS = errors.New("pptp: the server assigned no DNS server")

// dialDNS is the Resolver's Dial: whatever server the host's resolv.conf names, it asks
// the tunnel's, the first that answers the connection.
func (t *Tunnel) dialDNS(ctx context.Context, network, _ string) (net.Conn, error) {
	dns := t.Params().DNS
	if len(dns) == 0 {
		return nil, errNoDNS
	}
	var err error
	for _, s := range dns {
		var c net.Conn
		if c, err = t.DialContext(ctx, network, netip.AddrPortFrom(s, 53).String()); err == nil {
			return c, nil
		}
	}
	return nil, err
}

// Netstack is the user-space TCP/IP stack of a Dial tunnel (nil for DialTUN). Its network
// side (DialContext, ListenTCP, …) is the program's; its tun.Device side (Read, Write,
// Close) is the tunnel's datapath and must not be used.
func (t *Tunnel) Netstack() *netstack.Stack { return t.netstack() }

func (t *Tunnel) netstack() *netstack.Stack {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stack
}

// bindToDevice keeps a kernel socket on the tunnel's interface whatever the routes say.
func (t *Tunnel) bindToDevice(_, _ string, rc syscall.RawConn) error {
	ifname := t.Params().Interface
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, ifname)
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("pptp: binding to %s: %w", ifname, serr)
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
