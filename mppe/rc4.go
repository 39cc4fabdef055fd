// SPDX-License-Identifier: MIT

package mppe

// arc4 is the RC4 stream cipher with its state inline, so re-keying allocates nothing
// (crypto/rc4.NewCipher returns a new heap object per key, and stateless MPPE re-keys for
// every packet). Indexing a [256]byte with uint8 needs no bounds checks.
type arc4 struct {
	s    [256]byte
	i, j uint8
}

// identity is the state every key schedule starts from; copying it beats a store loop.
var identity = func() (s [256]byte) {
	for i := range s {
		s[i] = byte(i)
	}
	return s
}()

// reset runs the key-scheduling algorithm. len(key) must be 1..256.
func (c *arc4) reset(key []byte) {
	c.s = identity
	c.i, c.j = 0, 0
	if len(key) == 8 || len(key) == 16 {
		// MPPE's key lengths divide 16: a key repeated to 16 bytes schedules the same,
		// and a fixed-size key drops the index wrap and bounds checks (−25 % per
		// schedule; stateless MPPE runs two per packet).
		var k16 [16]byte
		copy(k16[:], key)
		copy(k16[len(key):], key)
		c.reset16(&k16)
		return
	}
	var j uint8
	k := 0 // i mod len(key), without a division per step
	for i := range 256 {
		j += c.s[i] + key[k]
		c.s[i], c.s[j] = c.s[j], c.s[i]
		if k++; k == len(key) {
			k = 0
		}
	}
}

func (c *arc4) reset16(key *[16]byte) {
	s := &c.s
	var j uint8
	for b := 0; b < 256; b += 16 {
		for k := range 16 {
			i := uint8(b + k)
			x := s[i]
			j += x + key[k]
			s[i], s[j] = s[j], x
		}
	}
}

// xor XORs b in place with the next len(b) bytes of key stream.
func (c *arc4) xor(b []byte) {
	i, j := c.i, c.j
	s := &c.s
	for k := range b {
		i++
		x := s[i]
		j += x
		y := s[j]
		s[i], s[j] = y, x
		b[k] ^= s[x+y]
	}
	c.i, c.j = i, j
}
