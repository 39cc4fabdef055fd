// SPDX-License-Identifier: MIT

package ppp

import "time"

// minResetInterval rate-limits CCP Reset-Requests; a request inside the interval is sent at
// its end, not dropped: the stateful MPPE receiver asks once per loss and then waits.
const minResetInterval = 100 * time.Millisecond

// resetRetry is how long a Reset-Request waits for its Reset-Ack before it is sent again
// (pppd: 1 s), at most maxResetRetries times: a lost request would leave the receiver
// discarding until the next flag packet, which a stalled TCP may never send.
const (
	resetRetry      = 500 * time.Millisecond
	maxResetRetries = 5
)

// resetRequest sends a Reset-Request for our stateful MPPE receiver (RFC 1962 §2.1): one
// outstanding at a time, one per minResetInterval.
func (e *Engine) resetRequest() {
	if !e.ccpUsed || e.ccp.state != stOpened {
		e.resetDue, e.resetAckDue = time.Time{}, time.Time{}
		return
	}
	if !e.resetAckDue.IsZero() {
		return // one outstanding request at a time (pppd's RACK_PENDING); its timer repeats it
	}
	now := e.now()
	if !e.lastReset.IsZero() && now.Sub(e.lastReset) < minResetInterval {
		e.resetDue = e.lastReset.Add(minResetInterval)
		return
	}
	e.ccp.id++
	e.resetID, e.resetTries = e.ccp.id, 0
	e.sendReset()
}

// sendReset sends (or repeats, with the same Identifier) the current Reset-Request.
func (e *Engine) sendReset() {
	if !e.ccpUsed || e.ccp.state != stOpened {
		return
	}
	e.lastReset = e.now()
	e.resetAckDue = e.lastReset.Add(resetRetry)
	e.resetsSent.Add(1)
	e.sendPacket(ProtoCCP, CodeResetRequest, e.resetID, nil)
}

// txReset resets our encrypter for the peer's Reset-Request.
func (e *Engine) txReset() {
	if e.cfg.TxReset != nil {
		e.cfg.TxReset()
	}
}

// resetAck stops the repetition of the Reset-Request it answers.
func (e *Engine) resetAck(id uint8) {
	if id == e.resetID {
		e.resetAckDue = time.Time{}
	}
}
