// SPDX-License-Identifier: MIT

package gre

import (
	"slices"
	"testing"
	"time"
)

// holdNow buffers seq behind a gap at `at` and returns how long it will be held.
func holdNow(h *reorderHarness, seq uint32, at time.Duration) time.Duration {
	if v := h.push(seq, at); v != Buffered {
		panic("not buffered")
	}
	d, _ := h.r.Deadline()
	return d.Sub(t0.Add(at))
}

// The adaptive hold starts at Timeout, halves its lateness estimate with each loss down to
// MinTimeout, grows to what a late packet needed, and doubles after a packet that came too
// late. Without MinTimeout it is Timeout always.
func TestReorderAdaptiveHold(t *testing.T) {
	cfg := ReorderConfig{Timeout: 300 * time.Millisecond, MinTimeout: 10 * time.Millisecond}
	h := newHarness(cfg)
	h.push(1, 0)
	at := time.Duration(0)
	seq := uint32(1)
	if d := holdNow(h, seq+2, at); d != 300*time.Millisecond {
		t.Fatalf("first hold %v, want the full 300 ms", d)
	}
	// Losses: each gap expires.
	var holds []time.Duration
	for range 8 {
		at += time.Second
		h.r.Expire(t0.Add(at))
		seq = func() uint32 { l, _ := h.r.Last(); return l }()
		holds = append(holds, holdNow(h, seq+2, at))
	}
	if last := holds[len(holds)-1]; last > 20*time.Millisecond || last < 10*time.Millisecond {
		t.Fatalf("holds after losses %v: want them down near 10 ms", holds)
	}
	// A reordered packet that comes 15 ms late: the hold grows to cover it.
	at += time.Second
	h.r.Expire(t0.Add(at))
	l, _ := h.r.Last()
	holdNow(h, l+2, at)
	if v := h.push(l+1, at+15*time.Millisecond); v != Delivered {
		t.Fatalf("late packet: %v", v)
	}
	if d := holdNow(h, l+4, at+20*time.Millisecond); d < 45*time.Millisecond {
		t.Fatalf("hold %v after a 15 ms late packet, want ≥ 3 × 15 ms", d)
	}
	// Fixed hold without MinTimeout.
	f := newHarness(ReorderConfig{Timeout: 300 * time.Millisecond})
	f.push(1, 0)
	for i := range 5 {
		at := time.Duration(i) * time.Second
		f.r.Expire(t0.Add(at))
		l, _ := f.r.Last()
		if d := holdNow(f, l+2, at); d != 300*time.Millisecond {
			t.Fatalf("fixed hold %v", d)
		}
	}
}

func TestReorderReleaseThrough(t *testing.T) {
	h := newHarness(ReorderConfig{})
	h.push(1, 0)
	for _, s := range []uint32{3, 4, 7, 8} {
		h.push(s, 0)
	}
	h.take()
	h.r.ReleaseThrough(4)
	if got := h.take(); !slices.Equal(got, []uint32{3, 4}) || h.stats.RxLost.Load() != 1 || h.r.Len() != 2 {
		t.Fatalf("released %v, lost %d, held %d", got, h.stats.RxLost.Load(), h.r.Len())
	}
	h.r.ReleaseThrough(8)
	if got := h.take(); !slices.Equal(got, []uint32{7, 8}) || h.stats.RxLost.Load() != 3 {
		t.Fatalf("released %v, lost %d", got, h.stats.RxLost.Load())
	}
}
