// SPDX-License-Identifier: MIT

package gre

import "bytes"

// testReorder is pptp-linux's --test-type: it reorders sent packets on purpose so that a
// server's handling of out-of-order GRE can be tested. Every rate-th packet starts a round:
// kind 1 holds one packet and sends it after the next (a swap), kind 2 holds ten and sends
// the eleventh before them, kind 3 holds ten and sends them in reverse. Held packets are
// copied (the caller reuses its buffers); this is a test mode, not the hot path.
type testReorder struct {
	kind, rate int
	count      int
	holding    int // packets to hold in the current round, 0 = none
	held       [][]byte
}

func newTestReorder(kind, rate int) *testReorder {
	if kind < 1 || kind > 3 || rate <= 0 {
		return nil
	}
	return &testReorder{kind: kind, rate: rate}
}

// next takes one packet and appends to out what is to be sent now.
func (t *testReorder) next(pkt []byte, out [][]byte) [][]byte {
	if t.holding == 0 {
		t.count++
		if t.count%t.rate != 0 {
			return append(out, pkt)
		}
		t.holding = 10
		if t.kind == 1 {
			t.holding = 1
		}
	}
	if len(t.held) < t.holding {
		t.held = append(t.held, bytes.Clone(pkt))
		if t.kind == 3 && len(t.held) == t.holding {
			for i := len(t.held) - 1; i >= 0; i-- {
				out = append(out, t.held[i])
			}
			t.held, t.holding = t.held[:0], 0
		}
		return out
	}
	out = append(out, pkt)
	out = append(out, t.held...)
	t.held, t.holding = t.held[:0:0], 0
	return out
}
