// SPDX-License-Identifier: MIT

package ppp

import (
	"fmt"
	"time"
)

// readyWait bounds the wait for the Echo-Reply that shows the peer ready for data
// (Engine.maybeUp); with a peer that does not answer echoes the link comes up after it.
const readyWait = time.Second

// peerReady ends the readiness probe (its Echo-Reply came, or readyWait passed).
func (e *Engine) peerReady() {
	if e.readyDeadline.IsZero() {
		return
	}
	e.readyOK, e.readyDeadline = true, time.Time{}
	e.maybeUp()
}

// echoReply notes an Echo-Reply: the peer is alive, and it may answer the readiness probe.
func (e *Engine) echoReply(id uint8) {
	e.echoPending = 0
	if id == e.readyID {
		e.peerReady() // a no-op unless the readiness probe waits
	}
}

// echoTimeout sends the next keepalive Echo-Request, or gives the peer up after
// EchoFailure unanswered ones; data from the peer counts as an answer.
func (e *Engine) echoTimeout() {
	e.echoDeadline = time.Time{}
	if e.lcp.state != stOpened || e.closing {
		return
	}
	if e.traffic.Swap(false) {
		e.echoPending = 0
	}
	if e.cfg.EchoFailure > 0 && e.echoPending >= e.cfg.EchoFailure {
		e.fail(withKind(ErrPeerDead, &EchoTimeoutError{Peer: e.cfg.peerRole(), Missed: e.echoPending, Interval: e.cfg.EchoInterval}), "Peer not responding")
		return
	}
	e.lcpc.echo()
	e.echoPending++
	e.echoDeadline = e.now().Add(e.cfg.EchoInterval)
}

// EchoTimeoutError says that the LCP keepalive gave the peer up: Missed Echo-Requests in a
// row, Interval apart, went unanswered and no data came meanwhile. It matches ErrPeerDead.
type EchoTimeoutError struct {
	Peer     string // "server" or "client"
	Missed   int
	Interval time.Duration
}

func (e *EchoTimeoutError) Error() string {
	return fmt.Sprintf("LCP keepalive: the %s answered none of %d Echo-Requests in %v and sent no data (lcp-echo-interval %d, lcp-echo-failure %d)",
		e.Peer, e.Missed, time.Duration(e.Missed)*e.Interval, int(e.Interval.Seconds()), e.Missed)
}
