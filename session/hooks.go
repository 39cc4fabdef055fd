// SPDX-License-Identifier: MIT

package session

import (
	"context"
	"net/netip"

	"github.com/pptp-go/pptp/ppp"
	"github.com/pptp-go/pptp/ppp/auth"
)

// Call is one server session as its hooks see it: who, where, and how to end it.
type Call struct {
	Client, Local netip.Addr
	CallID        uint16 // ours
	PeerCallID    uint16
	IfName        string
	cancel        context.CancelCauseFunc
	sess          *PPP
}

// Close ends the session gracefully (LCP Terminate, call clear); cause is what Run returns.
func (c *Call) Close(cause error) { c.cancel(cause) }

// Stats are the session's datapath counters (IP packets and bytes each way).
func (c *Call) Stats() *DataStats { return c.sess.Stats() }

// Hooks are what an external AAA (RADIUS) does to one session. Verify runs on the
// engine goroutine (see auth.Verifier); Up when the link is up; Down once, when it ended
// (err as Run returned it; shutdown when the server itself is stopping).
type Hooks interface {
	Verify(req *auth.VerifyRequest) *auth.Verdict
	Up(p ppp.LinkParams)
	Down(err error, shutdown bool)
}
