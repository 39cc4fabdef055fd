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
		e.fail(withKind(ErrPeerDead, fmt.Errorf("peer not responding to LCP echo (%d missed)", e.echoPending)), "Peer not responding")
		return
	}
	e.lcpc.echo()
	e.echoPending++
	e.echoDeadline = e.now().Add(e.cfg.EchoInterval)
}
