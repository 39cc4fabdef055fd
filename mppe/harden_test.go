// SPDX-License-Identifier: MIT

package mppe

import (
	"errors"
	"testing"
	"testing/synctest"
)

// One forged stateless packet with a coherency count far ahead must not move the key
// schedule: the genuine packets after it still decrypt.
func TestStatelessForgedCountDoesNotBreakInbound(t *testing.T) {
	e, d := pair(t, 128, true)
	for i := range 10 {
		mustDecrypt(t, d, send(e, i))
	}
	for _, ahead := range []uint16{2, 100, 2048, 4095} {
		forged := wire{b: make([]byte, 200)}
		Header(forged.hdr[:]).Encode(FlagEncrypted|FlagFlushed, (d.count+ahead)&countMask)
		if _, err := d.Decrypt(forged.hdr[:], forged.b); err == nil {
			t.Fatalf("forged packet %d ahead accepted", ahead)
		}
	}
	for i := 10; i < 20; i++ {
		mustDecrypt(t, d, send(e, i))
	}
}

// Catching up over a gap costs a re-key per step; a flood of packets far ahead gets a
// budget of steps, not 4095 re-keys each.
func TestStatelessCatchUpBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, d := pair(t, 128, true)
		mustDecrypt(t, d, send(e, 0))
		before := d.k.rekeys
		budgeted := 0
		for i := range 1000 {
			forged := wire{b: make([]byte, 200)}
			Header(forged.hdr[:]).Encode(FlagEncrypted|FlagFlushed, (d.count+4000+uint16(i%50))&countMask)
			_, err := d.Decrypt(forged.hdr[:], forged.b)
			// Past the sanity limit the error says ErrSanity whatever the cause.
			if errors.Is(err, ErrCatchUpBudget) || errors.Is(err, ErrSanity) {
				budgeted++
			} else if err == nil {
				t.Fatal("forged packet accepted")
			}
		}
		if n := d.k.rekeys - before; n > catchUpMax+4096 {
			t.Fatalf("%d re-keys for 1000 forged packets (budget %d)", n, catchUpMax)
		}
		if budgeted < 990 {
			t.Fatalf("only %d of 1000 forged packets were refused by the budget", budgeted)
		}
		// In-order packets are never refused by it.
		for i := 1; i < 100; i++ {
			mustDecrypt(t, d, send(e, i))
		}
	})
}

// BenchmarkStatelessCheckCost: a 1400-byte in-order stateless packet through Decrypt (copy
// of the key state, 64-byte probe, commit) against the unchecked work the receiver did
// before (one re-key and the XOR), to see what the check costs per packet.
func BenchmarkStatelessCheckCost(b *testing.B) {
	hdr := make([]byte, HeaderLen)
	p := make([]byte, benchLen)
	b.Run("checked", func(b *testing.B) {
		d, _ := NewDecrypter(testKey[:], 128, true)
		pre := newPrefixes(b, 128)
		i := 0
		b.SetBytes(benchLen)
		for b.Loop() {
			seqHeader(hdr, i, true)
			pre.copyTo(p)
			i++
			if _, err := d.Decrypt(hdr, p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unchecked", func(b *testing.B) {
		d, _ := NewDecrypter(testKey[:], 128, true)
		b.SetBytes(benchLen)
		for b.Loop() {
			d.k.rekey()
			d.k.rc.xor(p)
		}
	})
}
