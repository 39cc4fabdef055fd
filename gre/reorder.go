// SPDX-License-Identifier: MIT

package gre

import "time"

// ReorderConfig bounds the receive reorder buffer (pptp-linux --timeout,
// --nobuffer, --missing-window).
type ReorderConfig struct {
	Window        int           // max packets held (default 64)
	Timeout       time.Duration // hold time per packet (--timeout, default 300ms)
	NoBuffer      bool          // --nobuffer: deliver ahead-of-sequence packets at once
	MissingWindow int           // --missing-window: drop packets ≥ expected+N (0 = off)
	// MinTimeout > 0 makes the hold adaptive between it and Timeout (see adaptive.go):
	// as long as reordered packets are seen to come, not longer.
	MinTimeout time.Duration
}

const (
	DefaultWindow  = 64
	DefaultTimeout = 300 * time.Millisecond
	// DefaultMinTimeout is the floor of the adaptive hold that pptp and pptpd use.
	DefaultMinTimeout = 10 * time.Millisecond
)

func (c ReorderConfig) withDefaults() ReorderConfig {
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// Verdict is what Push did with a packet.
type Verdict uint8

const (
	// Delivered: the packet (and any queued packets it made in-order) went
	// to the deliver callback before Push returned.
	Delivered Verdict = iota
	// Buffered: the Reorder keeps the value until it is delivered later.
	Buffered
	// Duplicate: a duplicate or old packet, dropped (rx under win).
	Duplicate
	// OverWindow: too far ahead of the expected sequence, dropped (rx over win).
	OverWindow
)

type reorderEntry[T any] struct {
	seq      uint32
	deadline time.Time
	arrived  time.Time
	v        T
}

// Reorder restores sequence order of received GRE data packets (RFC 2637
// §4.3 leaves the policy to the receiver; this is pptp-linux's, made honest):
//
//   - the first packet is accepted whatever its sequence number;
//   - a packet at the expected sequence is delivered at once, followed by
//     any queued packets that are now in order;
//   - a packet behind the expected sequence, or already queued, is dropped
//     (Stats.RxUnderWin);
//   - with MissingWindow N > 0, a packet N or more ahead of the expected
//     sequence is dropped (Stats.RxOverWin);
//   - otherwise a packet ahead is delivered at once with NoBuffer, the gap
//     counted lost, or else queued (Stats.RxBuffered);
//   - a queued packet is held at most Timeout: Expire delivers it then,
//     together with everything before it, counting the gaps as lost;
//   - at most Window packets are held: a new packet that would exceed that
//     first forces out the earliest held packet, as if its time had expired.
//
// Sequence comparisons use RFC 1982 serial arithmetic, so the 2^32 wrap is
// no special case. The queue is a fixed sorted ring: no allocation per
// packet. A Reorder is owned by one goroutine.
type Reorder[T any] struct {
	cfg     ReorderConfig
	stats   *Stats
	deliver func(seq uint32, v T)

	started bool
	next    uint32 // expected sequence number

	ring []reorderEntry[T] // len == Window
	head int
	n    int

	late time.Duration // adaptive hold: how late reordered packets come (adaptive.go)
}

// NewReorder returns a Reorder that passes in-order values to deliver and
// counts into stats (which may be nil).
func NewReorder[T any](cfg ReorderConfig, stats *Stats, deliver func(seq uint32, v T)) *Reorder[T] {
	cfg = cfg.withDefaults()
	if stats == nil {
		stats = new(Stats)
	}
	return &Reorder[T]{cfg: cfg, stats: stats, deliver: deliver, ring: make([]reorderEntry[T], cfg.Window), late: cfg.Timeout}
}

// Len is the number of packets held.
func (r *Reorder[T]) Len() int { return r.n }

// Last returns the last sequence number delivered in order (the value to
// acknowledge), and false before the first delivery.
func (r *Reorder[T]) Last() (uint32, bool) { return r.next - 1, r.started }

// Deadline returns the earliest time at which a held packet expires, and
// false when nothing is held.
func (r *Reorder[T]) Deadline() (time.Time, bool) {
	if r.n == 0 {
		return time.Time{}, false
	}
	d := r.at(0).deadline
	for i := 1; i < r.n; i++ {
		if e := r.at(i); e.deadline.Before(d) {
			d = e.deadline
		}
	}
	return d, true
}

// Push offers packet seq carrying v, received at now.
func (r *Reorder[T]) Push(seq uint32, v T, now time.Time) Verdict {
	if !r.started {
		r.started = true
		r.next = seq
	}
	for {
		d := int32(seq - r.next)
		switch {
		case d < 0:
			r.stats.RxUnderWin.Add(1)
			r.tooLate()
			return Duplicate
		case d == 0:
			if r.n > 0 {
				r.filled(now.Sub(r.at(0).arrived))
			}
			r.emit(seq, v)
			r.drain()
			return Delivered
		case r.cfg.MissingWindow > 0 && int64(d) >= int64(r.cfg.MissingWindow):
			r.stats.RxOverWin.Add(1)
			return OverWindow
		case r.cfg.NoBuffer:
			r.stats.RxLost.Add(uint64(d))
			r.next = seq
			continue
		}
		// Ahead of sequence: find the insertion point, scanning from the
		// tail because reordering is usually shallow.
		i := r.n
		for i > 0 {
			q := r.at(i - 1).seq
			if q == seq {
				r.stats.RxUnderWin.Add(1)
				return Duplicate
			}
			if SeqAfter(seq, q) {
				break
			}
			i--
		}
		if r.n == len(r.ring) {
			// Full: the earliest of the held packets and this one goes
			// out now, as if its hold time had run out.
			if i == 0 {
				r.skipTo(seq)
				continue
			}
			r.forceHead()
			continue
		}
		r.insert(i, reorderEntry[T]{seq: seq, deadline: now.Add(r.hold()), arrived: now, v: v})
		r.stats.RxBuffered.Add(1)
		return Buffered
	}
}

// Expire delivers every held packet whose hold time ended at or before now,
// together with all held packets before it, counting skipped sequence
// numbers as lost.
func (r *Reorder[T]) Expire(now time.Time) {
	last := -1
	for i := 0; i < r.n; i++ {
		if !r.at(i).deadline.After(now) {
			last = i
		}
	}
	if last < 0 {
		return
	}
	target := r.at(last).seq
	r.expired()
	for r.n > 0 && !SeqAfter(r.at(0).seq, target) {
		r.forceHead()
	}
}

// forceHead delivers the head whatever the gap in front of it, then any
// packets that follow in order.
func (r *Reorder[T]) forceHead() {
	r.skipTo(r.at(0).seq)
	r.drain()
}

// skipTo declares the sequence numbers before seq lost.
func (r *Reorder[T]) skipTo(seq uint32) {
	r.stats.RxLost.Add(uint64(seq - r.next))
	r.next = seq
}

// drain delivers held packets while the head is the expected one.
func (r *Reorder[T]) drain() {
	for r.n > 0 && r.at(0).seq == r.next {
		e := r.pop()
		r.emit(e.seq, e.v)
	}
}

func (r *Reorder[T]) emit(seq uint32, v T) {
	r.next = seq + 1
	r.stats.RxAccepted.Add(1)
	r.deliver(seq, v)
}

func (r *Reorder[T]) at(i int) *reorderEntry[T] {
	i += r.head
	if i >= len(r.ring) {
		i -= len(r.ring)
	}
	return &r.ring[i]
}

func (r *Reorder[T]) insert(i int, e reorderEntry[T]) {
	for j := r.n; j > i; j-- {
		*r.at(j) = *r.at(j - 1)
	}
	*r.at(i) = e
	r.n++
}

func (r *Reorder[T]) pop() reorderEntry[T] {
	e := *r.at(0)
	*r.at(0) = reorderEntry[T]{} // let T's references go
	r.head++
	if r.head == len(r.ring) {
		r.head = 0
	}
	r.n--
	return e
}
