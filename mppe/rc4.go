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

// reset16x2 runs the key schedules of a (key ka) and b (key kb) interleaved: each is a
// chain of dependent loads and stores, so two run side by side in about the time of one
// (BenchmarkRekey). Both start from the identity. MPPE's keys are 8 or 16 bytes; an 8-byte
// key schedules exactly as the same key written twice.
func reset16x2(a, b *arc4, ka, kb *[16]byte) {
	a.s, b.s = identity, identity
	a.i, a.j, b.i, b.j = 0, 0, 0, 0
	sa, sb := &a.s, &b.s
	var ja, jb uint8
	for r := 0; r < 256; r += 16 {
		i := uint8(r)
		ja = ksaStep(sa, i, ja, ka[0])
		jb = ksaStep(sb, i, jb, kb[0])
		ja = ksaStep(sa, i+1, ja, ka[1])
		jb = ksaStep(sb, i+1, jb, kb[1])
		ja = ksaStep(sa, i+2, ja, ka[2])
		jb = ksaStep(sb, i+2, jb, kb[2])
		ja = ksaStep(sa, i+3, ja, ka[3])
		jb = ksaStep(sb, i+3, jb, kb[3])
		ja = ksaStep(sa, i+4, ja, ka[4])
		jb = ksaStep(sb, i+4, jb, kb[4])
		ja = ksaStep(sa, i+5, ja, ka[5])
		jb = ksaStep(sb, i+5, jb, kb[5])
		ja = ksaStep(sa, i+6, ja, ka[6])
		jb = ksaStep(sb, i+6, jb, kb[6])
		ja = ksaStep(sa, i+7, ja, ka[7])
		jb = ksaStep(sb, i+7, jb, kb[7])
		ja = ksaStep(sa, i+8, ja, ka[8])
		jb = ksaStep(sb, i+8, jb, kb[8])
		ja = ksaStep(sa, i+9, ja, ka[9])
		jb = ksaStep(sb, i+9, jb, kb[9])
		ja = ksaStep(sa, i+10, ja, ka[10])
		jb = ksaStep(sb, i+10, jb, kb[10])
		ja = ksaStep(sa, i+11, ja, ka[11])
		jb = ksaStep(sb, i+11, jb, kb[11])
		ja = ksaStep(sa, i+12, ja, ka[12])
		jb = ksaStep(sb, i+12, jb, kb[12])
		ja = ksaStep(sa, i+13, ja, ka[13])
		jb = ksaStep(sb, i+13, jb, kb[13])
		ja = ksaStep(sa, i+14, ja, ka[14])
		jb = ksaStep(sb, i+14, jb, kb[14])
		ja = ksaStep(sa, i+15, ja, ka[15])
		jb = ksaStep(sb, i+15, jb, kb[15])
	}
}

// ksaStep is one step of the key schedule at i; it returns the new j.
func ksaStep(s *[256]byte, i, j uint8, kb byte) uint8 {
	x := s[i]
	j += x + kb
	s[i], s[j] = s[j], x
	return j
}

// prgaStep is one step of the key stream generator at i; it returns the new j and the
// key stream byte.
func prgaStep(s *[256]byte, i, j uint8) (uint8, byte) {
	x := s[i]
	j += x
	y := s[j]
	s[i], s[j] = y, x
	return j, s[x+y]
}

// xor XORs b in place with the next len(b) bytes of key stream, 16 bytes per round
// (unrolled: −20 % per byte against the plain loop).
func (c *arc4) xor(b []byte) {
	i, j := c.i, c.j
	s := &c.s
	var k byte
	for len(b) >= 16 {
		_ = b[15]
		j, k = prgaStep(s, i+1, j)
		b[0] ^= k
		j, k = prgaStep(s, i+2, j)
		b[1] ^= k
		j, k = prgaStep(s, i+3, j)
		b[2] ^= k
		j, k = prgaStep(s, i+4, j)
		b[3] ^= k
		j, k = prgaStep(s, i+5, j)
		b[4] ^= k
		j, k = prgaStep(s, i+6, j)
		b[5] ^= k
		j, k = prgaStep(s, i+7, j)
		b[6] ^= k
		j, k = prgaStep(s, i+8, j)
		b[7] ^= k
		j, k = prgaStep(s, i+9, j)
		b[8] ^= k
		j, k = prgaStep(s, i+10, j)
		b[9] ^= k
		j, k = prgaStep(s, i+11, j)
		b[10] ^= k
		j, k = prgaStep(s, i+12, j)
		b[11] ^= k
		j, k = prgaStep(s, i+13, j)
		b[12] ^= k
		j, k = prgaStep(s, i+14, j)
		b[13] ^= k
		j, k = prgaStep(s, i+15, j)
		b[14] ^= k
		j, k = prgaStep(s, i+16, j)
		b[15] ^= k
		i += 16
		b = b[16:]
	}
	for n := range b {
		i++
		j, k = prgaStep(s, i, j)
		b[n] ^= k
	}
	c.i, c.j = i, j
}
