// SPDX-License-Identifier: MIT

package gre

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

var t0 = time.Unix(1_700_000_000, 0)

type reorderHarness struct {
	r     *Reorder[uint32]
	stats *Stats
	out   []uint32
}

func newHarness(cfg ReorderConfig) *reorderHarness {
	h := &reorderHarness{stats: new(Stats)}
	h.r = NewReorder(cfg, h.stats, func(seq uint32, v uint32) {
		if seq != v {
			panic("value does not travel with its sequence number")
		}
		h.out = append(h.out, seq)
	})
	return h
}

func (h *reorderHarness) push(seq uint32, at time.Duration) Verdict {
	return h.r.Push(seq, seq, t0.Add(at))
}

func (h *reorderHarness) take() []uint32 {
	o := h.out
	h.out = nil
	return o
}

func TestReorderBasic(t *testing.T) {
	h := newHarness(ReorderConfig{})
	// First packet accepted whatever its sequence.
	if v := h.push(1000, 0); v != Delivered {
		t.Fatalf("first: %v", v)
	}
	if v := h.push(1002, 0); v != Buffered {
		t.Fatalf("ahead: %v", v)
	}
	if v := h.push(1003, 0); v != Buffered {
		t.Fatalf("ahead: %v", v)
	}
	if v := h.push(1003, 0); v != Duplicate {
		t.Fatalf("duplicate of a queued packet: %v", v)
	}
	if v := h.push(1000, 0); v != Duplicate {
		t.Fatalf("old: %v", v)
	}
	if v := h.push(1001, 0); v != Delivered {
		t.Fatalf("gap filler: %v", v)
	}
	if got := h.take(); !slices.Equal(got, []uint32{1000, 1001, 1002, 1003}) {
		t.Fatalf("delivered %v", got)
	}
	if last, ok := h.r.Last(); !ok || last != 1003 {
		t.Fatalf("Last = %d %v", last, ok)
	}
	s := h.stats
	if s.RxAccepted.Load() != 4 || s.RxBuffered.Load() != 2 || s.RxUnderWin.Load() != 2 || s.RxLost.Load() != 0 {
		t.Fatalf("stats:\n%v", s)
	}
}

func TestReorderTimeout(t *testing.T) {
	h := newHarness(ReorderConfig{Timeout: 300 * time.Millisecond})
	h.push(1, 0)
	h.push(4, 10*time.Millisecond) // 2, 3 missing
	h.push(6, 20*time.Millisecond) // 5 missing
	h.push(3, 50*time.Millisecond) // arrives late, queued before 4
	if d, ok := h.r.Deadline(); !ok || !d.Equal(t0.Add(310*time.Millisecond)) {
		t.Fatalf("Deadline = %v %v", d, ok)
	}
	h.r.Expire(t0.Add(309 * time.Millisecond))
	if got := h.take(); !slices.Equal(got, []uint32{1}) {
		t.Fatalf("early expire delivered %v", got)
	}
	// 4's hold ends at 310ms: 3 (earlier in sequence, not expired) goes
	// first, then 4; 6 waits for 5 until its own deadline.
	h.r.Expire(t0.Add(310 * time.Millisecond))
	if got := h.take(); !slices.Equal(got, []uint32{3, 4}) {
		t.Fatalf("delivered %v", got)
	}
	if h.stats.RxLost.Load() != 1 {
		t.Fatalf("lost = %d", h.stats.RxLost.Load())
	}
	h.r.Expire(t0.Add(320 * time.Millisecond))
	if got := h.take(); !slices.Equal(got, []uint32{6}) {
		t.Fatalf("delivered %v", got)
	}
	if h.stats.RxLost.Load() != 2 || h.r.Len() != 0 {
		t.Fatalf("lost = %d len %d", h.stats.RxLost.Load(), h.r.Len())
	}
	if _, ok := h.r.Deadline(); ok {
		t.Fatal("deadline with empty queue")
	}
	if v := h.push(5, time.Second); v != Duplicate {
		t.Fatalf("late packet after its gap was skipped: %v", v)
	}
}

func TestReorderWrap(t *testing.T) {
	h := newHarness(ReorderConfig{})
	h.push(0xFFFFFFFD, 0)
	h.push(0x00000001, 0) // across the wrap
	h.push(0xFFFFFFFF, 0)
	h.push(0x00000000, 0)
	if v := h.push(0xFFFFFFFE, 0); v != Delivered {
		t.Fatalf("verdict %v", v)
	}
	if got := h.take(); !slices.Equal(got, []uint32{0xFFFFFFFD, 0xFFFFFFFE, 0xFFFFFFFF, 0, 1}) {
		t.Fatalf("delivered %x", got)
	}
	if v := h.push(0xFFFFFFFF, 0); v != Duplicate {
		t.Fatalf("old packet from before the wrap: %v", v)
	}
	// A gap across the wrap is counted as 3 lost, not ~2^32.
	h2 := newHarness(ReorderConfig{})
	h2.push(0xFFFFFFFE, 0)
	h2.push(0x00000002, 0)
	h2.r.Expire(t0.Add(time.Hour))
	if h2.stats.RxLost.Load() != 3 {
		t.Fatalf("lost across wrap = %d", h2.stats.RxLost.Load())
	}
}

func TestReorderNoBuffer(t *testing.T) {
	h := newHarness(ReorderConfig{NoBuffer: true})
	h.push(10, 0)
	if v := h.push(13, 0); v != Delivered {
		t.Fatalf("verdict %v", v)
	}
	if v := h.push(12, 0); v != Duplicate {
		t.Fatalf("verdict %v", v)
	}
	if got := h.take(); !slices.Equal(got, []uint32{10, 13}) {
		t.Fatalf("delivered %v", got)
	}
	// pptp-linux counted -1 here; the gap is 2.
	if h.stats.RxLost.Load() != 2 || h.stats.RxBuffered.Load() != 0 {
		t.Fatalf("stats:\n%v", h.stats)
	}
}

func TestReorderMissingWindow(t *testing.T) {
	h := newHarness(ReorderConfig{MissingWindow: 5})
	h.push(100, 0)
	// expected 101: 105 is 4 ahead (kept), 106 is 5 ahead (dropped).
	if v := h.push(105, 0); v != Buffered {
		t.Fatalf("105: %v", v)
	}
	if v := h.push(106, 0); v != OverWindow {
		t.Fatalf("106: %v", v)
	}
	if h.stats.RxOverWin.Load() != 1 {
		t.Fatal("over win not counted")
	}
	// MissingWindow also applies with NoBuffer.
	h = newHarness(ReorderConfig{MissingWindow: 300, NoBuffer: true})
	h.push(1, 0)
	if v := h.push(302, 0); v != OverWindow {
		t.Fatalf("302: %v", v)
	}
}

func TestReorderWindowFull(t *testing.T) {
	h := newHarness(ReorderConfig{Window: 3})
	h.push(1, 0)
	h.push(4, 0)
	h.push(5, 0)
	h.push(7, 0)
	// Full (4 5 7). 9 arrives: 4 is forced out (2, 3 lost) with 5; then 9 queued.
	if v := h.push(9, 0); v != Buffered {
		t.Fatalf("9: %v", v)
	}
	if got := h.take(); !slices.Equal(got, []uint32{1, 4, 5}) {
		t.Fatalf("delivered %v", got)
	}
	h.push(10, 0) // queue 7 9 10, full
	// 6 is earlier than everything held: it goes out itself, then 7.
	if v := h.push(6, 0); v != Delivered {
		t.Fatalf("6: %v", v)
	}
	if got := h.take(); !slices.Equal(got, []uint32{6, 7}) {
		t.Fatalf("delivered %v", got)
	}
	if h.stats.RxLost.Load() != 2 || h.r.Len() != 2 {
		t.Fatalf("lost %d len %d", h.stats.RxLost.Load(), h.r.Len())
	}
}

func TestReorderAllocs(t *testing.T) {
	h := newHarness(ReorderConfig{Window: 64})
	h.out = make([]uint32, 0, 1<<20)
	seq := uint32(0xFFFFF000)
	n := testing.AllocsPerRun(1000, func() {
		// A swapped pair: one buffered, then both delivered.
		h.push(seq+1, 0)
		h.push(seq, 0)
		seq += 2
		h.r.Expire(t0)
		h.r.Deadline()
	})
	if n != 0 {
		t.Fatalf("allocs = %v", n)
	}
}

// model is a deliberately naive Reorder: a map of held packets, order by
// distance from the expected sequence number, everything recomputed.
type model struct {
	cfg                               ReorderConfig
	started                           bool
	next                              uint32
	held                              map[uint32]time.Time
	out                               []uint32
	accepted, lost, under, over, bufd uint64
}

func (m *model) emit(s uint32) {
	m.out = append(m.out, s)
	m.accepted++
	m.next = s + 1
	for {
		if _, ok := m.held[m.next]; !ok {
			return
		}
		delete(m.held, m.next)
		m.out = append(m.out, m.next)
		m.accepted++
		m.next++
	}
}

func (m *model) sortedHeld() []uint32 {
	var s []uint32
	for k := range m.held {
		s = append(s, k)
	}
	slices.SortFunc(s, func(a, b uint32) int {
		da, db := a-m.next, b-m.next
		if da < db {
			return -1
		}
		return 1
	})
	return s
}

func (m *model) push(seq uint32, now time.Time) {
	if !m.started {
		m.started, m.next = true, seq
	}
	dist := seq - m.next
	switch {
	case dist >= 1<<31:
		m.under++
	case dist == 0:
		m.emit(seq)
	case m.cfg.MissingWindow > 0 && dist >= uint32(m.cfg.MissingWindow):
		m.over++
	case m.cfg.NoBuffer:
		m.lost += uint64(dist)
		m.emit(seq)
	default:
		if _, dup := m.held[seq]; dup {
			m.under++
			return
		}
		if len(m.held) == m.cfg.Window {
			first := m.sortedHeld()[0]
			if seq-m.next < first-m.next {
				first = seq
			}
			m.lost += uint64(first - m.next)
			delete(m.held, first)
			m.emit(first)
			if first != seq {
				m.push(seq, now)
			}
			return
		}
		m.held[seq] = now.Add(m.cfg.Timeout)
		m.bufd++
	}
}

func (m *model) expire(now time.Time) {
	var target uint32
	found := false
	for s, d := range m.held {
		if !d.After(now) && (!found || s-m.next > target-m.next) {
			target, found = s, true
		}
	}
	if !found {
		return
	}
	for _, s := range m.sortedHeld() {
		if _, ok := m.held[s]; !ok || SeqAfter(s, target) {
			continue
		}
		m.lost += uint64(s - m.next)
		delete(m.held, s)
		m.emit(s)
	}
}

func TestReorderModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := ReorderConfig{
			Window:        rapid.IntRange(1, 16).Draw(t, "window"),
			Timeout:       300 * time.Millisecond,
			NoBuffer:      rapid.Bool().Draw(t, "nobuffer"),
			MissingWindow: rapid.SampledFrom([]int{0, 0, 1, 3, 20}).Draw(t, "missing"),
		}
		h := newHarness(cfg)
		m := &model{cfg: cfg.withDefaults(), held: map[uint32]time.Time{}}
		base := rapid.SampledFrom([]uint32{0, 0xFFFFFFF0, 0x7FFFFFF8, 12345}).Draw(t, "base")
		now := t0
		steps := rapid.IntRange(1, 200).Draw(t, "steps")
		cursor := base
		for i := range steps {
			switch rapid.IntRange(0, 9).Draw(t, "op") {
			case 0:
				now = now.Add(time.Duration(rapid.IntRange(0, 400).Draw(t, "advance")) * time.Millisecond)
				h.r.Expire(now)
				m.expire(now)
			default:
				// Mostly forward, with losses, reordering and duplicates.
				cursor += uint32(rapid.IntRange(0, 2).Draw(t, "step"))
				seq := cursor + uint32(rapid.IntRange(-6, 6).Draw(t, "jitter"))
				h.push(seq, now.Sub(t0))
				m.push(seq, now)
			}
			if !slices.Equal(h.out, m.out) {
				t.Fatalf("step %d: delivered %x, model %x", i, h.out, m.out)
			}
			s := h.stats
			got := [5]uint64{s.RxAccepted.Load(), s.RxLost.Load(), s.RxUnderWin.Load(), s.RxOverWin.Load(), s.RxBuffered.Load()}
			want := [5]uint64{m.accepted, m.lost, m.under, m.over, m.bufd}
			if got != want {
				t.Fatalf("step %d: counters %v, model %v", i, got, want)
			}
			if h.r.Len() != len(m.held) || h.r.Len() > cfg.Window {
				t.Fatalf("held %d, model %d", h.r.Len(), len(m.held))
			}
			for j := 1; j < len(h.out); j++ {
				if !SeqAfter(h.out[j], h.out[j-1]) {
					t.Fatalf("out of order delivery %x", h.out)
				}
			}
		}
	})
}

func BenchmarkReorderPush(b *testing.B) {
	b.Run("in-order", func(b *testing.B) {
		r := NewReorder(ReorderConfig{}, nil, func(uint32, int) {})
		var seq uint32
		b.ReportAllocs()
		for b.Loop() {
			r.Push(seq, 0, t0)
			seq++
		}
	})
	b.Run("swapped-pairs", func(b *testing.B) {
		r := NewReorder(ReorderConfig{}, nil, func(uint32, int) {})
		var seq uint32
		b.ReportAllocs()
		for b.Loop() {
			r.Push(seq^1, 0, t0)
			seq++
		}
	})
}

// TestReorderLinkLike runs a sender's sequence through a simulated path
// with loss, duplication and delay jitter (reordering), across the 2^32
// wrap, and feeds the arrivals to a Reorder as Link does.
func TestReorderLinkLike(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 11))
	const (
		n        = 20000
		interval = 100 * time.Microsecond
		jitter   = 3 * time.Millisecond // < Window × interval: no forced skips
		first    = uint32(0xFFFFF000)
	)
	type arrival struct {
		at  time.Duration
		seq uint32
	}
	var arrivals []arrival
	lost := map[uint32]bool{}
	dups := 0
	for i := range n {
		seq := first + uint32(i)
		if i > 0 && i < n-1 && rnd.IntN(50) == 0 {
			lost[seq] = true
			continue
		}
		sent := time.Duration(i) * interval
		if i == 0 {
			// The first arrival sets the expected sequence (any first
			// sequence is accepted), so it must really be the first.
			arrivals = append(arrivals, arrival{0, seq})
			continue
		}
		arrivals = append(arrivals, arrival{sent + time.Duration(rnd.Int64N(int64(jitter))), seq})
		if rnd.IntN(100) == 0 {
			dups++
			arrivals = append(arrivals, arrival{sent + time.Duration(rnd.Int64N(int64(10*jitter))), seq})
		}
	}
	slices.SortStableFunc(arrivals, func(a, b arrival) int { return int(a.at - b.at) })

	h := newHarness(ReorderConfig{Window: 64, Timeout: 300 * time.Millisecond})
	for _, a := range arrivals {
		h.r.Expire(t0.Add(a.at))
		h.push(a.seq, a.at)
	}
	h.r.Expire(t0.Add(time.Hour))

	if len(h.out) != n-len(lost) {
		got := map[uint32]bool{}
		for _, s := range h.out {
			got[s] = true
		}
		for i := range n {
			if s := first + uint32(i); !got[s] && !lost[s] {
				t.Logf("missing %#x (lost before: %v %v)", s, lost[s-1], lost[s-2])
				for _, a := range arrivals {
					if a.seq == s {
						t.Logf("arrived at %v, sent %v", a.at, time.Duration(i)*interval)
					}
				}
			}
		}
		t.Fatalf("delivered %d, want %d", len(h.out), n-len(lost))
	}
	want := first
	for _, s := range h.out {
		for lost[want] {
			want++
		}
		if s != want {
			t.Fatalf("delivered %#x, want %#x", s, want)
		}
		want++
	}
	st := h.stats
	if st.RxLost.Load() != uint64(len(lost)) || st.RxUnderWin.Load() != uint64(dups) || st.RxOverWin.Load() != 0 {
		t.Fatalf("lost %d (want %d) under %d (want %d)", st.RxLost.Load(), len(lost), st.RxUnderWin.Load(), dups)
	}
	if st.RxBuffered.Load() == 0 {
		t.Fatal("no reordering happened: the test is not testing anything")
	}
}
