// SPDX-License-Identifier: MIT

package netif

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// withNetns runs fn on the calling goroutine, locked to an OS thread that is switched into a
// fresh network namespace named "netiftest-…"; the namespace is deleted afterwards. fn must
// not start subtests or hand netlink work to other goroutines (they would run in the host
// namespace). Skips when not root.
func withNetns(t *testing.T, fn func(h *netlink.Handle)) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
	var rnd [4]byte
	rand.Read(rnd[:])
	name := "netiftest-" + hex.EncodeToString(rnd[:])

	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("current netns: %v", err)
	}
	defer orig.Close()
	ns, err := netns.NewNamed(name) // also switches this thread into it
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("create netns %s: %v", name, err)
	}
	defer func() {
		ns.Close()
		if err := netns.DeleteNamed(name); err != nil {
			t.Errorf("delete netns %s: %v", name, err)
		}
	}()
	defer func() {
		// Only a thread back in the original namespace may serve other goroutines; otherwise
		// it stays locked and dies with this goroutine.
		if err := netns.Set(orig); err != nil {
			t.Errorf("restore netns: %v", err)
			return
		}
		runtime.UnlockOSThread()
	}()

	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatalf("netlink handle in %s: %v", name, err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		t.Fatal(err)
	}
	fn(h)
}

// addPhys creates a "physical" interface nt-phys0 (one end of a veth pair; this kernel has no
// dummy driver) with 192.0.2.1/24 and a default route via 192.0.2.254, so RouteGet to any
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
	if err := h.AddrAdd(link, &netlink.Addr{IPNet: mustIPNet("192.0.2.1/24")}); err != nil {
		t.Fatal(err)
	}
	if err := h.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Gw: net.ParseIP("192.0.2.254")}); err != nil {
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
