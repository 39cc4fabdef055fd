// SPDX-License-Identifier: MIT

package gre

import "time"

// The adaptive hold (ReorderConfig.MinTimeout > 0). A packet behind a gap waits for the
// missing one at most Timeout (pptp-linux's 0.3 s); on a path that loses packets, that is
// 0.3 s of silence per loss, during which TCP sees nothing and the sender stalls — with
// 3 % loss most of each second. The time that reordering really needs is how late
// reordered packets come, which the buffer sees: when a gap fills, the earliest packet
// held behind it has waited that long. The hold follows that lateness (three times the
// latest estimate, plus MinTimeout), within MinTimeout..Timeout: each gap that fills raises
// the estimate to what it needed, each gap that never fills (a loss) halves it, and a
// packet that comes after its gap was given up doubles it.

// hold is the hold time for a packet buffered now.
func (r *Reorder[T]) hold() time.Duration {
	if r.cfg.MinTimeout <= 0 {
		return r.cfg.Timeout
	}
	return min(r.cfg.Timeout, max(r.cfg.MinTimeout, 3*r.late+r.cfg.MinTimeout))
}

// filled notes a gap filled by a packet that came waited later than the first held one.
func (r *Reorder[T]) filled(waited time.Duration) {
	if waited > r.late {
		r.late = waited
	} else {
		r.late -= r.late / 16
	}
}

// expired notes a gap given up: the hold was long enough for any reordering there was.
func (r *Reorder[T]) expired() { r.late /= 2 }

// tooLate notes a packet that came after its gap was given up: the hold was too short.
func (r *Reorder[T]) tooLate() {
	if r.cfg.MinTimeout > 0 {
		r.late = min(r.cfg.Timeout, max(2*r.late, r.cfg.MinTimeout))
	}
}
