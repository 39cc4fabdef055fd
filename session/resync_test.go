// SPDX-License-Identifier: MIT

package session

import "testing"

// resyncPoint picks out a stateful MPPE reset answer (flushed, not a flag packet) in every
// PPP framing, and nothing else.
func TestResyncPoint(t *testing.T) {
	d := &datapath{}
	frame := func(acfc, pfc bool, flags byte, count uint16) []byte {
		var b []byte
		if !acfc {
			b = append(b, 0xFF, 0x03)
		}
		if pfc {
			b = append(b, 0xFD)
		} else {
			b = append(b, 0x00, 0xFD)
		}
		return append(b, flags|byte(count>>8), byte(count), 0xAA, 0xBB)
	}
	answer := frame(false, false, 0x90, 0x123)
	if d.resyncPoint(answer) {
		t.Error("before Up")
	}
	d.state.Store(&cryptoState{stateful: false})
	if d.resyncPoint(answer) {
		t.Error("stateless MPPE")
	}
	d.state.Store(&cryptoState{stateful: true})
	for _, tc := range []struct {
		name string
		f    []byte
		want bool
	}{
		{"reset answer", answer, true},
		{"ACFC", frame(true, false, 0x90, 0x123), true},
		{"ACFC+PFC", frame(true, true, 0x90, 0x123), true},
		{"not flushed", frame(false, false, 0x10, 0x124), false},
		{"flag packet", frame(false, false, 0x90, 0x1FF), false},
		{"not encrypted", frame(false, false, 0x80, 0x123), false},
		{"LCP", []byte{0xFF, 0x03, 0xC0, 0x21, 9, 1, 0, 8}, false},
		{"short", []byte{0x00, 0xFD, 0x90}, false},
		{"empty", nil, false},
	} {
		if got := d.resyncPoint(tc.f); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
