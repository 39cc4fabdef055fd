// SPDX-License-Identifier: MIT

package gre

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"testing"
	"testing/synctest"
	"time"
)

// readAll reads what q holds now, in batches of up to k.
func readAll(t *testing.T, q *rxQueue, k int) [][]byte {
	t.Helper()
	bufs := make([][]byte, k)
	for i := range bufs {
		bufs[i] = make([]byte, 4096)
	}
	sizes := make([]int, k)
	var out [][]byte
	for {
		q.mu.Lock()
		n := q.n
		q.mu.Unlock()
		if n == 0 {
			return out
		}
		got, err := q.read(bufs, sizes)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			out = append(out, bytes.Clone(bufs[i][:sizes[i]]))
		}
	}
}

// Packets come out in the order they went in, whole, while the ring grows and wraps and
// reads take batches of every size.
func TestRxQueueOrder(t *testing.T) {
	q := newRxQueue(netip.Addr{})
	rng := rand.New(rand.NewPCG(1, 2))
	next, want := 0, 0
	for round := range 200 {
		for range rng.IntN(300) {
			p := make([]byte, 4+rng.IntN(3000))
			binary.BigEndian.PutUint32(p, uint32(next))
			for i := 4; i < len(p); i++ {
				p[i] = byte(next + i)
			}
			if !q.push(p) {
				t.Fatalf("round %d: push %d refused with %d queued", round, next, q.n)
			}
			next++
		}
		for _, p := range readAll(t, q, 1+rng.IntN(MaxBatch)) {
			if got := int(binary.BigEndian.Uint32(p)); got != want {
				t.Fatalf("got packet %d, want %d", got, want)
			}
			for i := 4; i < len(p); i++ {
				if p[i] != byte(want+i) {
					t.Fatalf("packet %d corrupt at %d", want, i)
				}
			}
			want++
		}
	}
	if want != next {
		t.Fatalf("read %d of %d", want, next)
	}
}

// A full queue refuses more, loses nothing it took, and takes again once read.
func TestRxQueueFull(t *testing.T) {
	q := newRxQueue(netip.Addr{})
	p := make([]byte, 100)
	for i := range MuxQueueLen + 10 {
		binary.BigEndian.PutUint32(p, uint32(i))
		if ok := q.push(p); ok != (i < MuxQueueLen) {
			t.Fatalf("push %d = %v", i, ok)
		}
	}
	got := readAll(t, q, MaxBatch)
	if len(got) != MuxQueueLen || binary.BigEndian.Uint32(got[len(got)-1]) != MuxQueueLen-1 {
		t.Fatalf("read %d packets", len(got))
	}
	if !q.push(p) {
		t.Fatal("push refused after the queue was read")
	}
}

// A reader waits until a packet is signalled, the deadline passes or the queue is closed.
func TestRxQueueWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newRxQueue(netip.Addr{})
		buf, sizes := [][]byte{make([]byte, 64)}, []int{0}
		type result struct {
			n   int
			err error
			at  time.Duration
		}
		start := time.Now()
		res := make(chan result, 1)
		read := func() {
			n, err := q.read(buf, sizes)
			res <- result{n, err, time.Since(start)}
		}

		q.deadline.Store(start.Add(300 * time.Millisecond).UnixNano())
		go read()
		time.Sleep(100 * time.Millisecond)
		q.push([]byte("hello"))
		q.signal()
		if r := <-res; r.n != 1 || r.err != nil || r.at != 100*time.Millisecond || string(buf[0][:sizes[0]]) != "hello" {
			t.Fatalf("signalled read: %+v", r)
		}

		go read()
		if r := <-res; !errors.Is(r.err, os.ErrDeadlineExceeded) || r.at != 300*time.Millisecond {
			t.Fatalf("read past the deadline: %+v", r)
		}

		q.deadline.Store(0)
		start = time.Now()
		go read()
		time.Sleep(time.Hour)
		q.close()
		if r := <-res; !errors.Is(r.err, net.ErrClosed) || r.at != time.Hour {
			t.Fatalf("read across close: %+v", r)
		}
		if q.push([]byte("late")) {
			t.Fatal("push after close accepted")
		}
	})
}

// Once its buffers exist, a queue allocates nothing.
func TestRxQueueAllocs(t *testing.T) {
	q := newRxQueue(netip.Addr{})
	p := make([]byte, 1400)
	bufs := make([][]byte, MaxBatch)
	for i := range bufs {
		bufs[i] = make([]byte, 2048)
	}
	sizes := make([]int, MaxBatch)
	cycle := func() {
		for range 200 {
			q.push(p)
		}
		for q.n > 0 {
			if _, err := q.read(bufs, sizes); err != nil {
				t.Fatal(err)
			}
		}
	}
	cycle()
	if n := testing.AllocsPerRun(50, cycle); n != 0 {
		t.Fatalf("allocs per cycle = %v", n)
	}
}

// FuzzMuxDispatch feeds packets cut from the input through the Mux's dispatch, with one
// call registered: the call gets exactly the packets whose Call ID and source are its own,
// whole and in order, and everything else is counted as dropped.
func FuzzMuxDispatch(f *testing.F) {
	pkt := func(src byte, callID uint16, n int) []byte {
		p := make([]byte, 20+16+n)
		p[0], p[12], p[15] = 0x45, 10, src
		Fields{CallID: callID, PayloadLen: uint16(n), Seq: 1, HasSeq: true}.Encode(p[20:])
		return p
	}
	seed := func(ps ...[]byte) []byte {
		var b []byte
		for _, p := range ps {
			b = append(b, byte(len(p)>>8), byte(len(p)))
			b = append(b, p...)
		}
		return b
	}
	f.Add(seed(pkt(2, 0x8001, 10), pkt(3, 0x8001, 10), pkt(2, 0x8002, 0), []byte{0x46, 0}))
	f.Add(seed(pkt(2, 0x8001, 1400), []byte{0x4f}, pkt(2, 0x8001, 0)))
	f.Fuzz(func(t *testing.T, data []byte) {
		m := &Mux{touched: make([]*rxQueue, 0, MaxBatch)}
		peer := [4]byte{10, 0, 0, 2}
		q := newRxQueue(netip.AddrFrom4(peer))
		m.calls[0x8001].Store(q)
		var want [][]byte
		n := 0
		for len(data) >= 2 && n < MaxBatch {
			l := min(int(data[0])<<8|int(data[1]), len(data)-2)
			p := data[2 : 2+l]
			data = data[2+l:]
			m.bufs[n], m.r.msgs[n].n = p, uint32(len(p))
			if id, src, ok := DemuxKey(p); ok && id == 0x8001 && src == peer {
				want = append(want, p)
			}
			n++
		}
		m.dispatch(n)
		got := readAll(t, q, MaxBatch)
		if len(got) != len(want) || int(m.Dropped.Load()) != n-len(want) {
			t.Fatalf("delivered %d, dropped %d of %d; want %d delivered", len(got), m.Dropped.Load(), n, len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("packet %d changed", i)
			}
		}
		select {
		case <-q.wake:
			if len(want) == 0 {
				t.Fatal("woken without a packet")
			}
		default:
			if len(want) > 0 {
				t.Fatal("not woken")
			}
		}
	})
}

// After a burst a call keeps queueKeep buffers and hands the rest to the Mux's stack,
// where another call's burst finds them.
func TestRxQueueSpares(t *testing.T) {
	var spare bufStack
	q1, q2 := newRxQueue(netip.Addr{}), newRxQueue(netip.Addr{})
	q1.spare, q2.spare = &spare, &spare
	p := make([]byte, 1400)
	for range 200 {
		q1.push(p)
	}
	readAll(t, q1, MaxBatch)
	if len(q1.free) != queueKeep || len(spare.bufs) != 200-queueKeep {
		t.Fatalf("kept %d, spare %d", len(q1.free), len(spare.bufs))
	}
	// Run twice (AllocsPerRun warms up once): 100 pushes in all, every buffer from the
	// stack; the one allocation allowed is the ring growing past 64.
	allocs := testing.AllocsPerRun(1, func() {
		for range 50 {
			q2.push(p)
		}
	})
	if allocs > 1 || len(spare.bufs) != 200-queueKeep-100 {
		t.Fatalf("allocs %v, spare %d", allocs, len(spare.bufs))
	}
}
