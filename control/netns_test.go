// SPDX-License-Identifier: MIT

package control

import (
	"net"
	"testing"

	"github.com/pptp-go/pptp/internal/nstest"
	"github.com/vishvananda/netlink"
)

// silentAddr is routable inside inNetns's namespace, but nobody answers there.
const silentAddr = "198.18.255.2"

// inNetns runs f inside a new network namespace where silentAddr is routable but nobody
// answers. The namespace is deleted afterwards.
func inNetns(t *testing.T, f func()) {
	t.Helper()
	ns := nstest.New(t, "ctltest")
	h := nstest.Handle(t, ns)
	// A veth pair whose far end has no address: SYNs to silentAddr leave and are dropped.
	// The static neighbour entry keeps ARP from failing the connect early.
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "ctl0"}, PeerName: "ctl1"}
	if err := h.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	peer, err := h.LinkByName("ctl1")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.AddrAdd(veth, &netlink.Addr{IPNet: &net.IPNet{IP: net.IPv4(198, 18, 255, 1), Mask: net.CIDRMask(24, 32)}}); err != nil {
		t.Fatal(err)
	}
	for _, l := range []netlink.Link{veth, peer} {
		if err := h.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.NeighAdd(&netlink.Neigh{LinkIndex: veth.Attrs().Index, State: netlink.NUD_PERMANENT, IP: net.ParseIP(silentAddr),
		HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, 2}}); err != nil {
		t.Fatal(err)
	}
	if err := nstest.In(ns, func() error { f(); return nil }); err != nil {
		t.Fatal(err)
	}
}
