// SPDX-License-Identifier: MIT

package hdlc

// Synchronous PPP on a pty (pppd "sync", pptp --sync) has no flags, escapes or FCS: pppd
// writes one frame per write(), but a pty is a byte stream, so one read may return several
// frames or part of one. pptp-linux guessed every frame's length from the 16-bit word at byte
// offset 6, which is right only for uncompressed control frames. SyncSplitter reads each
// frame's length from the frame's own structure instead.

// SyncSplitter cuts a synchronous PPP byte stream into frames. The zero value is ready.
type SyncSplitter struct {
	pending []byte
	// Frames counts frames emitted; Unsized counts frames whose length could not be read
	// from their contents (compressed/encrypted data): they extend to the end of the read.
	Frames, Unsized uint64
}

// frameLen returns the total length of the frame at the start of b, or -1 when its contents
// do not say (then the frame is taken to end with the read).
func frameLen(b []byte) int {
	i := 0
	if len(b) >= 2 && b[0] == 0xFF && b[1] == 0x03 {
		i = 2
	}
	if i >= len(b) {
		return -1
	}
	var proto uint16
	if b[i]&1 == 1 { // protocol field compressed to one byte (PFC)
		proto = uint16(b[i])
		i++
	} else {
		if i+2 > len(b) {
			return -1
		}
		proto = uint16(b[i])<<8 | uint16(b[i+1])
		i += 2
	}
	switch {
	case proto >= 0x8000: // LCP, IPCP, CCP, PAP, CHAP, IPV6CP, EAP: Code, Id, Length
		if i+4 > len(b) {
			return -1
		}
		return i + (int(b[i+2])<<8 | int(b[i+3]))
	case proto == 0x0021: // IPv4: Total Length
		if i+4 > len(b) || b[i]>>4 != 4 {
			return -1
		}
		return i + (int(b[i+2])<<8 | int(b[i+3]))
	case proto == 0x0057: // IPv6: fixed header + Payload Length
		if i+6 > len(b) || b[i]>>4 != 6 {
			return -1
		}
		return i + 40 + (int(b[i+4])<<8 | int(b[i+5]))
	}
	return -1
}

// Split consumes p (one read from the pty) and calls emit for every complete frame. A frame
// whose declared length runs past the read waits for the next read, up to MaxFrameLen.
func (s *SyncSplitter) Split(p []byte, emit func(frame []byte)) {
	b := p
	if len(s.pending) > 0 {
		s.pending = append(s.pending, p...)
		b = s.pending
	}
	for len(b) > 0 {
		n := frameLen(b)
		switch {
		case n < 0 || n > MaxFrameLen:
			s.Unsized++
			n = len(b)
		case n == 0 || n > len(b) && len(b) < MaxFrameLen:
			if n == 0 {
				n = len(b)
				break
			}
			// Incomplete: keep it for the next read.
			s.pending = append(s.pending[:0], b...)
			return
		case n > len(b):
			n = len(b)
		}
		s.Frames++
		emit(b[:n])
		b = b[n:]
	}
	s.pending = s.pending[:0]
}
