// SPDX-License-Identifier: MIT

package gre

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestStatsString(t *testing.T) {
	var s Stats
	s.RxAccepted.Store(10)
	s.RxLost.Store(2)
	s.TxAcks.Store(3)
	s.TxWindowWaits.Store(4)
	s.RTT.Store(int64(1500 * time.Microsecond))
	got := s.String()
	for _, want := range []string{
		"GRE statistics:\n",
		"rx accepted  = 10\n",
		"rx lost      = 2\n",
		"rx OS errors = 0\n",
		"tx acks      = 3\n",
		"tx fast      = 0\n",
		"tx win waits = 4\n",
		"round trip   = 1500 usecs",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\n"); n != 18 {
		t.Errorf("%d lines, want 19", n+1)
	}
}

func TestRateLimiter(t *testing.T) {
	var lines []string
	r := rateLimiter{logf: func(f string, a ...any) { lines = append(lines, fmt.Sprintf(f, a...)) }}
	for i := range logBurst + 5 {
		r.printf("packet %d", i)
	}
	if len(lines) != logBurst {
		t.Fatalf("%d lines passed, want %d", len(lines), logBurst)
	}
	r.start = r.start.Add(-logInterval) // next interval
	r.printf("after")
	if got := lines[len(lines)-2:]; got[0] != "GRE: 5 messages suppressed" || got[1] != "after" {
		t.Fatalf("got %q", got)
	}
}
