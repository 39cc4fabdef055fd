// SPDX-License-Identifier: MIT

package lossylink

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

func pkt(i int) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint32(b, uint32(i))
	return b
}

// readAll reads until n packets arrived and returns their numbers in arrival order, checking
// every IPv4 header on the way.
func readAll(t *testing.T, c *Conn, n int) []int {
	t.Helper()
	bufs, sizes := make([][]byte, 64), make([]int, 64)
	for i := range bufs {
		bufs[i] = make([]byte, 2048)
	}
	var got []int
	for len(got) < n {
		c.SetReadDeadline(time.Now().Add(time.Second))
		k, err := c.ReadBatch(bufs, sizes)
		if err != nil {
			t.Fatalf("after %d packets: %v", len(got), err)
		}
		for i := range k {
			p := bufs[i][:sizes[i]]
			if p[0] != 0x45 || int(binary.BigEndian.Uint16(p[2:])) != len(p) || p[9] != protoGRE || checksum(p[:20]) != 0 {
				t.Fatalf("bad IPv4 header % x", p[:20])
			}
			got = append(got, int(binary.BigEndian.Uint32(p[20:])))
		}
	}
	return got
}

func TestNoImpairmentInOrder(t *testing.T) {
	a, b := Pair(Config{})
	go func() {
		for i := range 5000 {
			a.WriteBatch([][]byte{pkt(i)})
		}
	}()
	for i, v := range readAll(t, b, 5000) {
		if v != i {
			t.Fatalf("packet %d arrived as %d", v, i)
		}
	}
}

func TestLossAndReorderRates(t *testing.T) {
	const n = 100000
	a, b := Pair(Config{Loss: 0.01, Reorder: 0.01, Seed: 3, QueueLen: n})
	for i := range n {
		if _, err := a.WriteBatch([][]byte{pkt(i)}); err != nil {
			t.Fatal(err)
		}
	}
	st := a.TxStats()
	lost, reord := int(st.Lost.Load()), int(st.Reordered.Load())
	// 1 % of 100000 has a standard deviation of ~31.
	if lost < 850 || lost > 1150 || reord < 850 || reord > 1150 {
		t.Fatalf("lost %d, reordered %d of %d; want ~1000 each", lost, reord, n)
	}
	got := readAll(t, b, n-lost)
	late := 0
	for i := 1; i < len(got); i++ {
		if got[i] < got[i-1] {
			late++
		}
	}
	if late != reord {
		t.Fatalf("%d packets arrived after a later one, stats say %d", late, reord)
	}
}

func TestDeterministic(t *testing.T) {
	run := func() []uint64 {
		a, _ := Pair(Config{Loss: 0.05, Seed: 9})
		var lost []uint64
		for i := range 1000 {
			before := a.TxStats().Lost.Load()
			a.WriteBatch([][]byte{pkt(i)})
			if a.TxStats().Lost.Load() != before {
				lost = append(lost, uint64(i))
			}
		}
		return lost
	}
	x, y := run(), run()
	if len(x) == 0 || len(x) != len(y) {
		t.Fatalf("lost %v then %v", x, y)
	}
	for i := range x {
		if x[i] != y[i] {
			t.Fatalf("lost %v then %v", x, y)
		}
	}
}

func TestDeadlineAndClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, b := Pair(Config{})
		bufs, sizes := [][]byte{make([]byte, 100)}, []int{0}
		b.SetReadDeadline(time.Now().Add(-time.Second))
		if _, err := b.ReadBatch(bufs, sizes); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("past deadline: %v", err)
		}
		start := time.Now()
		b.SetReadDeadline(start.Add(50 * time.Millisecond))
		if _, err := b.ReadBatch(bufs, sizes); !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) != 50*time.Millisecond {
			t.Fatalf("deadline: %v after %v", err, time.Since(start))
		}
		// Moving the deadline wakes a blocked read.
		b.SetReadDeadline(time.Time{})
		done := make(chan error)
		go func() { _, err := b.ReadBatch(bufs, sizes); done <- err }()
		synctest.Wait()
		b.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		if err := <-done; !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("moved deadline: %v", err)
		}
		b.SetReadDeadline(time.Time{})
		go func() { _, err := b.ReadBatch(bufs, sizes); done <- err }()
		synctest.Wait()
		b.Close()
		if err := <-done; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("close: %v", err)
		}
		if _, err := b.WriteBatch([][]byte{pkt(0)}); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("write after close: %v", err)
		}
	})
}

func TestBoundedQueueBlocksWriter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := Pair(Config{QueueLen: 4})
		wrote := make(chan int)
		go func() {
			n, _ := a.WriteBatch([][]byte{pkt(0), pkt(1), pkt(2), pkt(3), pkt(4), pkt(5)})
			wrote <- n
		}()
		synctest.Wait()
		select {
		case n := <-wrote:
			t.Fatalf("wrote %d packets into a queue of 4", n)
		default:
		}
		got := readAll(t, b, 6)
		if n := <-wrote; n != 6 || len(got) != 6 || got[5] != 5 {
			t.Fatalf("wrote %d, read %v", n, got)
		}
		// A writer blocked on a full queue returns when the reader goes away.
		for range 4 {
			a.WriteBatch([][]byte{pkt(9)})
		}
		go func() { n, _ := a.WriteBatch([][]byte{pkt(10)}); wrote <- n }()
		synctest.Wait()
		b.Close()
		if n := <-wrote; n != 1 || a.TxStats().Discarded.Load() != 1 {
			t.Fatalf("wrote %d, discarded %d", n, a.TxStats().Discarded.Load())
		}
	})
}

// A held packet with no successor still arrives, ReorderHold later.
func TestReorderHoldReleasesLonePacket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := Pair(Config{Reorder: 1, ReorderHold: 5 * time.Millisecond})
		start := time.Now()
		a.WriteBatch([][]byte{pkt(7)})
		bufs, sizes := [][]byte{make([]byte, 100)}, []int{0}
		n, err := b.ReadBatch(bufs, sizes)
		if n != 1 || err != nil || time.Since(start) != 5*time.Millisecond {
			t.Fatalf("n=%d err=%v after %v", n, err, time.Since(start))
		}
	})
}

func TestOversizeRefused(t *testing.T) {
	a, _ := Pair(Config{PacketSize: 100})
	n, err := a.WriteBatch([][]byte{pkt(0), make([]byte, 81)})
	if n != 1 || !errors.Is(err, syscall.EMSGSIZE) {
		t.Fatalf("n=%d err=%v", n, err)
	}
}

func BenchmarkWriteRead(b *testing.B) {
	x, y := Pair(Config{Loss: 0.01, Reorder: 0.01})
	out := [][]byte{make([]byte, 1400)}
	bufs, sizes := [][]byte{make([]byte, 2048)}, []int{0}
	b.ReportAllocs()
	b.SetBytes(1400)
	for b.Loop() {
		x.WriteBatch(out)
		y.SetReadDeadline(time.Now().Add(time.Millisecond))
		y.ReadBatch(bufs, sizes)
	}
}
