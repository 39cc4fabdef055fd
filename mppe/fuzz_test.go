// SPDX-License-Identifier: MIT

package mppe

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecrypt feeds a Decrypter a series of arbitrary packets. data is split into packets,
// each as one length byte n, then a 2-byte MPPE header and n-2 bytes of ciphertext
// (n < 2 gives a short header). mode bit 0 = stateless, bits 1-2 pick the key strength.
func FuzzDecrypt(f *testing.F) {
	e, _ := NewEncrypter(testKey[:], 128, true)
	w := send(e, 3) // count 0, 113 bytes of ciphertext
	valid := append([]byte{byte(HeaderLen + len(w.b))}, w.hdr[:]...)
	valid = append(valid, w.b...)
	f.Add(byte(1), valid)
	// Malformed: D (encrypted) bit clear.
	f.Add(byte(1), []byte{4, 0x80, 0x00, 0xaa, 0xbb})
	// Malformed: stateless packet without A (flushed).
	f.Add(byte(1), []byte{4, 0x10, 0x00, 0xaa, 0xbb})
	// Malformed: stateful flag packet (count 0x0FF) without A.
	f.Add(byte(2), []byte{3, 0x10, 0xff, 0xaa})
	// Stateful gap then a flushed packet 3 blocks later: discard, catch-up re-keys.
	f.Add(byte(2), []byte{3, 0x10, 0x00, 1, 3, 0x10, 0x05, 2, 3, 0x10, 0x06, 3, 3, 0x93, 0x10, 4})
	// Stateless: the same count twice (duplicate), then the longest forward step.
	f.Add(byte(5), []byte{3, 0x90, 0x00, 1, 3, 0x90, 0x00, 1, 3, 0x9f, 0xff, 1})
	// Malformed: header only, no ciphertext; then a 1-byte header.
	f.Add(byte(0), []byte{2, 0x90, 0x00, 1, 0x90})
	// Malformed: length byte past the end of the input.
	f.Add(byte(3), []byte{200, 0x90, 0x00, 1})
	// Many bogus headers in a row: reaches the sanity limit.
	bogus := []byte{}
	for range 20 {
		bogus = append(bogus, 3, 0x00, 0x01, 0xee)
	}
	f.Add(byte(1), bogus)

	f.Fuzz(func(t *testing.T, mode byte, data []byte) {
		bits := [4]int{40, 56, 128, 128}[mode>>1&3]
		d, err := NewDecrypter(testKey[:], bits, mode&1 == 1)
		if err != nil {
			t.Fatal(err)
		}
		for len(data) > 0 {
			n := int(data[0])
			data = data[1:]
			if n > len(data) {
				n = len(data)
			}
			pkt := data[:n]
			data = data[n:]
			hdr, b := pkt[:min(HeaderLen, len(pkt))], pkt[min(HeaderLen, len(pkt)):]
			sendReset, err := d.Decrypt(hdr, b)
			if sendReset && !errors.Is(err, ErrDiscarding) {
				t.Fatalf("sendReset with err %v", err)
			}
			switch err {
			case nil, ErrShort, ErrNotEncrypted, ErrNotFlushed, ErrDuplicate, ErrDiscarding, ErrSanity, ErrImplausible, ErrCatchUpBudget:
			default:
				t.Fatalf("unexpected error %v", err)
			}
			if d.count > countMask || d.sanity < 0 {
				t.Fatalf("state out of range: count %#x sanity %d", d.count, d.sanity)
			}
		}
	})
}

// FuzzLossyLink checks the synchronisation logic against arbitrary loss patterns: each
// input byte is one packet's fate (bit 0: lost; for stateful links bits 1-3 are how many
// packets later our Reset-Request reaches the sender). Every packet the Decrypter accepts
// must decrypt to what was sent, and a stateless link must accept every packet it gets.
// Reset answers may be lost too, up to maxLostAnswers in one discard period.
func FuzzLossyLink(f *testing.F) {
	f.Add(true, []byte{0, 0, 1, 0, 1, 1, 0})
	f.Add(false, []byte{0, 0, 1, 0, 0, 0, 0, 0, 0})
	f.Add(false, bytes.Repeat([]byte{1}, 300))             // loss across a flag packet
	f.Add(false, append(bytes.Repeat([]byte{0x0e}, 3), 1)) // slow resets
	f.Fuzz(func(t *testing.T, stateless bool, fates []byte) {
		e, d := pair(t, 128, stateless)
		resetAt := -1
		answersLost := 0
		for i, fate := range fates {
			if i == resetAt {
				e.RequestReset()
				resetAt = -1
			}
			w := wire{i: i, b: ipv4Frame(i, 20+i%7)}
			want := bytes.Clone(w.b)
			e.Encrypt(w.hdr[:], w.b)
			h := Header(w.hdr[:])
			answer := h.Flags()&FlagFlushed != 0 && h.Count()&0xff != 0xff
			if fate&1 == 1 {
				if answer && answersLost == maxLostAnswers {
					fate &^= 1
				} else {
					answersLost += b2i(answer)
					continue
				}
			}
			sendReset, err := d.Decrypt(w.hdr[:], w.b)
			if stateless && err != nil {
				t.Fatalf("packet %d: %v", i, err)
			}
			if err == nil {
				answersLost = 0
			}
			if sendReset && resetAt < 0 {
				resetAt = i + 1 + int(fate>>1&7)
			}
			if err == nil && !bytes.Equal(w.b, want) {
				t.Fatalf("packet %d: wrong plaintext", i)
			}
		}
	})
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
