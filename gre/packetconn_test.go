// SPDX-License-Identifier: MIT

package gre_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/pptp-go/pptp/gre"
	"github.com/pptp-go/pptp/internal/lossylink"
)

// A Link over a PacketConn other than the raw socket: frames arrive in order, the peer's
// acks are counted, and the round trip allocates nothing.
func TestLinkOnPacketConn(t *testing.T) {
	x, y := lossylink.Pair(lossylink.Config{})
	a := gre.NewLinkOn(x, gre.LinkConfig{LocalCallID: 1, PeerCallID: 2})
	b := gre.NewLinkOn(y, gre.LinkConfig{LocalCallID: 2, PeerCallID: 1})
	got := make(chan byte, 256)
	go a.Receive(func([][]byte, []int) {})
	go b.Receive(func(bufs [][]byte, offs []int) {
		for i, p := range bufs {
			got <- p[offs[i]]
		}
	})
	defer a.Close()
	defer b.Close()
	buf := make([]byte, gre.HeaderLen+100)
	bufs := [][]byte{buf}
	for i := range 10 {
		buf[gre.HeaderLen] = byte(i)
		if _, err := a.Write(bufs, gre.HeaderLen); err != nil {
			t.Fatal(err)
		}
		select {
		case v := <-got:
			if v != byte(i) {
				t.Fatalf("frame %d arrived as %d", i, v)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("frame %d not delivered", i)
		}
	}
	allocs := testing.AllocsPerRun(200, func() {
		a.Write(bufs, gre.HeaderLen)
		<-got
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per frame", allocs)
	}
	time.Sleep(30 * time.Millisecond)                                       // b's lone ack (AckDelay 10 ms)
	if a.Stats().RxAcks.Load() == 0 || b.Stats().RxAccepted.Load() != 211 { // 10 + AllocsPerRun's warm-up + 200
		t.Fatalf("acks %d, accepted %d", a.Stats().RxAcks.Load(), b.Stats().RxAccepted.Load())
	}
}

func BenchmarkLinkOnPacketConn(b *testing.B) {
	x, y := lossylink.Pair(lossylink.Config{})
	l := gre.NewLinkOn(x, gre.LinkConfig{LocalCallID: 1, PeerCallID: 2})
	r := gre.NewLinkOn(y, gre.LinkConfig{LocalCallID: 2, PeerCallID: 1})
	got := make(chan struct{}, 256)
	// l reads r's acks: unread, they fill the pipe and r's Receive blocks sending the next.
	go l.Receive(func([][]byte, []int) {})
	go r.Receive(func(bufs [][]byte, _ []int) {
		for range bufs {
			got <- struct{}{}
		}
	})
	defer l.Close()
	defer r.Close()
	bufs := [][]byte{make([]byte, gre.HeaderLen+1400)}
	b.ReportAllocs()
	b.SetBytes(1400)
	for b.Loop() {
		l.Write(bufs, gre.HeaderLen)
		<-got
	}
}

// The gap handler runs for each packet held behind a missing one, at arrival, before the
// hold time (here 1 s) decides the missing one is lost; never while packets are in order.
func TestLinkGapHandler(t *testing.T) {
	var n atomic.Int32
	x, y := lossylink.Pair(lossylink.Config{Drop: func(p []byte) bool {
		h, _, err := gre.Parse(p)
		return err == nil && h.CallID() == 2 && h.HasSeq() && n.Add(1) == 3
	}})
	a := gre.NewLinkOn(x, gre.LinkConfig{LocalCallID: 1, PeerCallID: 2})
	b := gre.NewLinkOn(y, gre.LinkConfig{LocalCallID: 2, PeerCallID: 1, Reorder: gre.ReorderConfig{Timeout: time.Second}})
	gaps := make(chan int, 16)
	delivered := 0
	b.SetGapHandler(func() { gaps <- delivered })
	go a.Receive(func([][]byte, []int) {})
	go b.Receive(func(bufs [][]byte, _ []int) { delivered += len(bufs) })
	defer a.Close()
	defer b.Close()
	buf := make([]byte, gre.HeaderLen+20)
	start := time.Now()
	for range 5 {
		if _, err := a.Write([][]byte{buf}, gre.HeaderLen); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	for want := range 2 { // packets 4 and 5 wait behind the lost 3
		select {
		case d := <-gaps:
			if d != 2 {
				t.Fatalf("gap %d reported with %d delivered, want 2", want, d)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("gap handler called %d times, want 2", want)
		}
	}
	if el := time.Since(start); el > 500*time.Millisecond {
		t.Fatalf("gap reported after %v, not at arrival", el)
	}
	select {
	case <-gaps:
		t.Fatal("gap handler called for an in-order packet")
	case <-time.After(50 * time.Millisecond):
	}
}

// With SendWindow set, Write keeps at most that many packets unacknowledged once the peer
// has acked anything (a window of 4 is raised to MinSendWindow), waits for an ack when the
// window is full (here the acks are cut off, so each wait ends at its bound), and still
// delivers everything.
// minWindowTestExtra is how many packets TestLinkSendWindow writes past a full window.
const minWindowTestExtra = 8

func TestLinkSendWindow(t *testing.T) {
	var cutAcks atomic.Bool
	x, y := lossylink.Pair(lossylink.Config{Drop: func(p []byte) bool {
		h, _, err := gre.Parse(p)
		return err == nil && h.CallID() == 1 && cutAcks.Load()
	}})
	a := gre.NewLinkOn(x, gre.LinkConfig{LocalCallID: 1, PeerCallID: 2, SendWindow: 4})
	b := gre.NewLinkOn(y, gre.LinkConfig{LocalCallID: 2, PeerCallID: 1})
	var got atomic.Int32
	go a.Receive(func([][]byte, []int) {})
	go b.Receive(func(bufs [][]byte, _ []int) { got.Add(int32(len(bufs))) })
	defer a.Close()
	defer b.Close()
	buf := make([]byte, gre.HeaderLen+20)
	write := func() {
		if _, err := a.Write([][]byte{buf}, gre.HeaderLen); err != nil {
			t.Fatal(err)
		}
	}
	write()
	deadline := time.Now().Add(5 * time.Second)
	for a.Stats().RxAcks.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if a.Stats().RxAcks.Load() == 0 {
		t.Fatal("no ack for the first packet")
	}
	cutAcks.Store(true)
	for range minWindowTestExtra + gre.MinSendWindow { // packet 1 is acked: 2..33 fit, the rest wait
		write()
	}
	if w := a.Stats().TxWindowWaits.Load(); w != minWindowTestExtra {
		t.Errorf("%d waits for the window, want %d", w, minWindowTestExtra)
	}
	const total = 1 + gre.MinSendWindow + minWindowTestExtra
	for got.Load() < total && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := got.Load(); n != total {
		t.Fatalf("peer received %d packets, want %d", n, total)
	}
}
