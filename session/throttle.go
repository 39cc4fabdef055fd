// SPDX-License-Identifier: MIT

package session

import (
	"context"
	"sync"
	"time"
)

// failures remembers failed logins by key ("source 192.0.2.1", "user bob") and makes the
// next attempt wait: Limits.FailDelay after one, doubled per further failure.
type failures struct {
	limits *Limits
	mu     sync.Mutex
	m      map[string]*failure
}

// maxFailures bounds the sources and users remembered at once.
const maxFailures = 1 << 16

type failure struct {
	n    int
	last time.Time
}

// add records one failure of key.
func (f *failures) add(key string) {
	if f.limits.FailDelay < 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	for k, v := range f.m { // forget old ones; the map stays as small as the attackers
		if now.Sub(v.last) > f.limits.FailMemory {
			delete(f.m, k)
		}
	}
	v := f.m[key]
	if v == nil {
		if len(f.m) >= maxFailures {
			return // a flood of made-up user names must not grow the map without bound
		}
		v = &failure{}
		f.m[key] = v
	}
	v.n++
	v.last = now
}

// delay is how long an attempt for key waits now.
func (f *failures) delay(key string) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := f.m[key]
	if v == nil || f.limits.FailDelay < 0 {
		return 0
	}
	d := f.limits.FailDelay
	for i := 1; i < v.n && d < f.limits.MaxFailDelay; i++ {
		d *= 2
	}
	d = min(d, f.limits.MaxFailDelay)
	// The delay runs from the last failure: a source that waited anyway is not held.
	return max(0, d-time.Since(v.last))
}

// wait sleeps out key's delay, or until ctx ends (then its error).
func (f *failures) wait(ctx context.Context, key string) error {
	d := f.delay(key)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// rateLog writes at most burst lines per every; what it drops is counted in the next line
// it writes, so a flood of failing connections cannot fill the log.
type rateLog struct {
	out        func(format string, args ...any)
	burst      int
	every      time.Duration
	mu         sync.Mutex
	start      time.Time
	n          int
	suppressed int
}

func (r *rateLog) logf(format string, args ...any) {
	r.mu.Lock()
	now := time.Now()
	if now.Sub(r.start) >= r.every {
		r.start, r.n = now, 0
	}
	if r.n >= r.burst {
		r.suppressed++
		r.mu.Unlock()
		return
	}
	r.n++
	dropped := r.suppressed
	r.suppressed = 0
	r.mu.Unlock()
	if dropped > 0 {
		r.out("(%d similar lines suppressed)", dropped)
	}
	r.out(format, args...)
}
