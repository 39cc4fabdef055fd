// SPDX-License-Identifier: MIT

package auth

import (
	"bytes"
	"testing"
)

// A lost Success: pppd's authenticator has moved on and never sends it again. Our peer
// repeats its Response on each timeout, the authenticator answers the repeat with the same
// status (as pppd does), and the exchange completes.
func TestPeerRepeatsResponseAfterLostSuccess(t *testing.T) {
	for _, m := range []Method{CHAPMD5, MSCHAPv1, MSCHAPv2} {
		peer := NewPeerWithRand(m, "test", "test", seeded(1))
		au := NewAuthenticator(m, "pptpd", secrets(map[string]string{"test": "test"}), seeded(2))
		resp, _ := peer.Input(bytes.Clone(au.Start()))
		if resp == nil {
			t.Fatalf("%v: no Response", m)
		}
		resp = bytes.Clone(resp)
		status, ares := au.Input(resp)
		if status == nil || ares == nil || ares.Err != nil {
			t.Fatalf("%v: authenticator: %+v", m, ares)
		}
		// status is lost on the way. The peer's timer fires:
		again, res := peer.Timeout()
		if res != nil || !bytes.Equal(again, resp) {
			t.Fatalf("%v: timeout gave %x, %+v; want the Response again", m, again, res)
		}
		status2, _ := au.Input(bytes.Clone(again))
		if !bytes.Equal(status2, status) {
			t.Fatalf("%v: repeated Response answered with %x, want the same status %x", m, status2, status)
		}
		if _, res := peer.Input(status2); res == nil || res.Err != nil {
			t.Fatalf("%v: peer result %+v", m, res)
		}
	}
}
