// SPDX-License-Identifier: MIT

package gre

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	callA = 0x1111
	callB = 0x2222
	txOff = 32 // like session.TunOffset
)

// endpoint is a Link plus a receiver that checks frame contents: every
// frame carries its sender's counter in bytes 0..3 and a pattern after.
type endpoint struct {
	link   *Link
	got    atomic.Uint64 // frames received
	bad    atomic.Uint64 // frames out of order or corrupt
	expect uint32        // next counter (Receive goroutine only)
	done   chan error
}

func startEndpoint(tb testing.TB, c CallConn, local, peer uint16, cfg LinkConfig) *endpoint {
	cfg.LocalCallID, cfg.PeerCallID = local, peer
	e := &endpoint{link: NewLink(c, cfg), done: make(chan error, 1)}
	go func() {
		e.done <- e.link.Receive(func(bufs [][]byte, offs []int) {
			for i, b := range bufs {
				if offs[i] < 32 {
					e.bad.Add(1)
				}
				f := b[offs[i]:]
				if len(f) < 4 || binary.BigEndian.Uint32(f) != e.expect || !checkPattern(f) {
					e.bad.Add(1)
				}
				e.expect = binary.BigEndian.Uint32(f) + 1
				e.got.Add(1)
			}
		})
	}()
	tb.Cleanup(func() {
		e.link.Close()
		if err := <-e.done; err != nil {
			tb.Errorf("Receive: %v", err)
		}
	})
	return e
}

func checkPattern(f []byte) bool {
	for i := 4; i < len(f); i++ {
		if f[i] != byte(i) {
			return false
		}
	}
	return true
}

// sender prepares batches of frames with headroom.
type sender struct {
	bufs [][]byte
	next uint32
}

func newSender(batch, size int) *sender {
	s := &sender{bufs: make([][]byte, batch)}
	for i := range s.bufs {
		b := make([]byte, txOff+size)
		for j := 4; j < size; j++ {
			b[txOff+j] = byte(j)
		}
		s.bufs[i] = b
	}
	return s
}

func (s *sender) fill(n int) [][]byte {
	for _, b := range s.bufs[:n] {
		binary.BigEndian.PutUint32(b[txOff:], s.next)
		s.next++
	}
	return s.bufs[:n]
}

func waitFor(tb testing.TB, what string, cond func() bool, eps ...*endpoint) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			for _, e := range eps {
				tb.Logf("got %d bad %d\n%v", e.got.Load(), e.bad.Load(), e.link.Stats())
			}
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// pump sends total frames from s through link in batches, keeping at most
// inflight frames ahead of what the peer received (the test checks order
// and integrity, not loss under overload).
func pump(tb testing.TB, link *Link, s *sender, peer *endpoint, total int, inflight uint64) {
	for sent := 0; sent < total; {
		for uint64(sent)-peer.got.Load() > inflight {
			time.Sleep(100 * time.Microsecond)
		}
		bufs := s.fill(min(len(s.bufs), total-sent))
		if n, err := link.Write(bufs, txOff); err != nil || n != len(bufs) {
			tb.Errorf("Write = %d, %v", n, err)
			return
		}
		sent += len(bufs)
	}
}

// bothModes runs a test with polled and with blocking sockets (and, so that
// the blocking send path runs too, the fast path on).
func bothModes(t *testing.T, test func(t *testing.T, opt Options)) {
	t.Run("polled", func(t *testing.T) { test(t, Options{}) })
	t.Run("blocking", func(t *testing.T) { test(t, Options{Blocking: true, FastPath: true}) })
}

// with returns opt with CallID set.
func with(opt Options, callID uint16) Options {
	opt.CallID = callID
	return opt
}

func TestLinkBothWays(t *testing.T) {
	families(t, func(t *testing.T, pair func(testing.TB) *nsPair) {
		bothModes(t, func(t *testing.T, opt Options) { testLinkBothWays(t, pair(t), opt) })
	})
}

func testLinkBothWays(t *testing.T, p *nsPair, opt Options) {
	a := startEndpoint(t, dialIn(t, p.a, p.addrB, with(opt, callA)), callA, callB, LinkConfig{})
	b := startEndpoint(t, dialIn(t, p.b, p.addrA, with(opt, callB)), callB, callA, LinkConfig{})

	const total = 10000
	start := time.Now()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); pump(t, a.link, newSender(64, 1400), b, total, 1024) }()
	// B writes batches larger than MaxBatch: Write must split them.
	go func() { defer wg.Done(); pump(t, b.link, newSender(200, 300), a, total, 1024) }()
	wg.Wait()
	waitFor(t, "all frames", func() bool { return a.got.Load() == total && b.got.Load() == total }, a, b)
	t.Logf("%d frames each way in %v", total, time.Since(start))
	for name, e := range map[string]*endpoint{"A": a, "B": b} {
		s := e.link.Stats()
		t.Logf("%s:\n%v", name, s)
		if e.bad.Load() != 0 {
			t.Errorf("%s: %d frames out of order or corrupt", name, e.bad.Load())
		}
		if s.RxAccepted.Load() != total || s.TxSent.Load() < total || s.RxAcks.Load() == 0 {
			t.Errorf("%s: counters wrong", name)
		}
		if s.RxInvalid.Load()+s.RxTruncated.Load()+s.RxUnderWin.Load()+s.TxFailed.Load() != 0 {
			t.Errorf("%s: unexpected drops", name)
		}
		if s.RTT.Load() <= 0 {
			t.Errorf("%s: no RTT estimate", name)
		}
	}
}

func TestLinkLoneAcks(t *testing.T) {
	p := newNSPair(t)
	a := startEndpoint(t, dialIn(t, p.a, p.addrB, Options{CallID: callA}), callA, callB, LinkConfig{})
	b := startEndpoint(t, dialIn(t, p.b, p.addrA, Options{CallID: callB}), callB, callA, LinkConfig{AckDelay: 5 * time.Millisecond})

	// Only A sends, so B can only acknowledge with ack-only packets.
	const total = 10000
	pump(t, a.link, newSender(64, 1000), b, total, 1024)
	waitFor(t, "all frames", func() bool { return b.got.Load() == total }, a, b)
	// A numbers from 1, so the final ack is total; it must go out on its
	// own (B has no data to piggyback it on) and arrive at A.
	waitFor(t, "final ack", func() bool {
		b.link.tx.Lock()
		defer b.link.tx.Unlock()
		return b.link.tx.ackSent == total && b.link.tx.ackSentOK
	}, a, b)
	waitFor(t, "acks at A", func() bool {
		return a.link.Stats().RxAcks.Load() == b.link.Stats().TxAcks.Load()
	}, a, b)
	acks := b.link.Stats().TxAcks.Load()
	t.Logf("%d lone acks for %d packets", acks, total)
	if acks > total/10 {
		t.Errorf("%d ack-only packets for %d data packets: acks must be batched", acks, total)
	}
	if a.link.Stats().TxAcks.Load() != 0 || b.bad.Load() != 0 {
		t.Errorf("A sent lone acks without receiving data, or B got bad frames")
	}
}

func TestConnCallIDFilter(t *testing.T) {
	families(t, func(t *testing.T, pair func(testing.TB) *nsPair) { testConnCallIDFilter(t, pair(t)) })
}

func testConnCallIDFilter(t *testing.T, p *nsPair) {
	// The sender also exercises bind and SO_MARK.
	tx := dialIn(t, p.a, p.addrB, Options{Local: p.addrA, Mark: 7})
	if tx.LocalAddr() != p.addrA || tx.RemoteAddr() != p.addrB {
		t.Fatalf("addresses %v -> %v", tx.LocalAddr(), tx.RemoteAddr())
	}
	filtered := dialIn(t, p.b, p.addrA, Options{CallID: callB})
	all := dialIn(t, p.b, p.addrA, Options{})

	var pkts [][]byte
	for i := range 20 {
		id := uint16(callB)
		if i%2 == 1 {
			id = 0x3333
		}
		f := Fields{CallID: id, PayloadLen: 4, Seq: uint32(i), HasSeq: true}
		b := make([]byte, f.Len()+4)
		f.Encode(b)
		pkts = append(pkts, b)
	}
	if n, err := tx.WriteBatch(pkts); n != len(pkts) || err != nil {
		t.Fatalf("WriteBatch = %d, %v", n, err)
	}
	count := func(c *Conn) map[uint16]int {
		ids := map[uint16]int{}
		bufs, sizes := make([][]byte, 32), make([]int, 32)
		for i := range bufs {
			bufs[i] = make([]byte, 2048)
		}
		for {
			c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			n, err := c.ReadBatch(bufs, sizes)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return ids
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range n {
				off, end, _ := greSpan(bufs[i][:sizes[i]], p.addrA.Is4())
				h, _, err := Parse(bufs[i][off:end])
				if err != nil {
					t.Fatal(err)
				}
				ids[h.CallID()]++
			}
		}
	}
	if got := count(filtered); got[callB] != 10 || len(got) != 1 {
		t.Errorf("filtered socket got %v, want only 10 × %#x", got, callB)
	}
	if got := count(all); got[callB] != 10 || got[0x3333] != 10 {
		t.Errorf("unfiltered socket got %v", got)
	}
}

func TestLinkDropsOtherCallIDs(t *testing.T) {
	// Without the kernel filter the Link itself must ignore other calls.
	p := newNSPair(t)
	tx := startEndpoint(t, dialIn(t, p.a, p.addrB, Options{}), callA, 0x3333, LinkConfig{})
	rx := startEndpoint(t, dialIn(t, p.b, p.addrA, Options{}), callB, callA, LinkConfig{})
	s := newSender(8, 100)
	tx.link.Write(s.fill(len(s.bufs)), txOff)
	time.Sleep(100 * time.Millisecond)
	st := rx.link.Stats()
	if rx.got.Load() != 0 || st.RxInvalid.Load() != 0 || st.RxAccepted.Load() != 0 {
		t.Fatalf("other call's packets were not dropped silently:\n%v", st)
	}
}

func TestLinkAllocs(t *testing.T) {
	families(t, func(t *testing.T, pair func(testing.TB) *nsPair) {
		bothModes(t, func(t *testing.T, opt Options) { testLinkAllocs(t, pair(t), opt) })
	})
}

func testLinkAllocs(t *testing.T, p *nsPair, opt Options) {
	a := startEndpoint(t, dialIn(t, p.a, p.addrB, with(opt, callA)), callA, callB, LinkConfig{})
	b := startEndpoint(t, dialIn(t, p.b, p.addrA, with(opt, callB)), callB, callA, LinkConfig{})
	checkSteadyAllocs(t, a, b)
}

// checkSteadyAllocs sends batches both ways between a and b after a warm-up and fails if
// that allocates. AllocsPerRun counts every goroutine's allocations, so this covers Write
// on both sides and both receive loops (and a Mux's reader) at once.
func checkSteadyAllocs(t *testing.T, a, b *endpoint) {
	sa, sb := newSender(64, 1400), newSender(64, 1400)
	// Warm up both directions (timers, poller registration, deadlines).
	pump(t, a.link, sa, b, 64*20, 512)
	pump(t, b.link, sb, a, 64*20, 512)
	// A veth under load may drop a packet now and then: the warm-up needs most, not all.
	waitFor(t, "warm-up", func() bool { return a.got.Load() >= 64*19 && b.got.Load() >= 64*19 })
	n := testing.AllocsPerRun(200, func() {
		// Wait below for the batch both ways, but not for a packet the veth dropped.
		wantA, wantB := a.got.Load()+60, b.got.Load()+60
		if _, err := a.link.Write(sa.fill(64), txOff); err != nil {
			t.Fatal(err)
		}
		if _, err := b.link.Write(sb.fill(64), txOff); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(time.Second)
		for (a.got.Load() < wantA || b.got.Load() < wantB) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Microsecond)
		}
	})
	if n != 0 {
		t.Fatalf("steady state allocs per batch = %v", n)
	}
}

func BenchmarkLinkWrite(b *testing.B) {
	p := newNSPair(b)
	tx := startEndpoint(b, dialIn(b, p.a, p.addrB, Options{CallID: callA}), callA, callB, LinkConfig{})
	rx := startEndpoint(b, dialIn(b, p.b, p.addrA, Options{CallID: callB}), callB, callA, LinkConfig{})
	s := newSender(64, 1400)
	b.ReportAllocs()
	b.SetBytes(64 * 1400)
	start := time.Now()
	for b.Loop() {
		sent := uint64(s.next)
		for sent-rx.got.Load() > 1024 {
			time.Sleep(20 * time.Microsecond)
		}
		if _, err := tx.link.Write(s.fill(len(s.bufs)), txOff); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rx.got.Load())/time.Since(start).Seconds(), "rx-pkts/s")
	b.ReportMetric(float64(s.next)/time.Since(start).Seconds(), "tx-pkts/s")
}

func TestLinkReorderTimeout(t *testing.T) { bothModes(t, testLinkReorderTimeout) }

func testLinkReorderTimeout(t *testing.T, opt Options) {
	p := newNSPair(t)
	raw := dialIn(t, p.a, p.addrB, opt)
	rx := startEndpoint(t, dialIn(t, p.b, p.addrA, with(opt, callB)), callB, callA,
		LinkConfig{Reorder: ReorderConfig{Timeout: 50 * time.Millisecond}})
	send := func(seqs ...uint32) {
		var pkts [][]byte
		for _, seq := range seqs {
			f := Fields{CallID: callB, PayloadLen: 4, Seq: seq, HasSeq: true}
			b := make([]byte, f.Len()+4)
			f.Encode(b)
			binary.BigEndian.PutUint32(b[f.Len():], seq)
			pkts = append(pkts, b)
		}
		if _, err := raw.WriteBatch(pkts); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	send(0xFFFFFFFF, 1, 2) // 0 missing, across the wrap
	waitFor(t, "first frame", func() bool { return rx.got.Load() >= 1 }, rx)
	if rx.got.Load() != 1 {
		t.Fatalf("delivered %d frames before the gap timed out", rx.got.Load())
	}
	// Only the read deadline can wake the receiver now: nothing else arrives.
	waitFor(t, "held frames", func() bool { return rx.got.Load() == 3 }, rx)
	if d := time.Since(start); d < 50*time.Millisecond || d > 2*time.Second {
		t.Errorf("held frames delivered after %v, want the 50ms hold time", d)
	}
	send(0) // the gap arrives too late
	send(3)
	waitFor(t, "last frame", func() bool { return rx.got.Load() == 4 }, rx)
	st := rx.link.Stats()
	if st.RxLost.Load() != 1 || st.RxUnderWin.Load() != 1 || st.RxBuffered.Load() != 2 || st.RxAccepted.Load() != 4 {
		t.Errorf("counters:\n%v", st)
	}
}

func TestLinkConcurrentWriters(t *testing.T) {
	p := newNSPair(t)
	a := startEndpoint(t, dialIn(t, p.a, p.addrB, Options{CallID: callA}), callA, callB, LinkConfig{})
	b := startEndpoint(t, dialIn(t, p.b, p.addrA, Options{CallID: callB}), callB, callA, LinkConfig{})
	const writers, each, batch = 4, 2500, 25
	var wg sync.WaitGroup
	var sent atomic.Uint64
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Frames of different writers interleave, so B's content
			// check is meaningless here; sequence numbers must not be.
			s := newSender(batch, 500)
			for range each / batch {
				// Bounded flow control: a lost packet must fail the test, not hang it.
				deadline := time.Now().Add(10 * time.Second)
				for sent.Load() > b.got.Load()+256 {
					if time.Now().After(deadline) {
						t.Errorf("receiver stuck at %d of %d sent frames:\n%v", b.got.Load(), sent.Load(), b.link.Stats())
						return
					}
					time.Sleep(100 * time.Microsecond)
				}
				sent.Add(batch)
				if _, err := a.link.Write(s.fill(batch), txOff); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	waitFor(t, "all frames", func() bool { return b.got.Load() == writers*each }, a, b)
	st := b.link.Stats()
	if st.RxAccepted.Load() != writers*each || st.RxLost.Load()+st.RxUnderWin.Load()+st.RxBuffered.Load() != 0 {
		t.Fatalf("sequence numbers not unique and in send order:\n%v", st)
	}
}

// Close wakes a ReadBatch waiting with no deadline, in either mode, and a
// ReadBatch after Close fails at once.
func TestConnCloseUnblocksRead(t *testing.T) { bothModes(t, testConnCloseUnblocksRead) }

func testConnCloseUnblocksRead(t *testing.T, opt Options) {
	p := newNSPair(t)
	checkCloseUnblocksRead(t, dialIn(t, p.a, p.addrB, opt))
}

func checkCloseUnblocksRead(t *testing.T, c PacketConn) {
	buf := make([]byte, 2048)
	done := make(chan error, 1)
	go func() {
		_, err := c.ReadBatch([][]byte{buf}, []int{0})
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // let it wait in the kernel or the poller
	select {
	case err := <-done:
		t.Fatalf("ReadBatch returned before Close: %v", err)
	default:
	}
	start := time.Now()
	c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) && !errors.Is(err, os.ErrClosed) {
			t.Errorf("ReadBatch after Close: %v", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("ReadBatch returned %v after Close", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadBatch still waiting 5 s after Close")
	}
	if _, err := c.ReadBatch([][]byte{buf}, []int{0}); err == nil {
		t.Error("ReadBatch after Close succeeded")
	}
	if _, err := c.WriteBatch([][]byte{make([]byte, 16)}); err == nil {
		t.Error("WriteBatch after Close succeeded")
	}
}

// The window a Conn advertises must fit its receive queue: a peer that sends a whole
// window while we do not read loses nothing. Four windows must not fit, or the test would
// not show that the buffer is the limit.
func TestRecvWindowFitsBuffer(t *testing.T) {
	p := newNSPair(t)
	const frame = 1500 - 20 - 16 // the longest frame a 1500-byte path carries
	a := dialIn(t, p.a, p.addrB, Options{CallID: callA, FastPath: true})
	link := NewLink(a, LinkConfig{LocalCallID: callA, PeerCallID: callB})
	t.Cleanup(func() { link.Close() })
	s := newSender(MaxBatch, frame)
	for _, size := range []int{48 << 10, 200 << 10} {
		b := dialIn(t, p.b, p.addrA, Options{CallID: callB, BufferBytes: size})
		w := int(b.RecvWindow(4096))
		if w >= 4096 || w < 8 {
			t.Fatalf("buffer %d: window %d", b.rcvbuf, w)
		}
		burst := func(n int) int {
			for sent := 0; sent < n; {
				bufs := s.fill(min(len(s.bufs), n-sent))
				if m, err := link.Write(bufs, txOff); err != nil || m != len(bufs) {
					t.Fatalf("Write = %d, %v", m, err)
				}
				sent += len(bufs)
			}
			got := 0
			rb := make([][]byte, MaxBatch)
			for i := range rb {
				rb[i] = make([]byte, 2048)
			}
			sizes := make([]int, MaxBatch)
			for {
				b.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
				m, err := b.ReadBatch(rb, sizes)
				got += m
				if errors.Is(err, os.ErrDeadlineExceeded) {
					return got
				}
				if err != nil {
					t.Fatalf("ReadBatch: %v", err)
				}
			}
		}
		if got := burst(w); got != w {
			t.Errorf("buffer %d: window %d, %d of a window's burst queued", b.rcvbuf, w, got)
		}
		got := burst(4 * w)
		if got >= 4*w {
			t.Errorf("buffer %d: all of 4 windows (%d) queued; the buffer is not the limit", b.rcvbuf, 4*w)
		}
		t.Logf("buffer %d: window %d; 4 windows: %d queued, %d bytes each", b.rcvbuf, w, got, b.rcvbuf/max(got, 1))
		b.Close()
	}
}
