// SPDX-License-Identifier: MIT

package netif

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Config6 describes the IPv6 side of a link once IPV6CP opened.
type Config6 struct {
	IfName string
	// Local and Peer are the link-local addresses fe80::ID IPV6CP agreed on: Local/128 peer
	// Peer/128 (IFA_LOCAL/IFA_ADDRESS), as pppd configures a ppp device.
	Local, Peer netip.Addr
	// AcceptRA lets the kernel configure a global address from the peer's Router
	// Advertisement (SLAAC, with our interface identifier), DefaultRoute also the default
	// route it announces (pppd's defaultroute6). Both are for a client; they go with the
	// interface.
	AcceptRA, DefaultRoute bool
	Routes                 []netip.Prefix // via the interface (a server: the session's /64)
	Logf                   func(format string, args ...any)
}

// ipv6Sysctl writes the IPv6 setting name of ifname (/proc/sys/net/ipv6/conf/IF/NAME, which
// follows the caller's network namespace).
func ipv6Sysctl(ifname, name, value string) error {
	return os.WriteFile(filepath.Join("/proc/sys/net/ipv6/conf", ifname, name), []byte(value), 0o644)
}

// NoAutoLinkLocal keeps the kernel from giving ifname a link-local address of its own when
// it comes up (a TUN is ARPHRD_NONE, which gets a random one): the link-local address of a
// PPP link is the one IPV6CP negotiated. A kernel without IPv6 is not an error.
func NoAutoLinkLocal(ifname string) error {
	err := ipv6Sysctl(ifname, "addr_gen_mode", "1")
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// Apply6 puts the link-local addresses on cfg.IfName (bringing it up if it is down), sets
// the Router Advertisement policy and adds cfg.Routes. Its undo removes the address and the
// routes; the sysctls go with the interface.
func Apply6(cfg Config6) (undo func() error, err error) {
	u := &undoer{logf: logfOrDiscard(cfg.Logf)}
	defer u.undoOnError(&err, &undo)
	if err := checkIfName(cfg.IfName, false); err != nil {
		return nil, err
	}
	if !cfg.Local.Is6() || !cfg.Local.IsLinkLocalUnicast() || !cfg.Peer.Is6() || !cfg.Peer.IsLinkLocalUnicast() {
		return nil, fmt.Errorf("IPv6 addresses %v, %v are not link-local", cfg.Local, cfg.Peer)
	}
	link, err := netlink.LinkByName(cfg.IfName)
	if err != nil {
		return nil, fmt.Errorf("interface %q: %w", cfg.IfName, err)
	}
	index := link.Attrs().Index
	// Before the link comes up, so the kernel neither adds a link-local address of its own
	// nor sends its Router Solicitation before ours is there.
	if err := NoAutoLinkLocal(cfg.IfName); err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.IfName, err)
	}
	ra, autoconf, defrtr := "0", "0", "0"
	if cfg.AcceptRA {
		ra, autoconf = "2", "1" // 2: also when forwarding is on in this namespace
		if cfg.DefaultRoute {
			defrtr = "1"
		}
	}
	for _, s := range [...][2]string{{"accept_ra", ra}, {"accept_ra_defrtr", defrtr}, {"autoconf", autoconf}} {
		if err := ipv6Sysctl(cfg.IfName, s[0], s[1]); err != nil {
			return nil, fmt.Errorf("%s: IPv6 %s: %w", cfg.IfName, s[0], err)
		}
	}
	if link.Attrs().Flags&net.FlagUp == 0 {
		if err := netlink.LinkSetUp(link); err != nil {
			return nil, fmt.Errorf("bring %s up: %w", cfg.IfName, err)
		}
		u.push("set link down", func() error {
			return tolerate(netlink.LinkSetDown(&netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Index: index}}))
		})
	}
	addr := &netlink.Addr{
		IPNet: prefixToIPNet(netip.PrefixFrom(cfg.Local, 128)),
		Peer:  prefixToIPNet(netip.PrefixFrom(cfg.Peer, 128)),
		// A point-to-point link has nobody else to collide with (RFC 5072 §5: the
		// identifiers were negotiated distinct); DAD would only delay it.
		Flags: unix.IFA_F_NODAD,
	}
	switch err := netlink.AddrAdd(link, addr); {
	case err == nil:
		u.push("remove IPv6 address", func() error {
			return tolerate(netlink.AddrDel(&netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Index: index}}, addr))
		})
	case errors.Is(err, unix.EEXIST):
		u.logf("address %v already on %s; leaving it", cfg.Local, cfg.IfName)
	default:
		return nil, fmt.Errorf("add address %v peer %v to %s: %w", cfg.Local, cfg.Peer, cfg.IfName, err)
	}
	for _, p := range cfg.Routes {
		if !p.Addr().Is6() {
			return nil, fmt.Errorf("IPv6 route %v is not IPv6", p)
		}
		if err := addLinkRoute(u, index, cfg.IfName, p.Masked()); err != nil {
			return nil, err
		}
	}
	return u.run, nil
}
