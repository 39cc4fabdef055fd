// SPDX-License-Identifier: MIT

package netif

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pptp-go/pptp/internal/nstest"
	"github.com/vishvananda/netlink"
)

// withNetns runs fn on the calling goroutine, locked to an OS thread that is switched into a
// fresh network namespace; the namespace is deleted afterwards. fn must not start subtests or
// hand netlink work to other goroutines (they would run in the host namespace). Skips when
// not root.
func withNetns(t *testing.T, fn func(h *netlink.Handle)) {
	t.Helper()
	ns := nstest.New(t, "netiftest")
	h := nstest.Handle(t, ns)
	if err := nstest.In(ns, func() error { fn(h); return nil }); err != nil {
		t.Fatal(err)
	}
}

// addPhys creates a "physical" interface nt-phys0 (one end of a veth pair; this kernel has no
// dummy driver) with tSrc/24 and a default route via tGw, so RouteGet to any
// address resolves a gateway.
func addPhys(t *testing.T, h *netlink.Handle) netlink.Link {
	t.Helper()
	l := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "nt-phys0"}, PeerName: "nt-phys1"}
	if err := h.LinkAdd(l); err != nil {
		t.Fatalf("add veth: %v", err)
	}
	link, err := h.LinkByName("nt-phys0")
	if err != nil {
		t.Fatal(err)
	}
	peer, err := h.LinkByName("nt-phys1")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetUp(peer); err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetUp(link); err != nil {
		t.Fatal(err)
	}
	if err := h.AddrAdd(link, &netlink.Addr{IPNet: &net.IPNet{IP: tSrc, Mask: net.CIDRMask(24, 32)}}); err != nil {
		t.Fatal(err)
	}
	if err := h.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Gw: tGw}); err != nil {
		t.Fatalf("default route: %v", err)
	}
	// IPv6 autoconfiguration of the veth ends runs when the carrier comes up, asynchronously
	// (link watch delays it up to a second); wait for it so that snapshots taken from here on
	// only see our own changes.
	for _, l := range []netlink.Link{link, peer} {
		deadline := time.Now().Add(5 * time.Second)
		for !hasLinkLocal(t, h, l) {
			if time.Now().After(deadline) {
				t.Fatalf("no IPv6 link-local address on %s", l.Attrs().Name)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return link
}

func hasLinkLocal(t *testing.T, h *netlink.Handle, l netlink.Link) bool {
	addrs, err := h.AddrList(l, netlink.FAMILY_V6)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if a.IP.IsLinkLocalUnicast() {
			return true
		}
	}
	return false
}

func mustIPNet(s string) *net.IPNet {
	return prefixToIPNet(netip.MustParsePrefix(s))
}

// snapshot renders everything Apply may touch: every link's MTU and up flag, every address
// and every route in every table, sorted, so two snapshots compare as strings.
func snapshot(t *testing.T, h *netlink.Handle) string {
	t.Helper()
	var lines []string
	links, err := h.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		a := l.Attrs()
		lines = append(lines, fmt.Sprintf("link %s mtu %d up %v", a.Name, a.MTU, a.Flags&net.FlagUp != 0))
	}
	addrs, err := h.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		lines = append(lines, fmt.Sprintf("addr #%d %s peer %v", a.LinkIndex, a.IPNet, a.Peer))
	}
	routes, err := h.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: 0}, netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		lines = append(lines, fmt.Sprintf("route table %d %v via %v dev #%d src %v type %d", r.Table, r.Dst, r.Gw, r.LinkIndex, r.Src, r.Type))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}
