// SPDX-License-Identifier: MIT

package gre

import (
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A queue keeps only MTU-sized buffers: after a burst of large packets nothing bigger than
// DefaultPacketSize stays in its spares or the Mux's.
func TestRxQueueRecyclesOnlyMTUBuffers(t *testing.T) {
	var spare bufStack
	q := newRxQueue(netip.Addr{})
	q.spare = &spare
	big := make([]byte, muxMaxPacket)
	for range 100 {
		q.push(big)
		q.push(make([]byte, 1400))
	}
	got := readAll(t, q, MaxBatch)
	if len(got) != 200 || len(got[0]) != muxMaxPacket {
		t.Fatalf("read %d packets, first %d bytes", len(got), len(got[0]))
	}
	for _, b := range append(q.free, spare.bufs...) {
		if cap(b) > DefaultPacketSize {
			t.Fatalf("a %d-byte buffer was kept", cap(b))
		}
	}
}

// The Mux drops packets longer than any PPTP call sends at the door: they never reach a
// call's queue (where they would cost a buffer of their size).
func TestMuxDropsOversizeAtTheDoor(t *testing.T) {
	p := newNSPair(t)
	m := muxIn(t, p, Options{})
	c := muxDialIn(t, p, m, 0x8001)
	defer c.Close()
	cl := dialIn(t, p.b, p.addrA, Options{})
	for _, n := range []int{muxMaxPacket, 1400} { // over the limit with the IPv4 header; fine
		pkt := make([]byte, 16+n)
		Fields{CallID: 0x8001, PayloadLen: uint16(n), Seq: 1, HasSeq: true}.Encode(pkt[:16])
		if _, err := cl.WriteBatch([][]byte{pkt}); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 1<<16)
	sizes := []int{0}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.ReadBatch([][]byte{buf}, sizes)
	if err != nil || n != 1 || sizes[0] != 20+16+1400 {
		t.Fatalf("ReadBatch = %d, %v, size %d (want only the 1400-byte packet)", n, err, sizes[0])
	}
	if m.Oversize.Load() != 1 {
		t.Fatalf("Oversize %d, want 1", m.Oversize.Load())
	}
}

// feedAcked is feed with the acks of the batch taken to the send side, as Receive does.
func feedAcked(l *Link, deliver func([][]byte, []int), pkts ...[]byte) {
	rx := &l.rx
	now := time.Now()
	for _, p := range pkts {
		idx := rx.free[len(rx.free)-1]
		rx.free = rx.free[:len(rx.free)-1]
		n := copy(rx.pool[idx], p)
		if !l.input(idx, n, now) {
			rx.free = append(rx.free, idx)
		}
	}
	l.peerAcked()
	rx.reorder.Expire(now)
	l.flush(deliver)
}

// ipv4GREAck is ipv4GRE with an ack field.
func ipv4GREAck(callID uint16, seq, ack uint32, payload []byte) []byte {
	f := Fields{CallID: callID, PayloadLen: uint16(len(payload)), Seq: seq, HasSeq: true, Ack: ack, HasAck: true}
	total := 20 + f.Len() + len(payload)
	b := make([]byte, total)
	b[0] = 0x45
	put16(b[2:], uint16(total))
	b[8], b[9] = 64, 47
	f.Encode(b[20 : 20+f.Len()])
	copy(b[20+f.Len():], payload)
	return b
}

// An ack for a sequence number we never sent is dropped: taken, it would fill the send
// window for good (every later Write would wait for acks that cannot come).
func TestLinkDropsAckBeyondSent(t *testing.T) {
	l, _ := pairLink(t, LinkConfig{LocalCallID: 7, PeerCallID: 9, SendWindow: 4})
	frame := make([]byte, HeaderLen+20)
	for range 2 {
		if _, err := l.Write([][]byte{frame}, HeaderLen); err != nil {
			t.Fatal(err)
		}
	}
	deliver := func([][]byte, []int) {}
	feedAcked(l, deliver, ipv4GREAck(7, 1, 2, []byte{0xFF, 0x03, 0x00, 0x21, 0x45}))
	// 3, 1000 and 2+2³¹−1 are ahead of 2 in serial arithmetic; 0xFFFFFF00 is behind it
	// (an old ack: no news, not an error).
	for _, bogus := range []uint32{3, 1000, 0xFFFFFF00, 2 + 1<<31 - 1} {
		feedAcked(l, deliver, ipv4GREAck(7, 1, bogus, []byte{0xFF, 0x03, 0x00, 0x21, 0x45}))
	}
	if l.tx.peerAck != 2 {
		t.Fatalf("peer ack %d after bogus acks, want 2", l.tx.peerAck)
	}
	if got := l.stats.RxBadAcks.Load(); got != 3 {
		t.Fatalf("RxBadAcks %d, want 3", got)
	}
	done := make(chan struct{})
	go func() {
		for range 2 {
			l.Write([][]byte{frame}, HeaderLen)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("Write blocked: the window looks full")
	}
}

// Reordering never drops a control frame (LCP, an NCP, authentication): a data packet far
// ahead or a stale sequence must not cost the link its echoes or its Terminate.
func TestLinkReorderKeepsControlFrames(t *testing.T) {
	l, _ := pairLink(t, LinkConfig{LocalCallID: 7, PeerCallID: 9, Reorder: ReorderConfig{MissingWindow: 4096}})
	var lcp, data int
	deliver := func(bufs [][]byte, offs []int) {
		for i, b := range bufs {
			switch p := b[offs[i]:]; {
			case len(p) >= 4 && p[2] == 0xC0 && p[3] == 0x21:
				lcp++
			default:
				data++
			}
		}
	}
	lcpEcho := []byte{0xFF, 0x03, 0xC0, 0x21, 9, 1, 0, 8, 0, 0, 0, 0}
	dataPkt := []byte{0xFF, 0x03, 0x00, 0x21, 0x45}
	buf := make([]byte, 2048)
	feedAcked(l, deliver, append([]byte(nil), ipv4GRE(buf, 7, 100, dataPkt)...))
	feedAcked(l, deliver, append([]byte(nil), ipv4GRE(buf, 7, 100+1<<31-1, dataPkt)...)) // far ahead: dropped
	feedAcked(l, deliver, append([]byte(nil), ipv4GRE(buf, 7, 100+1<<20, lcpEcho)...))   // beyond the window
	feedAcked(l, deliver, append([]byte(nil), ipv4GRE(buf, 7, 50, lcpEcho)...))          // old
	feedAcked(l, deliver, append([]byte(nil), ipv4GRE(buf, 7, 101, dataPkt)...))
	if lcp != 2 || data != 2 {
		t.Fatalf("delivered %d LCP frames (want 2) and %d data packets (want 2)", lcp, data)
	}
}

// A DeferPacketSize Link receives into small buffers until Grow, then into PacketSize ones
// (the server's 2 MiB per call are committed only to a client that logged in).
func TestLinkDeferPacketSize(t *testing.T) {
	l, fd := pairLink(t, LinkConfig{LocalCallID: 7, PeerCallID: 9, PacketSize: 16384, DeferPacketSize: true})
	small := l.PoolBytes()
	if small != int64(len(l.rx.pool)*DefaultPacketSize) {
		t.Fatalf("pool %d bytes before Grow, want %d", small, len(l.rx.pool)*DefaultPacketSize)
	}
	got := make(chan int, 16)
	go l.Receive(func(bufs [][]byte, offs []int) { got <- len(bufs) })
	buf := make([]byte, 2048)
	send := func(seq uint32) {
		if _, err := unix.Write(fd, ipv4GRE(buf, 7, seq, []byte{0xFF, 0x03, 0x00, 0x21, 0x45})); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got:
		case <-time.After(5 * time.Second):
			t.Fatal("no delivery")
		}
	}
	send(1)
	l.Grow()
	send(2)
	send(3) // the pool is replaced at the top of the loop after a delivery
	if b := l.PoolBytes(); b != int64(len(l.rx.pool)*16384) {
		t.Fatalf("pool %d bytes after Grow", b)
	}
}
