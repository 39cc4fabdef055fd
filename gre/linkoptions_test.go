// SPDX-License-Identifier: MIT

package gre

import "testing"

// TestLinkOptionsSendWindow: 0 takes the peer's window, negative lifts the limit, N is N.
func TestLinkOptionsSendWindow(t *testing.T) {
	for _, tc := range []struct {
		configured int
		peer       uint16
		want       int
	}{{0, 64, 64}, {-1, 64, 0}, {300, 64, 300}, {0, 0, 0}} {
		c := LinkOptions{SendWindow: tc.configured, PacketSize: 4096}.LinkConfig(7, 9, tc.peer, nil)
		if c.SendWindow != tc.want || c.LocalCallID != 7 || c.PeerCallID != 9 || c.PacketSize != 4096 {
			t.Errorf("SendWindow %d, peer %d: got %+v, want window %d", tc.configured, tc.peer, c, tc.want)
		}
	}
}
