// SPDX-License-Identifier: MIT

package mppe

import (
	"fmt"
	"testing"
)

const benchLen = 1400

// prefixes yields, packet after packet, the first 64 bytes of the ciphertext of a
// benchLen-byte IPv4 frame under a stateless sender's key: a stateless Decrypter checks
// them before it trusts a packet's count, so each packet given to it must start with the
// bytes its count encrypts to (the rest may stay anything). They are made 4096 at a time
// (one turn of the count), outside the timer when tb is a *testing.B.
type prefixes struct {
	tb   testing.TB
	e    *Encrypter
	buf  [4096][64]byte
	next int
}

func newPrefixes(tb testing.TB, bits int) *prefixes {
	e, err := NewEncrypter(testKey[:], bits, true)
	if err != nil {
		tb.Fatal(err)
	}
	p := &prefixes{tb: tb, e: e}
	p.fill()
	return p
}

func (p *prefixes) fill() {
	if b, ok := p.tb.(*testing.B); ok {
		b.StopTimer()
		defer b.StartTimer()
	}
	var hdr [HeaderLen]byte
	for i := range p.buf {
		f := ipv4Frame(i, benchLen-2)
		p.e.Encrypt(hdr[:], f)
		copy(p.buf[i][:], f)
	}
	p.next = 0
}

// copyTo writes the next packet's prefix into b.
func (p *prefixes) copyTo(b []byte) {
	if p.next == len(p.buf) {
		p.fill()
	}
	copy(b, p.buf[p.next][:])
	p.next++
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
		pre := newPrefixes(t, 128)
		if n := testing.AllocsPerRun(1000, func() {
			seqHeader(hdr, i, stateless)
			pre.copyTo(b)
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
				pre := newPrefixes(b, bits)
				b.SetBytes(benchLen)
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					seqHeader(hdr, i, mode.stateless)
					pre.copyTo(p) // 64 bytes; stateful ignores them
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
