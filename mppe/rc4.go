// SPDX-License-Identifier: MIT

package mppe

// arc4 is the RC4 stream cipher with its state inline, so re-keying allocates nothing
// (crypto/rc4.NewCipher returns a new heap object per key, and stateless MPPE re-keys for
// every packet). Indexing a [256]byte with uint8 needs no bounds checks.
type arc4 struct {
	s    [256]byte
	i, j uint8
}

// reset runs the key-scheduling algorithm. len(key) must be 1..256.
func (c *arc4) reset(key []byte) {
	for i := range c.s {
		c.s[i] = byte(i)
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
	c.i, c.j = 0, 0
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
