// SPDX-License-Identifier: MIT

package mppe

// Loss concealment for stateful MPPE. Stateful RC4 runs on across packets, so after a lost
// packet the next one's key stream starts where the lost one's ended: knowing only the lost
// packet's length, the receiver could go on decrypting, where RFC 3078 has it drop
// everything until the sender answers a CCP Reset-Request. A TCP bulk transfer through the
// tunnel loses a whole window to each lost packet that way, and its sender recovers only by
// retransmission timeout. But in such a stream nearly every packet has the same length: so
// for a gap of a few packets, try skipping the key stream as if each lost packet were as
// long as the last one received, or as this one, and keep the first guess under which this
// packet decrypts to a well-formed IP datagram (plausible: a wrong guess passes with odds of
// about 2^-44). The sender's answer to the Reset-Request the GRE layer asked for at the gap
// is then just one more re-key.

// maxConcealGap is the longest run of lost packets concealment tries to step over.
const maxConcealGap = 8

// conceal tries to step the key stream over the packets lost between the expected count
// d.count and count, for the (unflushed) packet b; it reports whether it did.
func (d *Decrypter) conceal(count uint16, b []byte) bool {
	gap := int((count - d.count) & countMask)
	if gap == 0 || gap > maxConcealGap || d.lastLen == 0 {
		return false
	}
	for c := d.count; c != count; c = (c + 1) & countMask {
		if c&0xff == flagByte {
			return false // a lost flag packet re-keyed: not worth replaying
		}
	}
	var probe [64]byte
	for _, l := range [2]int{d.lastLen, len(b)} {
		rc := d.k.rc
		rc.skip(gap * l)
		p := probe[:copy(probe[:], b)]
		trial := rc
		trial.xor(p)
		if plausible(p, len(b)) {
			d.k.rc = rc
			d.Concealed += uint64(gap)
			return true
		}
		if d.lastLen == len(b) {
			break // one guess only
		}
	}
	return false
}

// skip advances the key stream by n bytes.
func (c *arc4) skip(n int) {
	var zero [256]byte
	for n > 0 {
		k := min(n, len(zero))
		c.xor(zero[:k]) // zero's contents do not matter: only the state moves on
		n -= k
	}
}
