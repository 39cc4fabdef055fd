// SPDX-License-Identifier: MIT

package netif

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

func readIPv6Sysctl(t *testing.T, ifname, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc/sys/net/ipv6/conf", ifname, name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// Apply6 on a fresh TUN: only the negotiated link-local address (the kernel adds none of its
// own), with its peer; the RA policy; the route; undo restores everything.
func TestApply6AndUndo(t *testing.T) {
	withNetns(t, func(h *netlink.Handle) {
		dev, name, err := CreateTUN("nt-tun6", 1400)
		if err != nil {
			t.Fatal(err)
		}
		defer dev.Close()
		before := snapshot(t, h)
		local, peer := netip.MustParseAddr("fe80::4cd4:324b:d570:1cbd"), netip.MustParseAddr("fe80::153d:aa72:90d7:8afc")
		route := netip.MustParsePrefix("2001:db8:99:1::/64")
		undo, err := Apply6(Config6{IfName: name, Local: local, Peer: peer, AcceptRA: true, DefaultRoute: true, Routes: []netip.Prefix{route}})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // any address of the kernel's own would be there by now
		link, err := h.LinkByName(name)
		if err != nil {
			t.Fatal(err)
		}
		addrs, err := h.AddrList(link, netlink.FAMILY_V6)
		if err != nil {
			t.Fatal(err)
		}
		if len(addrs) != 1 || addrs[0].IP.String() != local.String() || addrs[0].Peer == nil || addrs[0].Peer.IP.String() != peer.String() {
			t.Fatalf("IPv6 addresses on %s: %v", name, addrs)
		}
		for k, want := range map[string]string{"addr_gen_mode": "1", "accept_ra": "2", "accept_ra_defrtr": "1", "autoconf": "1"} {
			if got := readIPv6Sysctl(t, name, k); got != want {
				t.Errorf("%s = %s, want %s", k, got, want)
			}
		}
		if rs, err := routesTo(route); err != nil || len(rs) != 1 || rs[0].LinkIndex != link.Attrs().Index {
			t.Errorf("route %v: %v %v", route, rs, err)
		}
		if err := undo(); err != nil {
			t.Fatal(err)
		}
		if after := snapshot(t, h); after != before {
			t.Errorf("undo left changes:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		if _, err := Apply6(Config6{IfName: name, Local: netip.MustParseAddr("2001:db8::1"), Peer: peer}); err == nil {
			t.Error("a global address accepted as link-local")
		}
	})
}
