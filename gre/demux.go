// SPDX-License-Identifier: MIT

package gre

import (
	"encoding/binary"

	"golang.org/x/net/bpf"
)

// How calls are told apart on a socket that reads for several (Mux) or whose kernel filter
// passes only one (Dial with Options.CallID): by the Call ID in the GRE header.

// MuxCallIDBit is set in every Call ID a Mux serves and in none of a Dial'ed Conn beside it.
const MuxCallIDBit = 0x8000

// MuxQueueLen is the most packets a muxed call holds that its Link has not read yet; the
// Mux drops beyond it (the peer's sequence numbers tell the Link they were lost). It is
// also the most the call advertises as its receive window (RecvWindow).
const MuxQueueLen = 1024

// DemuxKey returns the Call ID and the IPv4 source address of an IPv4 packet carrying
// enhanced GRE (as a raw socket reads it, header included); ok is false when the packet is
// too short for them.
func DemuxKey(pkt []byte) (callID uint16, src [4]byte, ok bool) {
	if len(pkt) < 20 || pkt[0]>>4 != 4 {
		return 0, src, false
	}
	ihl := int(pkt[0]&0x0f) * 4
	if ihl < 20 || len(pkt) < ihl+callIDOffset+2 {
		return 0, src, false
	}
	copy(src[:], pkt[12:16])
	return binary.BigEndian.Uint16(pkt[ihl+callIDOffset:]), src, true
}

// CallIDFilter returns the classic BPF program that passes only enhanced
// GRE packets whose Call ID (IPv4 header length + 6) is callID. A raw IPv4 socket's
// filter sees the packet from the IPv4 header on (an IPv6 socket's from GRE's, family.go).
func CallIDFilter(callID uint16) ([]bpf.RawInstruction, error) {
	return bpf.Assemble(callIDProgram(true, bpf.JumpEqual, uint32(callID)))
}
