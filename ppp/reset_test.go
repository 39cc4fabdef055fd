// SPDX-License-Identifier: MIT

package ppp

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// A stateful MPPE receiver asks once per loss, so no request may vanish: one inside the rate
// limit goes out when it ends, and one whose Reset-Request or Reset-Ack was lost is repeated.
func TestEngineResetRequestDeferredAndRepeated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ccfg, scfg := clientConfig(), serverConfig()
		ccfg.MPPE = MPPEPolicy{Require: true, Allow128: true, Stateful: true}
		scfg.MPPE = ccfg.MPPE
		var resets atomic.Int32
		scfg.TxReset = func() { resets.Add(1) }
		c, s := newSide(ccfg), newSide(scfg)
		s.e.cfg.TxReset = scfg.TxReset
		c.out.peer, s.out.peer = s.e, c.e
		for _, x := range []*side{c, s} {
			go func() { x.err = x.e.Run(context.Background()); close(x.done) }()
		}
		if !waitUp(t, c, s) {
			t.Fatalf("link failed: %v %v", c.err, s.err)
		}
		c.e.SendResetRequest()
		synctest.Wait()
		time.Sleep(10 * time.Millisecond)
		c.e.SendResetRequest() // inside the 100 ms limit: deferred, not dropped
		synctest.Wait()
		if n := resets.Load(); n != 1 {
			t.Fatalf("%d resets at once, want 1", n)
		}
		time.Sleep(minResetInterval)
		synctest.Wait()
		if n := resets.Load(); n != 2 {
			t.Fatalf("%d resets after the interval, want 2 (the deferred one)", n)
		}

		// The server's Reset-Ack is lost: the same request is repeated after resetRetry.
		s.out.setDrop(func(proto uint16, info []byte) bool { return proto == ProtoCCP && info[0] == CodeResetAck })
		time.Sleep(minResetInterval)
		c.e.SendResetRequest()
		synctest.Wait()
		// More drops while that request waits for its Ack ask for nothing new (pppd's
		// RACK_PENDING): every extra request would cost the sender a re-key.
		for range 4 {
			time.Sleep(resetRetry / 5)
			c.e.SendResetRequest()
			synctest.Wait()
		}
		time.Sleep(resetRetry / 5)
		synctest.Wait()
		reqs := c.out.find(ProtoCCP, CodeResetRequest)
		if len(reqs) != 4 || reqs[2].ID() != reqs[3].ID() || resets.Load() != 4 {
			t.Fatalf("Reset-Requests %x, %d resets", reqs, resets.Load())
		}
		// Repetitions stop after maxResetRetries.
		time.Sleep(resetRetry * (maxResetRetries + 2))
		synctest.Wait()
		if n := len(c.out.find(ProtoCCP, CodeResetRequest)); n != 3+maxResetRetries { // two answered, the third and its repetitions
			t.Fatalf("%d Reset-Requests, want %d", n, 3+maxResetRetries)
		}
		if n := c.e.ResetRequestsSent(); n != 3+maxResetRetries {
			t.Fatalf("ResetRequestsSent = %d, want %d", n, 3+maxResetRetries)
		}
		// Acknowledged, yet the receiver still drops (the answer was lost): a new request.
		s.out.setDrop(nil)
		c.e.SendResetRequest()
		synctest.Wait()
		if reqs := c.out.find(ProtoCCP, CodeResetRequest); len(reqs) != 4+maxResetRetries || reqs[len(reqs)-1].ID() == reqs[len(reqs)-2].ID() {
			t.Fatalf("no new Reset-Request after the repetitions ended: %x", reqs)
		}
		shutdown(t, c, s)
	})
}
