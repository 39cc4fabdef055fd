// SPDX-License-Identifier: MIT

package aaa

import (
	"context"
	"sync"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2866"
)

// record is one Accounting-Request waiting for its Accounting-Response. build makes the
// packet for a server's secret; Acct-Delay-Time is added at each send (so each resend
// is a new packet with a new Identifier, as RFC 2866 §5.2 wants).
type record struct {
	what   string
	queued time.Time
	build  func(secret []byte) (*radius.Packet, error)
}

// accounting owns the queue of records and the one goroutine that delivers them, in
// order, each until a server acknowledges it: nothing is lost while servers are down
// (only when the process ends with records still queued; Close waits for them).
type accounting struct {
	c       *client
	mu      sync.Mutex
	q       []*record
	wake    chan struct{}
	closing bool
	done    chan struct{}
	sent    uint64 // records acknowledged (tests, logs)
}

func newAccounting(c *client) *accounting {
	a := &accounting{c: c, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go a.run()
	return a
}

func (a *accounting) enqueue(r *record) {
	r.queued = time.Now()
	a.mu.Lock()
	a.q = append(a.q, r)
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func (a *accounting) run() {
	defer close(a.done)
	for {
		a.mu.Lock()
		if len(a.q) == 0 {
			closing := a.closing
			a.mu.Unlock()
			if closing {
				return
			}
			<-a.wake
			continue
		}
		r := a.q[0]
		a.mu.Unlock()
		_, _, err := a.c.exchange(context.Background(), a.c.cfg.Acct, r.what, func(secret []byte) (*radius.Packet, error) {
			p, err := r.build(secret)
			if err != nil {
				return nil, err
			}
			rfc2866.AcctDelayTime_Set(p, rfc2866.AcctDelayTime(time.Since(r.queued)/time.Second))
			return p, nil
		})
		if err != nil {
			a.mu.Lock()
			n, closing := len(a.q), a.closing
			a.mu.Unlock()
			if closing {
				a.c.logf("RADIUS accounting: giving up on %d records at exit: %v", n, err)
				return
			}
			a.c.logf("RADIUS accounting: %d records waiting (%v); trying again", n, err)
			continue // the exchange itself waited timeout × retries × servers
		}
		a.mu.Lock()
		a.q = a.q[1:]
		a.sent++
		a.mu.Unlock()
	}
}

// close delivers what is queued until ctx ends, then stops.
func (a *accounting) close(ctx context.Context) {
	a.mu.Lock()
	a.closing = true
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
	select {
	case <-a.done:
	case <-ctx.Done():
	}
}
