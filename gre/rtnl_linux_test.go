// SPDX-License-Identifier: MIT

package gre

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// nlAttr encodes one rtattr, padded.
func nlAttr(typ uint16, data []byte) []byte {
	b := make([]byte, (unix.SizeofRtAttr+len(data)+3)&^3)
	binary.NativeEndian.PutUint16(b, uint16(unix.SizeofRtAttr+len(data)))
	binary.NativeEndian.PutUint16(b[2:], typ)
	copy(b[unix.SizeofRtAttr:], data)
	return b
}

// nlMsg encodes one netlink message with a fixed header and attributes.
func nlMsg(typ uint16, fixed []byte, attrs ...[]byte) []byte {
	body := append([]byte(nil), fixed...)
	for _, a := range attrs {
		body = append(body, a...)
	}
	b := make([]byte, unix.NLMSG_HDRLEN, unix.NLMSG_HDRLEN+len(body))
	binary.NativeEndian.PutUint32(b, uint32(unix.NLMSG_HDRLEN+len(body)))
	binary.NativeEndian.PutUint16(b[4:], typ)
	return append(b, body...)
}

func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

func nlError(errno unix.Errno) []byte {
	return nlMsg(unix.NLMSG_ERROR, u32(uint32(-int32(errno))))
}

func routeReply(typ byte, attrs ...[]byte) []byte {
	rt := make([]byte, unix.SizeofRtMsg)
	rt[0], rt[7] = unix.AF_INET, typ
	return nlMsg(unix.RTM_NEWROUTE, rt, attrs...)
}

func TestParseRoute(t *testing.T) {
	gw := netip.MustParseAddr("192.0.2.1")
	r, err := parseRoute(routeReply(unix.RTN_UNICAST,
		nlAttr(unix.RTA_OIF, u32(7)), nlAttr(unix.RTA_GATEWAY, gw.AsSlice()),
		nlAttr(unix.RTA_METRICS, nlAttr(rtaxMTU, u32(1400)))))
	if err != nil || r.oif != 7 || r.gateway != gw || r.mtu != 1400 {
		t.Fatalf("route %+v, %v", r, err)
	}
	if _, err := parseRoute(routeReply(unix.RTN_LOCAL, nlAttr(unix.RTA_OIF, u32(1)))); err == nil {
		t.Fatal("local route accepted")
	}
	if _, err := parseRoute(routeReply(unix.RTN_UNICAST)); err == nil {
		t.Fatal("route without output interface accepted")
	}
	if _, err := parseRoute(nlError(unix.ENETUNREACH)); !errors.Is(err, unix.ENETUNREACH) {
		t.Fatalf("error reply: %v", err)
	}
}

func TestParseLinkAndNeigh(t *testing.T) {
	ifi := make([]byte, unix.SizeofIfInfomsg)
	binary.NativeEndian.PutUint16(ifi[2:], unix.ARPHRD_ETHER)
	binary.NativeEndian.PutUint32(ifi[8:], unix.IFF_UP)
	mac := []byte{2, 0, 0, 0, 0, 1}
	link := func(attrs ...[]byte) device {
		d, err := parseLink(nlMsg(unix.RTM_NEWLINK, ifi, append([][]byte{nlAttr(unix.IFLA_MTU, u32(1500)), nlAttr(unix.IFLA_ADDRESS, mac)}, attrs...)...))
		if err != nil || d.mtu != 1500 {
			t.Fatalf("link %+v, %v", d, err)
		}
		return d
	}
	if !link().usable || !link(nlAttr(unix.IFLA_NUM_TX_QUEUES, u32(1)), nlAttr(unix.IFLA_QDISC, []byte("fq_codel\x00"))).usable {
		t.Fatal("single-queue Ethernet link not usable")
	}
	if !link(nlAttr(unix.IFLA_NUM_TX_QUEUES, u32(8)), nlAttr(unix.IFLA_QDISC, []byte("noqueue\x00"))).usable {
		t.Fatal("queue-less multi-queue link (veth) not usable")
	}
	if link(nlAttr(unix.IFLA_NUM_TX_QUEUES, u32(8)), nlAttr(unix.IFLA_QDISC, []byte("mq\x00"))).usable {
		t.Fatal("multi-queue link with a qdisc usable")
	}
	binary.NativeEndian.PutUint32(ifi[8:], 0) // down
	if link().usable {
		t.Fatal("down link usable")
	}

	nd := make([]byte, unix.SizeofNdMsg)
	binary.NativeEndian.PutUint16(nd[8:], unix.NUD_STALE)
	st, got, err := parseNeigh(nlMsg(unix.RTM_NEWNEIGH, nd, nlAttr(unix.NDA_LLADDR, mac)))
	if err != nil || st != unix.NUD_STALE || got != [6]byte(mac) {
		t.Fatalf("neighbour %#x %x %v", st, got, err)
	}
	if _, _, err := parseNeigh(nlMsg(unix.RTM_NEWNEIGH, nd)); err == nil {
		t.Fatal("neighbour without an address accepted")
	}
	if _, _, err := parseNeigh(nlError(unix.ENOENT)); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("error reply: %v", err)
	}
}

func TestDumpHas(t *testing.T) {
	table := nlMsg(nfnlSubsysNFTables<<8|nftMsgNewTable, make([]byte, 4))
	done := nlMsg(unix.NLMSG_DONE, u32(0))
	want := uint16(nfnlSubsysNFTables<<8 | nftMsgNewTable)
	if found, _, err := dumpHas(append(table, done...), want); !found || err != nil {
		t.Fatalf("table not found: %v", err)
	}
	if found, fin, err := dumpHas(done, want); found || !fin || err != nil {
		t.Fatalf("empty dump: found %v done %v %v", found, fin, err)
	}
	if _, _, err := dumpHas([]byte{1, 2, 3}, want); err == nil {
		t.Fatal("garbage accepted")
	}
}

// FuzzNetlinkReply feeds arbitrary bytes to every reply parser: no panics,
// and nothing found in a stream that fails the walk.
func FuzzNetlinkReply(f *testing.F) {
	f.Add(routeReply(unix.RTN_UNICAST, nlAttr(unix.RTA_OIF, u32(2)), nlAttr(unix.RTA_METRICS, nlAttr(rtaxMTU, u32(1400)))))
	f.Add(nlError(unix.ENOENT))
	f.Add(nlMsg(unix.RTM_NEWNEIGH, make([]byte, unix.SizeofNdMsg), nlAttr(unix.NDA_LLADDR, make([]byte, 6))))
	f.Add(nlMsg(unix.RTM_NEWLINK, make([]byte, unix.SizeofIfInfomsg), nlAttr(unix.IFLA_MTU, u32(9000))))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseRoute(b)
		parseLink(b)
		parseNeigh(b)
		dumpHas(b, unix.RTM_NEWROUTE)
		nlAttrs(b, func(uint16, []byte) {})
	})
}
