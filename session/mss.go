// SPDX-License-Identifier: MIT

package session

import "encoding/binary"

// MSS clamping. A TCP connection through the tunnel announces an MSS from its own
// interface's MTU (1460 on Ethernet), but the tunnel carries 1400 or less; when the path
// behind the tunnel drops the ICMP "fragmentation needed" that path-MTU discovery relies
// on, full-size segments vanish and the connection hangs after its handshake ("some sites
// hang over PPTP"). Rewriting the MSS option of SYN and SYN-ACK segments crossing the
// tunnel, both ways, to the tunnel MTU − 40 keeps every segment small enough. As pppd's
// users do with iptables' TCPMSS target, but in the datapath, without a firewall.

// mssFor is the MSS that fits a tunnel MTU: 20 bytes of IPv4 and 20 of TCP header less.
// IPv6 segments get 20 less again (clampMSS).
func mssFor(mtu int) uint16 {
	if mtu <= 40+536 {
		return 536 // RFC 879's minimum; a smaller MTU is not worth clamping for
	}
	return uint16(mtu - 40)
}

// clampMSS lowers the MSS option of a TCP SYN (or SYN-ACK) in the IP packet pkt to max (for
// IPv4; max − 20 for IPv6's longer header) and fixes the TCP checksum incrementally (RFC
// 1624; the MSS is not in the pseudo-header of either family). It reports whether it changed
// pkt. Anything that is not an unfragmented TCP SYN with a well-formed MSS option above the
// limit is left alone. It does not allocate.
func clampMSS(pkt []byte, max uint16) bool {
	if len(pkt) < 1 {
		return false
	}
	switch pkt[0] >> 4 {
	case 4:
		return clampTCP(tcp4(pkt), max)
	case 6:
		return clampTCP(tcp6(pkt), max-20)
	}
	return false
}

// tcp4 is the TCP segment of an unfragmented IPv4 packet, or nil.
func tcp4(pkt []byte) []byte {
	if len(pkt) < 20 || pkt[9] != 6 {
		return nil
	}
	ihl := int(pkt[0]&0x0F) * 4
	// A later fragment has no TCP header; the first one has it whole (RFC 791 allows
	// 8-byte fragments, but no stack sends a SYN so).
	if ihl < 20 || binary.BigEndian.Uint16(pkt[6:8])&0x1FFF != 0 {
		return nil
	}
	tot := int(binary.BigEndian.Uint16(pkt[2:4]))
	if tot > len(pkt) || tot < ihl+20 {
		return nil
	}
	return pkt[ihl:tot]
}

// tcp6 is the TCP segment of an IPv6 packet, past Hop-by-Hop, Routing and Destination
// Options headers (RFC 8200 §4), or nil. A fragmented SYN is left alone, as for IPv4.
func tcp6(pkt []byte) []byte {
	if len(pkt) < 40 {
		return nil
	}
	end := 40 + int(binary.BigEndian.Uint16(pkt[4:6]))
	if end > len(pkt) {
		return nil
	}
	next, off := pkt[6], 40
	for next == 0 || next == 43 || next == 60 {
		if off+8 > end {
			return nil
		}
		next, off = pkt[off], off+(int(pkt[off+1])+1)*8
	}
	if next != 6 || off+20 > end {
		return nil
	}
	return pkt[off:end]
}

// clampTCP lowers the MSS option of the TCP SYN segment tcp (nil: none) to max.
func clampTCP(tcp []byte, max uint16) bool {
	if len(tcp) < 20 || tcp[13]&0x02 == 0 { // SYN
		return false
	}
	off := int(tcp[12]>>4) * 4
	if off < 20 || off > len(tcp) {
		return false
	}
	opts := tcp[20:off]
	for i := 0; i < len(opts); {
		switch kind := opts[i]; kind {
		case 0: // end of options
			return false
		case 1: // no-op
			i++
			continue
		}
		if i+1 >= len(opts) {
			return false
		}
		l := int(opts[i+1])
		if l < 2 || i+l > len(opts) {
			return false
		}
		if opts[i] == 2 && l == 4 {
			old := binary.BigEndian.Uint16(opts[i+2:])
			if old <= max {
				return false
			}
			binary.BigEndian.PutUint16(opts[i+2:], max)
			// The MSS value sits at an even offset from the TCP header (20 + i + 2 with i
			// even or odd): the checksum covers 16-bit words, so an odd offset swaps bytes.
			fixChecksum(tcp[16:18], old, max, (20+i+2)%2 == 1)
			return true
		}
		i += l
	}
	return false
}

// fixChecksum updates the Internet checksum at sum for a 16-bit field changed from old to
// new (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')). odd: the field straddles two checksum
// words, which is the same as a byte-swapped word (one's-complement sums are
// byte-order independent under swapping both sides).
func fixChecksum(sum []byte, old, new uint16, odd bool) {
	if odd {
		old, new = old<<8|old>>8, new<<8|new>>8
	}
	hc := binary.BigEndian.Uint16(sum)
	s := uint32(^hc) + uint32(^old) + uint32(new)
	s = s&0xFFFF + s>>16
	s = s&0xFFFF + s>>16
	binary.BigEndian.PutUint16(sum, ^uint16(s))
}
