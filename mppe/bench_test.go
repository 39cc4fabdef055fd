// SPDX-License-Identifier: MIT

package mppe

import (
	"fmt"
	"testing"
)

const benchLen = 1400

// statelessPrefixes are the first 64 bytes of the ciphertext of a benchLen-byte IPv4 frame
// for every count: a stateless Decrypter checks them before it trusts a packet's count, so
// each packet given to it must start with the bytes its count encrypts to (the rest of the
// packet may stay anything).
func statelessPrefixes(tb testing.TB, bits int) [][64]byte {
	e, err := NewEncrypter(testKey[:], bits, true)
	if err != nil {
		tb.Fatal(err)
	}
	out := make([][64]byte, 4096)
	var hdr [HeaderLen]byte
	for i := range out {
		b := ipv4Frame(i, benchLen-2)
		e.Encrypt(hdr[:], b)
		copy(out[i][:], b)
	}
	return out
}

// seqHeader returns the header a Linux sender puts on packet i.
func seqHeader(hdr []byte, i int, stateless bool) {
	flags := uint8(FlagEncrypted)
	if stateless || i&0xff == 0xff {
		flags |= FlagFlushed
	}
	Header(hdr).Encode(flags, uint16(i))
}

func TestZeroAllocs(t *testing.T) {
	for _, stateless := range []bool{true, false} {
		e, d := pair(t, 128, stateless)
		hdr := make([]byte, HeaderLen)
		b := make([]byte, benchLen)
		if n := testing.AllocsPerRun(1000, func() { e.Encrypt(hdr, b) }); n != 0 {
			t.Errorf("stateless=%v: Encrypt allocates %v per packet", stateless, n)
		}
		e.RequestReset()
		if n := testing.AllocsPerRun(10, func() { e.RequestReset(); e.Encrypt(hdr, b) }); n != 0 {
			t.Errorf("stateless=%v: RequestReset+Encrypt allocates %v", stateless, n)
		}
		i := 0
		pre := statelessPrefixes(t, 128)
		if n := testing.AllocsPerRun(1000, func() {
			seqHeader(hdr, i, stateless)
			copy(b, pre[i&countMask][:])
			i++
			if _, err := d.Decrypt(hdr, b); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("stateless=%v: Decrypt allocates %v per packet", stateless, n)
		}
	}
}

func BenchmarkEncrypt(b *testing.B) {
	for _, mode := range []struct {
		name      string
		stateless bool
	}{{"stateless", true}, {"stateful", false}} {
		for _, bits := range []int{40, 128} {
			b.Run(fmt.Sprintf("%s/%d", mode.name, bits), func(b *testing.B) {
				e, err := NewEncrypter(testKey[:], bits, mode.stateless)
				if err != nil {
					b.Fatal(err)
				}
				hdr := make([]byte, HeaderLen)
				p := make([]byte, benchLen)
				b.SetBytes(benchLen)
				b.ReportAllocs()
				for b.Loop() {
					e.Encrypt(hdr, p)
				}
			})
		}
	}
}

func BenchmarkDecrypt(b *testing.B) {
	for _, mode := range []struct {
		name      string
		stateless bool
	}{{"stateless", true}, {"stateful", false}} {
		for _, bits := range []int{40, 128} {
			b.Run(fmt.Sprintf("%s/%d", mode.name, bits), func(b *testing.B) {
				d, err := NewDecrypter(testKey[:], bits, mode.stateless)
				if err != nil {
					b.Fatal(err)
				}
				hdr := make([]byte, HeaderLen)
				p := make([]byte, benchLen)
				pre := statelessPrefixes(b, bits)
				b.SetBytes(benchLen)
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					seqHeader(hdr, i, mode.stateless)
					copy(p, pre[i&countMask][:]) // 64 bytes; stateful ignores them
					i++
					if _, err := d.Decrypt(hdr, p); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkRekey is the per-packet overhead stateless mode adds.
func BenchmarkRekey(b *testing.B) {
	var k keys
	if err := k.init(testKey[:], 128); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		k.rekey()
	}
}
