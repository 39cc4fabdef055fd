// SPDX-License-Identifier: MIT

package netif

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

var (
	tLocal  = netip.MustParseAddr("10.64.0.2")
	tPeer   = netip.MustParseAddr("10.64.0.1")
	tServer = netip.MustParseAddr("198.51.100.7")
	tGw     = net.ParseIP("198.18.0.254")
	tSrc    = net.ParseIP("198.18.0.1")
)

// tempResolvConf points ResolvConfPath at a temporary file holding content.
func tempResolvConf(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	old := ResolvConfPath
	ResolvConfPath = p
	t.Cleanup(func() { ResolvConfPath = old })
	return p
}

func TestApplyAndUndo(t *testing.T) {
	const origResolv = "nameserver 192.0.2.53\nsearch example.org\n"
	rc := tempResolvConf(t, origResolv)
	withNetns(t, func(h *netlink.Handle) {
		phys := addPhys(t, h)
		dev, name, err := CreateTUN("nt-tun0", 1400)
		if err != nil {
			t.Fatal(err)
		}
		defer dev.Close()
		before := snapshot(t, h)

		var logs []string
		cfg := Config{
			IfName:       name,
			Local:        tLocal,
			Peer:         tPeer,
			MTU:          1380,
			Routes:       []netip.Prefix{netip.MustParsePrefix("10.70.0.0/16"), netip.MustParsePrefix("172.31.5.9/24")},
			DefaultRoute: true,
			Server:       tServer,
			DNS:          []netip.Addr{netip.MustParseAddr("10.64.0.53"), netip.MustParseAddr("10.64.0.54")},
			Logf:         func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) },
		}
		undo, err := Apply(cfg)
		if err != nil {
			t.Fatal(err)
		}

		link, err := h.LinkByName(name)
		if err != nil {
			t.Fatal(err)
		}
		idx := link.Attrs().Index
		if link.Attrs().MTU != 1380 || link.Attrs().Flags&net.FlagUp == 0 {
			t.Errorf("link mtu %d flags %v", link.Attrs().MTU, link.Attrs().Flags)
		}

		addrs, err := h.AddrList(link, netlink.FAMILY_V4)
		if err != nil {
			t.Fatal(err)
		}
		if len(addrs) != 1 || addrs[0].IPNet.String() != "10.64.0.2/32" || addrs[0].Peer.String() != "10.64.0.1/32" {
			t.Errorf("addresses %v", addrs)
		}

		routes, err := h.RouteList(link, netlink.FAMILY_V4)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, r := range routes {
			got[r.Dst.String()] = r.Gw == nil
		}
		for _, want := range []string{"10.64.0.1/32", "10.70.0.0/16", "172.31.5.0/24", "0.0.0.0/1", "128.0.0.0/1"} {
			if !got[want] {
				t.Errorf("route %s dev %s missing (have %v)", want, name, routes)
			}
		}
		if len(routes) != 5 {
			t.Errorf("%d routes via %s, want 5: %v", len(routes), name, routes)
		}

		host, err := routesTo(netip.PrefixFrom(tServer, 32))
		if err != nil {
			t.Fatal(err)
		}
		if len(host) != 1 || !host[0].Gw.Equal(tGw) || host[0].LinkIndex != phys.Attrs().Index || !host[0].Src.Equal(tSrc) {
			t.Errorf("host route %v, want %v via %v dev nt-phys0 src %v", host, tServer, tGw, tSrc)
		}

		// The tunnel now carries everything except the server.
		if r, err := h.RouteGet(net.ParseIP("203.0.113.9")); err != nil || r[0].LinkIndex != idx {
			t.Errorf("RouteGet(203.0.113.9) = %v, %v: want dev %s", r, err, name)
		}
		if r, err := h.RouteGet(tServer.AsSlice()); err != nil || r[0].LinkIndex != phys.Attrs().Index {
			t.Errorf("RouteGet(server) = %v, %v: want dev nt-phys0", r, err)
		}

		b, _ := os.ReadFile(rc)
		if !bytes.HasPrefix(b, []byte(resolvHeader)) || !bytes.Contains(b, []byte("\nnameserver 10.64.0.53\nnameserver 10.64.0.54\nsearch example.org\n")) {
			t.Errorf("resolv.conf:\n%s", b)
		}
		if !strings.Contains(strings.Join(logs, "\n"), "added host route 198.51.100.7/32 via 198.18.0.254 dev nt-phys0 src 198.18.0.1") {
			t.Errorf("logs: %q", logs)
		}

		if err := undo(); err != nil {
			t.Fatalf("undo: %v", err)
		}
		if after := snapshot(t, h); after != before {
			t.Errorf("state after undo differs:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		if b, _ := os.ReadFile(rc); string(b) != origResolv {
			t.Errorf("resolv.conf after undo %q", b)
		}
		if err := undo(); err != nil {
			t.Errorf("second undo: %v", err)
		}
		if after := snapshot(t, h); after != before {
			t.Errorf("second undo changed state")
		}
	})
}

// TestApplyHalfwayFailure makes the last route fail (it clashes with the connected route of
// nt-phys0), and then DNS fail: nothing Apply did may stay behind.
func TestApplyHalfwayFailure(t *testing.T) {
	withNetns(t, func(h *netlink.Handle) {
		addPhys(t, h)
		dev, name, err := CreateTUN("nt-tun0", 1400)
		if err != nil {
			t.Fatal(err)
		}
		defer dev.Close()
		before := snapshot(t, h)

		cfg := Config{
			IfName: name, Local: tLocal, Peer: tPeer, MTU: 1300, Server: tServer, DefaultRoute: true,
			Routes: []netip.Prefix{netip.MustParsePrefix("10.70.0.0/16"), netip.MustParsePrefix("198.18.0.0/24")},
		}
		undo, err := Apply(cfg)
		if err == nil {
			undo()
			t.Fatal("Apply with a clashing route succeeded")
		}
		if undo != nil {
			t.Error("Apply returned an undo with an error")
		}
		if !strings.Contains(err.Error(), "add route 198.18.0.0/24 dev nt-tun0: a route to 198.18.0.0/24 already exists (198.18.0.0/24 dev nt-phys0 src 198.18.0.1)") {
			t.Errorf("err = %v", err)
		}
		if after := snapshot(t, h); after != before {
			t.Errorf("state after failed Apply differs:\nbefore:\n%s\nafter:\n%s", before, after)
		}

		// DNS is the last step; make it fail.
		old := ResolvConfPath
		ResolvConfPath = filepath.Join(t.TempDir(), "missing-dir", "resolv.conf")
		defer func() { ResolvConfPath = old }()
		cfg.Routes = cfg.Routes[:1]
		cfg.DNS = []netip.Addr{netip.MustParseAddr("10.64.0.53")}
		if undo, err := Apply(cfg); err == nil {
			undo()
			t.Fatal("Apply with an unwritable resolv.conf succeeded")
		}
		if after := snapshot(t, h); after != before {
			t.Errorf("state after failed DNS differs:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})
}

func TestApplyBadConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{IfName: "", Local: tLocal}, "interface name is empty"},
		{Config{IfName: "nt-x0", Local: netip.Addr{}}, "is not an IPv4 address"},
		{Config{IfName: "nt-x0", Local: netip.MustParseAddr("2001:db8::1")}, "is not an IPv4 address"},
		{Config{IfName: "nt-x0", Local: tLocal, Peer: netip.MustParseAddr("2001:db8::1")}, "peer address"},
		{Config{IfName: "nt-x0", Local: tLocal, Routes: []netip.Prefix{{}}}, "invalid route"},
	} {
		if _, err := Apply(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Apply(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

// TestUndoAfterTUNClosed: closing the TUN deletes the interface with its addresses and
// routes; undo must still remove the host route and report no error.
func TestUndoAfterTUNClosed(t *testing.T) {
	withNetns(t, func(h *netlink.Handle) {
		addPhys(t, h)
		before := snapshot(t, h)
		dev, name, err := CreateTUN("nt-tun0", 1400)
		if err != nil {
			t.Fatal(err)
		}
		undo, err := Apply(Config{IfName: name, Local: tLocal, Peer: tPeer, MTU: 1200, Server: tServer, DefaultRoute: true})
		if err != nil {
			t.Fatal(err)
		}
		dev.Close()
		if err := undo(); err != nil {
			t.Fatalf("undo after the interface vanished: %v", err)
		}
		if after := snapshot(t, h); after != before {
			t.Errorf("state differs:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})
}

func TestHostRoute(t *testing.T) {
	withNetns(t, func(h *netlink.Handle) {
		phys := addPhys(t, h)
		before := snapshot(t, h)
		undo, err := HostRoute(tServer, nil, t.Logf)
		if err != nil {
			t.Fatal(err)
		}
		host, _ := routesTo(netip.PrefixFrom(tServer, 32))
		if len(host) != 1 || !host[0].Gw.Equal(tGw) {
			t.Fatalf("host route %v", host)
		}
		if err := undo(); err != nil {
			t.Fatal(err)
		}
		if after := snapshot(t, h); after != before {
			t.Errorf("state differs after undo:\nbefore:\n%s\nafter:\n%s", before, after)
		}

		// A host route that was there before is not ours: undo keeps it.
		mine := &netlink.Route{LinkIndex: phys.Attrs().Index, Dst: mustIPNet("198.51.100.7/32"), Gw: tGw}
		if err := h.RouteAdd(mine); err != nil {
			t.Fatal(err)
		}
		undo, err = HostRoute(tServer, nil, t.Logf)
		if err != nil {
			t.Fatal(err)
		}
		if err := undo(); err != nil {
			t.Fatal(err)
		}
		if host, _ := routesTo(netip.PrefixFrom(tServer, 32)); len(host) != 1 {
			t.Errorf("pre-existing host route removed: %v", host)
		}

		// Local server (tests on one host): nothing to add.
		undo, err = HostRoute(netip.MustParseAddr("198.18.0.1"), nil, t.Logf)
		if err != nil {
			t.Fatal(err)
		}
		undo()

		// Unreachable server: a clear error.
		if err := h.RouteDel(&netlink.Route{LinkIndex: phys.Attrs().Index, Gw: tGw}); err != nil {
			t.Fatal(err)
		}
		_, err = HostRoute(netip.MustParseAddr("203.0.113.1"), nil, t.Logf)
		if err == nil || !strings.Contains(err.Error(), "no route to PPTP server 203.0.113.1") || !isErrno(err, unix.ENETUNREACH) {
			t.Errorf("unreachable server: err = %v", err)
		}
	})
}

func isErrno(err error, e unix.Errno) bool {
	for err != nil {
		if x, ok := err.(unix.Errno); ok && x == e {
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

// Two clients to one server share the host route the first one added (it carries
// HostRouteProtocol): whichever ends while the other still runs leaves it; the last removes it.
func TestHostRouteShared(t *testing.T) {
	withNetns(t, func(h *netlink.Handle) {
		addPhys(t, h)
		before := snapshot(t, h)
		aRunning, bRunning := true, true
		undoA, err := HostRoute(tServer, func() bool { return bRunning }, t.Logf)
		if err != nil {
			t.Fatal(err)
		}
		undoB, err := HostRoute(tServer, func() bool { return aRunning }, t.Logf)
		if err != nil {
			t.Fatal(err)
		}
		host, _ := routesTo(netip.PrefixFrom(tServer, 32))
		if len(host) != 1 || host[0].Protocol != HostRouteProtocol {
			t.Fatalf("host route %v", host)
		}
		aRunning = false
		if err := undoA(); err != nil {
			t.Fatal(err)
		}
		if host, _ := routesTo(netip.PrefixFrom(tServer, 32)); len(host) != 1 {
			t.Fatalf("host route gone while B runs: %v", host)
		}
		bRunning = false
		if err := undoB(); err != nil {
			t.Fatal(err)
		}
		if after := snapshot(t, h); after != before {
			t.Errorf("state differs after both ended:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})
}
