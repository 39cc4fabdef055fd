// SPDX-License-Identifier: MIT

// Package ipv4 holds the one IPv4 header check shared by the MPPE receiver (is this the
// right key?) and the datapath (is this worth a TUN write?).
package ipv4

import "encoding/binary"

// HeaderOK reports whether p starts with an IPv4 header whose version, header length (within
// p) and header checksum are right. It does not look at the total length.
func HeaderOK(p []byte) bool {
	if len(p) < 20 || p[0]>>4 != 4 {
		return false
	}
	hl := int(p[0]&0x0f) * 4
	if hl < 20 || hl > len(p) {
		return false
	}
	var sum uint32
	for i := 0; i < hl; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(p[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return sum == 0xffff
}
