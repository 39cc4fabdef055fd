// SPDX-License-Identifier: MIT

// Package hdlc implements the RFC 1662 asynchronous HDLC-like framing that
// pppd uses on a pty: 0x7E flags, 0x7D control escapes (XOR 0x20), an
// Async-Control-Character-Map (ACCM) for bytes below 0x20, and the 16-bit
// Frame Check Sequence (FCS-16, RFC 1662 §C.2).
//
// Nothing here allocates on the per-frame path: AppendFrame appends to a
// caller buffer and Decoder reassembles into a fixed array it owns.
package hdlc

const (
	// Flag delimits frames.
	Flag = 0x7E
	// Escape precedes an escaped byte, which is sent XOR EscapeXOR.
	Escape = 0x7D
	// EscapeXOR is the value an escaped byte is XORed with.
	EscapeXOR = 0x20

	// InitFCS is the FCS-16 start value.
	InitFCS = 0xFFFF
	// GoodFCS is the FCS-16 residue over a frame followed by its FCS.
	GoodFCS = 0xF0B8

	// MaxFrameLen is the largest frame (without FCS) the Decoder accepts.
	// pptp-linux reads up to 8196 bytes per frame; 8192 of PPP plus room for
	// address/control and protocol is more than any negotiated MRU.
	MaxFrameLen = 8192

	// minFrameLen is the shortest acceptable frame including the FCS: RFC
	// 1662 §4.3 discards frames shorter than 4 octets (as does pptp-linux).
	minFrameLen = 4
	fcsLen      = 2

	// DefaultACCM escapes every control character, as pptp-linux always does
	// towards pppd and as RFC 1662 requires before LCP negotiates otherwise.
	DefaultACCM = 0xFFFFFFFF
)

// fcsTable is the byte-at-a-time table for the reflected polynomial 0x8408
// (x^16 + x^12 + x^5 + 1), computed once instead of transcribed.
var fcsTable = func() (t [256]uint16) {
	for b := range t {
		v := uint16(b)
		for range 8 {
			if v&1 != 0 {
				v = v>>1 ^ 0x8408
			} else {
				v >>= 1
			}
		}
		t[b] = v
	}
	return t
}()

// FCS16 continues the FCS-16 computation fcs over b. Start with InitFCS; a
// transmitter sends ^fcs low byte first, and a receiver that runs FCS16 over
// a frame plus its received FCS gets GoodFCS when the frame is intact.
func FCS16(fcs uint16, b []byte) uint16 {
	for _, c := range b {
		fcs = fcs>>8 ^ fcsTable[byte(fcs)^c]
	}
	return fcs
}

// needsEscape reports whether c must be escaped under accm: flags and
// escapes always, control characters when their ACCM bit is set.
func needsEscape(c byte, accm uint32) bool {
	if c == Flag || c == Escape {
		return true
	}
	return c < 0x20 && accm&(1<<c) != 0
}

// AppendFrame appends frame to dst in async HDLC form: a leading flag, the
// escaped frame and its escaped FCS (low byte first), and a trailing flag.
// frame is sent as given (address/control FF 03 included if present). Bit c
// of accm set means control character c is escaped.
func AppendFrame(dst, frame []byte, accm uint32) []byte {
	fcs := ^FCS16(InitFCS, frame)
	dst = append(dst, Flag)
	dst = appendEscaped(dst, frame, accm)
	dst = appendEscaped(dst, []byte{byte(fcs), byte(fcs >> 8)}, accm)
	return append(dst, Flag)
}

func appendEscaped(dst, b []byte, accm uint32) []byte {
	for len(b) > 0 {
		// Copy runs of bytes that need no escaping in one append.
		i := 0
		for i < len(b) && !needsEscape(b[i], accm) {
			i++
		}
		dst = append(dst, b[:i]...)
		if i == len(b) {
			break
		}
		dst = append(dst, Escape, b[i]^EscapeXOR)
		b = b[i+1:]
	}
	return dst
}

// Decoder turns an async HDLC byte stream back into frames. Frames may span
// Decode calls. The zero value is ready to use; a Decoder is not safe for
// concurrent use. The counters are exported for statistics.
//
// A Decoder does not remove control characters inserted by the link (RFC
// 1662 §7.1 receive ACCM): a pty carries exactly what pppd wrote.
type Decoder struct {
	Frames   uint64 // good frames emitted
	BadFCS   uint64 // frames dropped for a bad FCS
	Runts    uint64 // frames dropped as shorter than 4 bytes with FCS
	Overlong uint64 // frames dropped as longer than MaxFrameLen (+FCS)
	Aborted  uint64 // frames dropped because 0x7D was followed by 0x7E

	n       int  // bytes of the current frame in buf
	escaped bool // previous byte was 0x7D
	discard bool // current frame is overlong: drop until the next flag
	buf     [MaxFrameLen + fcsLen]byte
}

// Decode consumes p. For every complete, intact frame it calls emit with the
// frame without its FCS; the slice is only valid during the call. Empty
// frames between back-to-back flags are ignored. Damaged frames are dropped
// and counted.
func (d *Decoder) Decode(p []byte, emit func(frame []byte)) {
	for _, c := range p {
		switch {
		case c == Flag:
			d.endFrame(emit)
		case d.discard:
		case c == Escape:
			d.escaped = true
		default:
			if d.escaped {
				c ^= EscapeXOR
				d.escaped = false
			}
			if d.n == len(d.buf) {
				d.Overlong++
				d.discard = true
				continue
			}
			d.buf[d.n] = c
			d.n++
		}
	}
}

func (d *Decoder) endFrame(emit func([]byte)) {
	n, escaped, discard := d.n, d.escaped, d.discard
	d.n, d.escaped, d.discard = 0, false, false
	switch {
	case discard:
		// Already counted as overlong.
	case escaped:
		// RFC 1662 §4.4.1: 0x7D 0x7E aborts the frame.
		d.Aborted++
	case n == 0:
		// Back-to-back flags: inter-frame fill or a shared flag.
	case n < minFrameLen:
		d.Runts++
	case FCS16(InitFCS, d.buf[:n]) != GoodFCS:
		d.BadFCS++
	default:
		d.Frames++
		emit(d.buf[:n-fcsLen])
	}
}

// Reset drops any partial frame; counters are kept.
func (d *Decoder) Reset() {
	d.n, d.escaped, d.discard = 0, false, false
}
