// SPDX-License-Identifier: MIT

package mppe

import (
	"bytes"
	"errors"
	"testing"
)

// A stateful bulk stream of equal-length packets: single and short runs of lost packets
// are stepped over without a reset; every packet that arrives decrypts. A gap over a flag
// packet, or one hiding a packet of another length, still needs the reset.
func TestStatefulConcealsLossInUniformStream(t *testing.T) {
	const size = 1400
	for _, bits := range []int{40, 128} {
		e, d := pair(t, bits, false)
		lostRuns := map[int]int{10: 1, 40: 3, 100: 8} // start → run length
		for i := 0; i < 240; i++ {
			if n, ok := lostRuns[i]; ok {
				for k := 0; k < n; k++ {
					var h [HeaderLen]byte
					e.Encrypt(h[:], ipv4Frame(i+k, size))
				}
				i += n - 1
				continue
			}
			var h [HeaderLen]byte
			b := ipv4Frame(i, size)
			e.Encrypt(h[:], b)
			if reset, err := d.Decrypt(h[:], b); err != nil || reset {
				t.Fatalf("%d-bit packet %d: reset %v, %v", bits, i, reset, err)
			}
			if !bytes.Equal(b, ipv4Frame(i, size)) {
				t.Fatalf("%d-bit packet %d: wrong plaintext", bits, i)
			}
		}
		if d.Concealed != 12 {
			t.Errorf("%d-bit: concealed %d, want 12", bits, d.Concealed)
		}
	}

	// A lost packet of another length: nothing plausible, so discard and ask for a reset.
	e, d := pair(t, 128, false)
	var h [HeaderLen]byte
	for i := 0; i < 5; i++ {
		b := ipv4Frame(i, size)
		e.Encrypt(h[:], b)
		d.Decrypt(h[:], b)
	}
	e.Encrypt(h[:], ipv4Frame(5, 600)) // lost
	b := ipv4Frame(6, size)
	e.Encrypt(h[:], b)
	if reset, err := d.Decrypt(h[:], b); !errors.Is(err, ErrDiscarding) || !reset {
		t.Fatalf("a gap of another length: reset %v, %v; want ErrDiscarding", reset, err)
	}

	// A run over a flag packet (count xFF re-keys): not concealed.
	e, d = pair(t, 128, false)
	for i := 0; i < 250; i++ {
		b := ipv4Frame(i, size)
		e.Encrypt(h[:], b)
		d.Decrypt(h[:], b)
	}
	for i := 250; i < 257; i++ { // counts 250..256 include the flag packet 255
		e.Encrypt(h[:], ipv4Frame(i, size))
	}
	b = ipv4Frame(257, size)
	e.Encrypt(h[:], b)
	if _, err := d.Decrypt(h[:], b); !errors.Is(err, ErrDiscarding) {
		t.Fatalf("a gap over a flag packet: %v, want ErrDiscarding", err)
	}
}

func TestConcealAllocs(t *testing.T) {
	e, d := pair(t, 128, false)
	var h [HeaderLen]byte
	bufs := make([][]byte, 4)
	for i := range bufs {
		bufs[i] = ipv4Frame(i, 1400)
	}
	if a := testing.AllocsPerRun(100, func() {
		e.Encrypt(h[:], bufs[0]) // lost
		e.Encrypt(h[:], bufs[1])
		d.Decrypt(h[:], bufs[1])
	}); a != 0 {
		t.Errorf("%v allocations per concealed loss", a)
	}
}
