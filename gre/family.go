// SPDX-License-Identifier: MIT

package gre

import (
	"encoding/binary"
	"net/netip"

	"golang.org/x/net/bpf"
)

// The two families' raw GRE sockets read differently, and this file is the one place that
// knows. An IPv4 socket returns the IPv4 header in front of the GRE packet, and its socket
// filter sees the packet from that header on. An IPv6 socket never passes the IPv6 header
// up (RFC 3542 §3: the kernel has pulled it before raw delivery), so reads return the GRE
// packet alone and filters see it from the GRE header on. Writes take the GRE packet in
// both: the kernel adds the IP header.

// framedIPv4 reports whether what a raw GRE socket reads from peer starts with an IPv4
// header: everything but an IPv6 peer (IPv4-mapped addresses are IPv4).
func framedIPv4(peer netip.Addr) bool { return !peer.Is6() || peer.Is4In6() }

// remoteAddrer is the optional method of a PacketConn that tells how its reads are framed;
// PacketConn without it, or with a RemoteAddr that is IPv4, reads IPv4 packets.
type remoteAddrer interface{ RemoteAddr() netip.Addr }

// readsIPv4 reports whether pc's reads start with an IPv4 header (see PacketConn).
func readsIPv4(pc PacketConn) bool {
	if r, ok := pc.(remoteAddrer); ok {
		return framedIPv4(r.RemoteAddr())
	}
	return true
}

// spanResult is why greSpan found no GRE packet.
type spanResult uint8

const (
	spanOK        spanResult = iota
	spanInvalid              // not an IPv4 packet, or a bad header length
	spanTruncated            // the IPv4 total length exceeds what was read
)

// greSpan returns where the GRE packet starts and ends in pkt, as a raw socket read it:
// after the IPv4 header and up to the IPv4 total length if v4, the whole of pkt if not
// (a cut IPv6 read shows in GRE's own payload length, which Parse checks).
func greSpan(pkt []byte, v4 bool) (off, end int, res spanResult) {
	if !v4 {
		return 0, len(pkt), spanOK
	}
	if len(pkt) < ipv4MinHeaderLen || pkt[0]>>4 != 4 {
		return 0, 0, spanInvalid
	}
	ihl := int(pkt[0]&0x0F) * 4
	total := int(binary.BigEndian.Uint16(pkt[2:]))
	switch {
	case ihl < ipv4MinHeaderLen || total < ihl:
		return 0, 0, spanInvalid
	case total > len(pkt):
		return 0, total, spanTruncated
	}
	return ihl, total, spanOK
}

// callIDAt returns the Call ID of the GRE packet a raw socket of the given framing read,
// false if pkt is too short for it.
func callIDAt(pkt []byte, v4 bool) (uint16, bool) {
	if v4 {
		id, _, ok := DemuxKey(pkt)
		return id, ok
	}
	if len(pkt) < callIDOffset+2 {
		return 0, false
	}
	return binary.BigEndian.Uint16(pkt[callIDOffset:]), true
}

// callIDProgram passes the packets whose GRE Call ID meets cond with val, whole, on a
// socket whose filter sees an IPv4 header first (v4) or the GRE header first.
func callIDProgram(v4 bool, cond bpf.JumpTest, val uint32) []bpf.Instruction {
	load := []bpf.Instruction{
		bpf.LoadMemShift{Off: 0},                     // X = IPv4 header length
		bpf.LoadIndirect{Off: callIDOffset, Size: 2}, // A = GRE Call ID
	}
	if !v4 {
		load = []bpf.Instruction{bpf.LoadAbsolute{Off: callIDOffset, Size: 2}}
	}
	return append(load,
		bpf.JumpIf{Cond: cond, Val: val, SkipFalse: 1},
		bpf.RetConstant{Val: 0xFFFFFFFF}, // whole packet
		bpf.RetConstant{Val: 0},          // drop
	)
}
