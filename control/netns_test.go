// SPDX-License-Identifier: MIT

package control

import (
	"net"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// inNetns runs f on a thread inside a new network namespace named name, where
// 10.99.255.2 is routable but nobody answers.
// The namespace is deleted afterwards.
func inNetns(t *testing.T, name string, f func()) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	ns, err := netns.NewNamed(name) // also switches this thread into it
	if err != nil {
		t.Fatal(err)
	}
	defer netns.DeleteNamed(name)
	defer ns.Close()
	defer netns.Set(orig)
	// A veth pair whose far end has no address: SYNs to 10.99.255.2 leave and are dropped.
	// The static neighbour entry keeps ARP from failing the connect early.
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "ctl0"}, PeerName: "ctl1"}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	peer, err := netlink.LinkByName("ctl1")
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.AddrAdd(veth, &netlink.Addr{IPNet: &net.IPNet{IP: net.IPv4(10, 99, 255, 1), Mask: net.CIDRMask(24, 32)}}); err != nil {
		t.Fatal(err)
	}
	for _, l := range []netlink.Link{veth, peer} {
		if err := netlink.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
	if err := netlink.NeighAdd(&netlink.Neigh{LinkIndex: veth.Attrs().Index, State: netlink.NUD_PERMANENT, IP: net.IPv4(10, 99, 255, 2),
		HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, 2}}); err != nil {
		t.Fatal(err)
	}
	f()
}
