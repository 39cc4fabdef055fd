// SPDX-License-Identifier: MIT

package control

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestEchoRTT: the round trip of an answered Echo-Request, 0 before; a reply with another
// identifier does not count.
func TestEchoRTT(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, cl := setupAgainst(t, ClientConfig{IdleWait: 10 * time.Second, MaxEchoWait: 5 * time.Second})
		reply := func(id uint32) {
			rp := make(EchoReply, EchoRPLen)
			rp.Init()
			rp.SetIdentifier(id)
			rp.SetResultCode(EchoOK)
			p.write(rp)
		}
		rq := EchoRequest(p.expect(TypeEchoRQ))
		if cl.EchoRTT() != 0 {
			t.Errorf("EchoRTT %v before any reply", cl.EchoRTT())
		}
		time.Sleep(30 * time.Millisecond)
		reply(rq.Identifier() + 1)
		synctest.Wait()
		if cl.EchoRTT() != 0 {
			t.Errorf("EchoRTT %v from a reply with the wrong identifier", cl.EchoRTT())
		}
		time.Sleep(20 * time.Millisecond)
		reply(rq.Identifier())
		synctest.Wait()
		if cl.EchoRTT() != 50*time.Millisecond {
			t.Errorf("EchoRTT %v, want 50ms", cl.EchoRTT())
		}
		p.drain()
		cl.Close()
	})
}
