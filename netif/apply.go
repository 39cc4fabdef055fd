// SPDX-License-Identifier: MIT

package netif

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Config describes the interface side of an established PPP link.
type Config struct {
	IfName      string
	Local, Peer netip.Addr // point-to-point: Local/32 peer Peer/32 (IFA_LOCAL/IFA_ADDRESS like pppd); Peer may be zero
	MTU         int        // 0 = leave the MTU alone
	Routes      []netip.Prefix
	// DefaultRoute adds 0.0.0.0/1 and 128.0.0.0/1 via the interface (wg-quick style): they win
	// over the original default route by being more specific, and leave it in place.
	DefaultRoute bool
	Server       netip.Addr // PPTP server: host route kept on the physical path (unless zero)
	// ServerShared, if set, reports at teardown whether another client still uses the
	// server's host route; ours is then left to it (see addHostRoute).
	ServerShared func() bool
	DNS          []netip.Addr // applied only if non-empty
	Logf         func(format string, args ...any)
}

// defaultHalves are the two routes that together cover 0.0.0.0/0.
var defaultHalves = [2]netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/1"),
	netip.MustParsePrefix("128.0.0.0/1"),
}

// Apply configures the interface cfg.IfName: the server host route first (so that its lookup
// still sees the physical path), then the MTU, link up, the point-to-point address, cfg.Routes,
// the default-route halves and DNS.
//
// The server host route follows pptp-linux: RouteGet(server) and add server/32 with the same
// gateway, device and source; it is skipped (and not remembered) when the server is a local
// address or an identical /32 already exists.
//
// It returns an undo that removes exactly what Apply added, in reverse order, restores the MTU
// and up/down state it changed and restores DNS. Undo tolerates things that are already gone
// (the interface may have vanished with the TUN), is safe for concurrent use and idempotent:
// only the first call does anything; later calls return nil. If Apply fails half way it undoes
// what it did and returns the error (joined with any cleanup error).
func Apply(cfg Config) (undo func() error, err error) {
	u := &undoer{logf: logfOrDiscard(cfg.Logf)}
	defer u.undoOnError(&err, &undo)
	if err := checkIfName(cfg.IfName, false); err != nil {
		return nil, err
	}
	if !cfg.Local.Is4() {
		return nil, fmt.Errorf("local address %v is not an IPv4 address", cfg.Local)
	}
	if cfg.Peer.IsValid() && !cfg.Peer.Is4() {
		return nil, fmt.Errorf("peer address %v is not an IPv4 address", cfg.Peer)
	}
	for _, r := range cfg.Routes {
		if !r.IsValid() {
			return nil, fmt.Errorf("invalid route %v", r)
		}
	}

	if cfg.Server.IsValid() {
		if err := addHostRoute(u, cfg.Server, cfg.ServerShared); err != nil {
			return nil, err
		}
	} else if cfg.DefaultRoute {
		u.logf("default route via %s without a server host route: GRE to the server must be kept off the tunnel by other means (--rtmark policy routing)", cfg.IfName)
	}

	link, err := netlink.LinkByName(cfg.IfName)
	if err != nil {
		return nil, fmt.Errorf("interface %q: %w", cfg.IfName, err)
	}
	attrs := link.Attrs()
	index := attrs.Index

	if cfg.MTU != 0 && cfg.MTU != attrs.MTU {
		old := attrs.MTU
		if err := netlink.LinkSetMTU(link, cfg.MTU); err != nil {
			return nil, fmt.Errorf("set MTU of %s to %d: %w", cfg.IfName, cfg.MTU, err)
		}
		u.push("restore MTU", func() error {
			return tolerate(netlink.LinkSetMTU(&netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Index: index}}, old))
		})
	}
	if attrs.Flags&net.FlagUp == 0 {
		if err := netlink.LinkSetUp(link); err != nil {
			return nil, fmt.Errorf("bring %s up: %w", cfg.IfName, err)
		}
		u.push("set link down", func() error {
			return tolerate(netlink.LinkSetDown(&netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Index: index}}))
		})
	}

	addr := &netlink.Addr{IPNet: prefixToIPNet(netip.PrefixFrom(cfg.Local, 32))}
	if cfg.Peer.IsValid() {
		addr.Peer = prefixToIPNet(netip.PrefixFrom(cfg.Peer, 32))
	}
	switch err := netlink.AddrAdd(link, addr); {
	case err == nil:
		u.push("remove address", func() error {
			return tolerate(netlink.AddrDel(&netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Index: index}}, addr))
		})
	case errors.Is(err, unix.EEXIST):
		u.logf("address %v already on %s; leaving it", cfg.Local, cfg.IfName)
	default:
		return nil, fmt.Errorf("add address %v peer %v to %s: %w", cfg.Local, cfg.Peer, cfg.IfName, err)
	}

	routes := cfg.Routes
	if cfg.DefaultRoute {
		routes = append(routes[:len(routes):len(routes)], defaultHalves[:]...)
	}
	for _, p := range routes {
		if err := addLinkRoute(u, index, cfg.IfName, p.Masked()); err != nil {
			return nil, err
		}
	}

	if len(cfg.DNS) > 0 {
		dnsUndo, err := SetDNS(cfg.IfName, cfg.DNS, cfg.Logf)
		if err != nil {
			return nil, err
		}
		u.push("restore DNS", dnsUndo)
	}
	return u.run, nil
}

// addLinkRoute adds p via the interface. An identical route already there is left alone and
// not remembered; any other route for p (same metric, elsewhere) is an error: replacing it
// would break whoever owns it.
func addLinkRoute(u *undoer, index int, ifname string, p netip.Prefix) error {
	r := &netlink.Route{LinkIndex: index, Dst: prefixToIPNet(p), Scope: netlink.SCOPE_LINK}
	err := netlink.RouteAdd(r)
	if err == nil {
		u.push("remove route "+p.String(), func() error { return tolerate(netlink.RouteDel(r)) })
		return nil
	}
	if !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("add route %v dev %s: %w", p, ifname, err)
	}
	existing, lerr := routesTo(p)
	if lerr == nil {
		for _, e := range existing {
			if e.LinkIndex == index && e.Gw == nil {
				u.logf("route %v dev %s already exists; leaving it", p, ifname)
				return nil
			}
		}
		if len(existing) > 0 {
			return fmt.Errorf("add route %v dev %s: a route to %v already exists (%s): %w", p, ifname, p, describeRoute(existing[0]), err)
		}
	}
	return fmt.Errorf("add route %v dev %s: %w", p, ifname, err)
}

// HostRoute adds only the server host route (for the pty modes, as pptp-linux does). Undo
// removes it if it was added; like Apply's undo it is idempotent and tolerates a vanished route.
func HostRoute(server netip.Addr, shared func() bool, logf func(string, ...any)) (undo func() error, err error) {
	u := &undoer{logf: logfOrDiscard(logf)}
	if err := addHostRoute(u, server, shared); err != nil {
		return nil, err
	}
	return u.run, nil
}

// HostRouteProtocol marks the host routes we add (ip route's "proto 77"): a client that
// finds one to its server shares it with the one that added it, and whichever ends last
// (shared() false) removes it. A host route without the mark is someone else's: it stays.
const HostRouteProtocol = 77

// addHostRoute pins the path to the PPTP server as it is now, before tunnel routes change it.
func addHostRoute(u *undoer, server netip.Addr, shared func() bool) error {
	server = server.Unmap()
	if !server.IsValid() {
		return errors.New("host route: no server address")
	}
	got, err := netlink.RouteGet(server.AsSlice())
	if err != nil {
		return fmt.Errorf("host route: no route to PPTP server %v: %w", server, err)
	}
	if len(got) == 0 {
		return fmt.Errorf("host route: no route to PPTP server %v", server)
	}
	g := got[0]
	if g.Type == unix.RTN_LOCAL {
		u.logf("PPTP server %v is a local address; no host route needed", server)
		return nil
	}
	if g.Type != unix.RTN_UNICAST {
		return fmt.Errorf("host route: route to PPTP server %v is not usable (route type %d)", server, g.Type)
	}
	r := &netlink.Route{
		LinkIndex: g.LinkIndex,
		Dst:       prefixToIPNet(netip.PrefixFrom(server, server.BitLen())),
		Gw:        g.Gw,
		Src:       g.Src,
		Protocol:  HostRouteProtocol,
	}
	remove := func(r *netlink.Route) func() error {
		return func() error {
			if shared != nil && shared() {
				u.logf("host route to %v: another client to it is running; leaving the route to it", server)
				return nil
			}
			return tolerate(netlink.RouteDel(r))
		}
	}
	if g.Gw == nil {
		r.Scope = netlink.SCOPE_LINK
	}
	desc := describeRoute(*r)
	err = netlink.RouteAdd(r)
	switch {
	case err == nil:
		u.logf("added host route %s", desc)
		u.push("remove host route", remove(r))
		return nil
	case errors.Is(err, unix.EEXIST):
		// RouteGet already chose an existing /32 (or one with our metric exists elsewhere).
		// Another client of ours added it if it carries our mark: then we share it.
		if rs, lerr := routesTo(netip.PrefixFrom(server, server.BitLen())); lerr == nil {
			for i := range rs {
				if rs[i].Protocol == HostRouteProtocol {
					u.logf("host route to %v was added by another client; sharing it", server)
					u.push("remove host route", remove(&rs[i]))
					return nil
				}
			}
		}
		u.logf("host route to %v already exists; leaving it", server)
		return nil
	}
	return fmt.Errorf("host route: add %s: %w", desc, err)
}

// routesTo lists the main-table routes with destination exactly p.
func routesTo(p netip.Prefix) ([]netlink.Route, error) {
	family := netlink.FAMILY_V4
	if p.Addr().Is6() {
		family = netlink.FAMILY_V6
	}
	filter := &netlink.Route{Dst: prefixToIPNet(p), Table: unix.RT_TABLE_MAIN}
	var (
		rs  []netlink.Route
		err error
	)
	for range 3 { // a dump interrupted by a concurrent change is retried
		rs, err = netlink.RouteListFiltered(family, filter, netlink.RT_FILTER_DST|netlink.RT_FILTER_TABLE)
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	return rs, err
}

// describeRoute renders r like `ip route`: "DST via GW dev NAME src SRC".
func describeRoute(r netlink.Route) string {
	s := "default"
	if r.Dst != nil {
		s = r.Dst.String()
	}
	if r.Gw != nil {
		s += " via " + r.Gw.String()
	}
	if l, err := netlink.LinkByIndex(r.LinkIndex); err == nil {
		s += " dev " + l.Attrs().Name
	} else if r.LinkIndex != 0 {
		s += fmt.Sprintf(" dev #%d", r.LinkIndex)
	}
	if r.Src != nil {
		s += " src " + r.Src.String()
	}
	return s
}

// undoer is a stack of cleanup steps run once, newest first.
type undoer struct {
	logf func(string, ...any)

	mu struct {
		sync.Mutex
		steps []undoStep
		done  bool
	}
}

type undoStep struct {
	what string
	fn   func() error
}

func (u *undoer) push(what string, fn func() error) {
	u.mu.Lock()
	u.mu.steps = append(u.mu.steps, undoStep{what, fn})
	u.mu.Unlock()
}

// run executes every step even when some fail, and reports all failures.
// undoOnError, deferred by Apply and Apply6, undoes what they did if they fail (*err set),
// joins any cleanup error to theirs and returns no undo.
func (u *undoer) undoOnError(err *error, undo *func() error) {
	if *err == nil {
		return
	}
	if uerr := u.run(); uerr != nil {
		*err = errors.Join(*err, fmt.Errorf("cleaning up after the failure: %w", uerr))
	}
	*undo = nil
}

func (u *undoer) run() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.mu.done {
		return nil
	}
	u.mu.done = true
	var errs []error
	for i := len(u.mu.steps) - 1; i >= 0; i-- {
		s := u.mu.steps[i]
		if err := s.fn(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.what, err))
		}
	}
	u.mu.steps = nil
	return errors.Join(errs...)
}

// tolerate maps "already gone" answers from the kernel to success.
func tolerate(err error) error {
	var nf netlink.LinkNotFoundError
	switch {
	case err == nil,
		errors.Is(err, unix.ESRCH),         // route not found
		errors.Is(err, unix.EADDRNOTAVAIL), // address not found
		errors.Is(err, unix.ENODEV),        // interface gone
		errors.Is(err, unix.ENOENT),
		errors.As(err, &nf):
		return nil
	}
	return err
}

func prefixToIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func logfOrDiscard(f func(string, ...any)) func(string, ...any) {
	if f == nil {
		return func(string, ...any) {}
	}
	return f
}

// AddRoutes routes each prefix through the existing interface ifname (the server's
// routes to a client's networks: RADIUS Framed-Route). Undo removes them; routes that
// vanished with the interface are fine. On an error the routes added so far are removed.
func AddRoutes(ifname string, routes []netip.Prefix, logf func(string, ...any)) (undo func() error, err error) {
	link, err := netlink.LinkByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("routes via %s: %w", ifname, err)
	}
	u := &undoer{logf: logfOrDiscard(logf)}
	for _, p := range routes {
		if err := addLinkRoute(u, link.Attrs().Index, ifname, p); err != nil {
			return nil, errors.Join(err, u.run())
		}
	}
	return u.run, nil
}
