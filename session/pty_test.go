// SPDX-License-Identifier: MIT

package session

import "testing"

func TestACCMSnoop(t *testing.T) {
	confReq := func(id byte, accm ...byte) []byte {
		f := []byte{0xFF, 0x03, 0xC0, 0x21, 0x01, id, 0, 0}
		if accm != nil {
			f = append(f, 2, 6)
			f = append(f, accm...)
		}
		f = append(f, 5, 6, 1, 2, 3, 4) // magic number
		f[7] = byte(len(f) - 4)
		return f
	}
	ack := func(id byte) []byte {
		f := confReq(id, 0, 0, 0, 0)
		f[4] = 2
		return f
	}
	var a accmSnoop
	a.reset()
	a.fromPPPD(confReq(7, 0, 0, 0, 0))
	a.fromPeer(ack(6)) // an Ack for another request changes nothing
	if got := a.current.Load(); got != 0xFFFFFFFF {
		t.Fatalf("after a foreign Ack: %#x", got)
	}
	chap := []byte{0xFF, 0x03, 0xC2, 0x23, 0x02, 0x01, 0x00, 0x04}
	a.fromPeer(ack(7))
	if got := a.current.Load(); got != 0xFFFFFFFF {
		t.Fatalf("the map took effect before pppd's LCP is up: %#x", got)
	}
	a.fromPPPD(ack(3)) // pppd acks the peer's request: still LCP
	if got := a.current.Load(); got != 0xFFFFFFFF {
		t.Fatalf("after pppd's own Ack: %#x", got)
	}
	a.fromPPPD(chap) // first frame past LCP: pppd's tty now filters with the new map
	if got := a.current.Load(); got != 0 {
		t.Fatalf("after pppd's first non-LCP frame: %#x, want 0", got)
	}
	a.fromPPPD(confReq(8, 0x00, 0x0A, 0x00, 0x00)) // renegotiation: escape everything again
	if got := a.current.Load(); got != 0xFFFFFFFF {
		t.Fatalf("during renegotiation: %#x", got)
	}
	a.fromPeer(ack(8))
	a.fromPPPD(chap)
	if got := a.current.Load(); got != 0x000A0000 {
		t.Fatalf("after the second Ack: %#x", got)
	}
	a.fromPPPD(confReq(9)) // no ACCM option: the RFC default, all ones
	a.fromPeer(ack(9))
	a.fromPPPD(chap)
	if got := a.current.Load(); got != 0xFFFFFFFF {
		t.Fatalf("default map: %#x", got)
	}
	a.fromPeer([]byte{0xFF, 0x03}) // runt: ignored
}
