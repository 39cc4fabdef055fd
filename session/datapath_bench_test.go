// SPDX-License-Identifier: MIT

package session

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.zx2c4.com/wireguard/tun"

	"github.com/pptp-go/pptp/gre"
	"github.com/pptp-go/pptp/mppe"
	"github.com/pptp-go/pptp/ppp"
)

// sendBatch is what RoutineReadFromTUN and its writer do with one batch, in one goroutine.
func (d *datapath) sendBatch(bufs [][]byte, sizes []int, out [][]byte) {
	if m, start := d.frameBatch(bufs, sizes, out); m > 0 {
		d.link.Write(out[:m], start)
	}
}

// The per-packet path of the built-in datapath, measured without the kernel: sendBatch
// (PPP framing, MPPE encryption in place, gre.Link.Write) into a PacketConn that discards, and a
// full round trip: sendBatch → an in-memory pipe (which adds the IPv4 header the raw socket
// would) → gre.Link.Receive (parse, reorder) → deliver (decrypt in place) → a TUN that counts.

const benchBatch = 64

type benchMode struct {
	name      string
	mppe      bool
	stateless bool
}

var benchModes = []benchMode{
	{"nomppe", false, false},
	{"stateless", true, true},
	{"stateful", true, false},
}

// countTUN is a tun.Device whose Write counts (and optionally checks) packets and wakes the
// benchmark loop; Read is never used (the benchmark calls sendBatch itself).
type countTUN struct {
	n      atomic.Int64
	notify chan struct{}
	check  func(p []byte) // test only: sees each packet written
	events chan tun.Event
}

func newCountTUN() *countTUN {
	return &countTUN{notify: make(chan struct{}, 1), events: make(chan tun.Event)}
}

func (t *countTUN) File() *os.File                                      { return nil }
func (t *countTUN) Read(bufs [][]byte, sizes []int, o int) (int, error) { return 0, os.ErrClosed }
func (t *countTUN) MTU() (int, error)                                   { return 1500, nil }
func (t *countTUN) Name() (string, error)                               { return "bench0", nil }
func (t *countTUN) Events() <-chan tun.Event                            { return t.events }
func (t *countTUN) Close() error                                        { return nil }
func (t *countTUN) BatchSize() int                                      { return benchBatch }
func (t *countTUN) Write(bufs [][]byte, offset int) (int, error) {
	if t.check != nil {
		for _, b := range bufs {
			t.check(b[offset:])
		}
	}
	t.n.Add(int64(len(bufs)))
	select {
	case t.notify <- struct{}{}:
	default:
	}
	return len(bufs), nil
}

// waitFor blocks until n packets in all were written.
func (t *countTUN) waitFor(n int64) {
	for t.n.Load() < n {
		<-t.notify
	}
}

// discardConn is a gre.PacketConn whose writes vanish and whose reads wait for Close.
type discardConn struct {
	sent   atomic.Int64
	closed chan struct{}
	once   sync.Once
}

func (c *discardConn) WriteBatch(bufs [][]byte) (int, error) {
	c.sent.Add(int64(len(bufs)))
	return len(bufs), nil
}
func (c *discardConn) ReadBatch(bufs [][]byte, sizes []int) (int, error) {
	<-c.closed
	return 0, os.ErrClosed
}
func (c *discardConn) SetReadDeadline(time.Time) error { return nil }
func (c *discardConn) Close() error                    { c.once.Do(func() { close(c.closed) }); return nil }

// pipeConn carries GRE packets one way without allocating: WriteBatch copies each packet,
// behind a 20-byte IPv4 header as a raw socket delivers it, into a ring slot and queues the
// slot's index to the reader. The ring has twice the queue's capacity, so a slot is never
// rewritten while the reader may still be copying it (the reader takes at most MaxBatch at a
// time, fewer than the queue holds). Read deadlines are ignored: the benchmark sends in order,
// so the reorder buffer never holds a packet that would need one.
type pipeConn struct {
	ring   [2 * pipeQueue][]byte
	sizes  [2 * pipeQueue]int
	w      int
	q      chan int
	closed chan struct{}
	once   sync.Once
}

const pipeQueue = 256

func newPipeConn() *pipeConn {
	p := &pipeConn{q: make(chan int, pipeQueue), closed: make(chan struct{})}
	for i := range p.ring {
		p.ring[i] = make([]byte, gre.DefaultPacketSize)
	}
	return p
}

var pipeSrc, pipeDst = netip.MustParseAddr("198.18.0.2").As4(), netip.MustParseAddr("198.18.0.1").As4()

func (p *pipeConn) WriteBatch(bufs [][]byte) (int, error) {
	for i, b := range bufs {
		s := p.ring[p.w]
		n := 20 + copy(s[20:], b)
		s[0], s[1], s[2], s[3] = 0x45, 0, byte(n>>8), byte(n)
		s[8], s[9] = 64, 47 // TTL, GRE
		copy(s[12:16], pipeSrc[:])
		copy(s[16:20], pipeDst[:])
		p.sizes[p.w] = n
		select {
		case p.q <- p.w:
		case <-p.closed:
			return i, os.ErrClosed
		}
		p.w = (p.w + 1) % len(p.ring)
	}
	return len(bufs), nil
}

func (p *pipeConn) ReadBatch(bufs [][]byte, sizes []int) (int, error) {
	var i int
	select {
	case i = <-p.q:
	case <-p.closed:
		return 0, os.ErrClosed
	}
	n := 0
	for {
		sizes[n] = copy(bufs[n], p.ring[i][:p.sizes[i]])
		n++
		if n == len(bufs) {
			return n, nil
		}
		select {
		case i = <-p.q:
		default:
			return n, nil
		}
	}
}

func (p *pipeConn) SetReadDeadline(time.Time) error { return nil }

// pipeReader is the receiving end: the receiver's own sends (lone acks, from its timer
// goroutine) vanish instead of racing the sender on the ring.
type pipeReader struct{ *pipeConn }

func (pipeReader) WriteBatch(bufs [][]byte) (int, error) { return len(bufs), nil }
func (p *pipeConn) Close() error                         { p.once.Do(func() { close(p.closed) }); return nil }

type nopLower struct{}

func (nopLower) SendFrame([]byte) error { return nil }

// newBenchDatapath returns a datapath that is up, over pc, with the mode's crypto.
func newBenchDatapath(tb testing.TB, m benchMode, pc gre.PacketConn, local, peer uint16, dev tun.Device, rx bool) (*datapath, *gre.Link) {
	tb.Helper()
	link := gre.NewLinkOn(pc, gre.LinkConfig{LocalCallID: local, PeerCallID: peer})
	d := &datapath{dev: dev, link: link, logf: tb.Logf, up: make(chan struct{})}
	d.engine = ppp.NewEngine(ppp.Config{}, nopLower{}) // never run: deliver only pokes it
	st := &cryptoState{acfc: false}
	if m.mppe {
		key := bytes.Repeat([]byte{0x5A}, 16) // both directions share it here; only cost matters
		var err error
		if rx {
			st.dec, err = mppe.NewDecrypter(key, 128, m.stateless)
		} else {
			st.enc, err = mppe.NewEncrypter(key, 128, m.stateless)
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
	d.setUp(st)
	return d, link
}

// benchTx is a batch of IPv4 packets at TunOffset, as RoutineReadFromTUN reads them.
type benchTx struct {
	bufs  [][]byte
	sizes []int
	out   [][]byte
	tmpl  []byte
}

func newBenchTx(size int) *benchTx {
	tb := &benchTx{bufs: make([][]byte, benchBatch), sizes: make([]int, benchBatch), out: make([][]byte, benchBatch)}
	tb.tmpl = make([]byte, size)
	for i := range tb.tmpl {
		tb.tmpl[i] = byte(i * 7)
	}
	tb.tmpl[0], tb.tmpl[2], tb.tmpl[3] = 0x45, byte(size>>8), byte(size)
	tb.tmpl[10], tb.tmpl[11] = 0, 0
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(tb.tmpl[i])<<8 | uint32(tb.tmpl[i+1])
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	tb.tmpl[10], tb.tmpl[11] = ^byte(sum>>8), ^byte(sum) // the receiver checks the header
	for i := range tb.bufs {
		tb.bufs[i] = make([]byte, bufSize+TunOffset)
		tb.sizes[i] = size
		copy(tb.bufs[i][TunOffset:], tb.tmpl)
	}
	return tb
}

// refill restores what encryption in place scrambled: the whole packet when check is set
// (tests compare the bytes), else only the 20-byte IP header that sendBatch and the
// receiver's check look at (the cost of RC4 does not depend on the bytes, and copying the
// payload would add work the TUN read does).
func (tb *benchTx) refill(full bool) {
	for _, b := range tb.bufs {
		if full {
			copy(b[TunOffset:], tb.tmpl)
		} else {
			copy(b[TunOffset:TunOffset+20], tb.tmpl)
		}
	}
}

// pair is a sender datapath piped into a receiver datapath whose Receive runs in a goroutine.
type pair struct {
	tx, rx   *datapath
	txl, rxl *gre.Link
	dev      *countTUN
	batch    *benchTx
	sent     int64
	done     chan struct{}
}

func newPair(tb testing.TB, m benchMode, size int) *pair {
	pc := newPipeConn()
	p := &pair{dev: newCountTUN(), batch: newBenchTx(size), done: make(chan struct{})}
	p.tx, p.txl = newBenchDatapath(tb, m, pc, 1, 2, newCountTUN(), false)
	p.rx, p.rxl = newBenchDatapath(tb, m, pipeReader{pc}, 2, 1, p.dev, true)
	go func() {
		defer close(p.done)
		out := make([][]byte, 0, 128)
		p.rxl.Receive(func(bufs [][]byte, offs []int) { out = p.rx.deliver(bufs, offs, out) })
	}()
	tb.Cleanup(func() {
		p.rxl.Close()
		p.txl.Close()
		<-p.done
	})
	return p
}

// roundTrip sends one batch and waits until the receiver wrote it to its TUN.
func (p *pair) roundTrip(full bool) {
	p.batch.refill(full)
	p.tx.sendBatch(p.batch.bufs, p.batch.sizes, p.batch.out)
	p.sent += benchBatch
	p.dev.waitFor(p.sent)
}

func TestDatapathRoundTrip(t *testing.T) {
	for _, m := range benchModes {
		for _, size := range []int{20, 64, 1400} {
			t.Run(fmt.Sprintf("%s/%d", m.name, size), func(t *testing.T) {
				p := newPair(t, m, size)
				var bad atomic.Int64
				p.dev.check = func(b []byte) {
					if !bytes.Equal(b, p.batch.tmpl) {
						bad.Add(1)
					}
				}
				// 600 batches: past several stateful rekeys (every 256 packets) and a wrap
				// of the pipe's ring.
				for range 600 {
					p.roundTrip(true)
				}
				if n := bad.Load(); n != 0 {
					t.Fatalf("%d of %d packets arrived changed", n, p.sent)
				}
				if got := p.rx.stats.RxPackets.Load(); got != uint64(p.sent) {
					t.Fatalf("receiver delivered %d packets, want %d", got, p.sent)
				}
				if e := p.rx.stats.RxDecryptErrors.Load(); e != 0 {
					t.Fatalf("%d decrypt errors", e)
				}
			})
		}
	}
}

// TestDatapathNoAllocs fails if the steady-state per-packet path allocates, in either
// direction: the sender's framing, encryption and GRE write, and the receiver's GRE parse,
// reorder, decryption and TUN write (AllocsPerRun counts every goroutine's allocations).
func TestDatapathNoAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts need a quiet runtime")
	}
	for _, m := range benchModes {
		t.Run(m.name, func(t *testing.T) {
			p := newPair(t, m, 1400)
			for range 20 { // warm up: first-use allocations (timers, runtime) are not per packet
				p.roundTrip(false)
			}
			if a := testing.AllocsPerRun(200, func() { p.roundTrip(false) }); a != 0 {
				t.Errorf("%v allocations per batch of %d packets, want 0", a, benchBatch)
			}
			tx := newBenchTx(1400)
			d, _ := newBenchDatapath(t, m, &discardConn{closed: make(chan struct{})}, 1, 2, newCountTUN(), false)
			if a := testing.AllocsPerRun(200, func() {
				tx.refill(false)
				d.sendBatch(tx.bufs, tx.sizes, tx.out)
			}); a != 0 {
				t.Errorf("sendBatch: %v allocations per batch, want 0", a)
			}
		})
	}
}

// BenchmarkDatapathSend: one op is one batch of 64 packets through sendBatch into a
// discarding conn (PPP framing, MPPE in place, GRE header, one WriteBatch).
func BenchmarkDatapathSend(b *testing.B) {
	for _, m := range benchModes {
		for _, size := range []int{64, 1400} {
			b.Run(fmt.Sprintf("%s/%d", m.name, size), func(b *testing.B) {
				conn := &discardConn{closed: make(chan struct{})}
				d, link := newBenchDatapath(b, m, conn, 1, 2, newCountTUN(), false)
				defer link.Close()
				tx := newBenchTx(size)
				b.ReportAllocs()
				b.SetBytes(int64(benchBatch * size))
				for b.Loop() {
					tx.refill(false)
					d.sendBatch(tx.bufs, tx.sizes, tx.out)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchBatch), "ns/pkt")
				if got := conn.sent.Load(); got < int64(b.N*benchBatch) {
					b.Fatalf("sent %d packets, want %d", got, b.N*benchBatch)
				}
			})
		}
	}
}

// BenchmarkDatapathRoundTrip: one op is one batch of 64 packets from the sender's sendBatch
// to the receiver's TUN write (both directions' per-packet work, plus one goroutine hand-off
// per batch); the receive side alone costs about RoundTrip − Send.
func BenchmarkDatapathRoundTrip(b *testing.B) {
	for _, m := range benchModes {
		for _, size := range []int{64, 1400} {
			b.Run(fmt.Sprintf("%s/%d", m.name, size), func(b *testing.B) {
				p := newPair(b, m, size)
				b.ReportAllocs()
				b.SetBytes(int64(benchBatch * size))
				for b.Loop() {
					p.roundTrip(false)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchBatch), "ns/pkt")
			})
		}
	}
}

// A decrypted packet whose IPv4 header checksum fails (a key out of step, or corruption) is
// counted and never written to the TUN; its neighbours in the batch still are.
func TestDatapathDropsBadIPv4Header(t *testing.T) {
	for _, m := range benchModes[1:] {
		t.Run(m.name, func(t *testing.T) {
			p := newPair(t, m, 64)
			p.roundTrip(true)
			p.batch.refill(true)
			p.batch.bufs[3][TunOffset+12] ^= 0x01 // source address: the checksum no longer fits
			p.tx.sendBatch(p.batch.bufs, p.batch.sizes, p.batch.out)
			p.sent += benchBatch - 1
			p.dev.waitFor(p.sent)
			p.roundTrip(true) // a later batch is delivered whole: nothing else was lost
			if got, bad := p.dev.n.Load(), p.rx.stats.RxBadIP.Load(); got != p.sent || bad != 1 {
				t.Fatalf("TUN got %d packets (want %d), RxBadIP %d (want 1)", got, p.sent, bad)
			}
		})
	}
}

// setIPv4Source rewrites a packet's source address and its header checksum.
func setIPv4Source(p []byte, src netip.Addr) {
	a := src.As4()
	copy(p[12:16], a[:])
	p[10], p[11] = 0, 0
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(p[i])<<8 | uint32(p[i+1])
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	p[10], p[11] = ^byte(sum>>8), ^byte(sum)
}

// The server's receiver passes only packets whose IPv4 source is the address the client was
// given (or inside a routed subnet); the others are counted and dropped, in every mode.
func TestDatapathAntiSpoofing(t *testing.T) {
	peer := netip.MustParseAddr("84.91.98.105") // the template's source
	for _, m := range benchModes {
		t.Run(m.name, func(t *testing.T) {
			p := newPair(t, m, 64)
			st := *p.rx.state.Load()
			st.src = peer
			st.routed = []netip.Prefix{netip.MustParsePrefix("192.168.77.0/24")}
			p.rx.setUp(&st)
			p.roundTrip(true)
			p.batch.refill(true)
			spoofed := []string{"10.99.0.7", "127.0.0.1", "192.168.78.1", "84.91.98.104"}
			for i, a := range spoofed {
				setIPv4Source(p.batch.bufs[i][TunOffset:], netip.MustParseAddr(a))
			}
			setIPv4Source(p.batch.bufs[10][TunOffset:], netip.MustParseAddr("192.168.77.9")) // routed: passes
			p.tx.sendBatch(p.batch.bufs, p.batch.sizes, p.batch.out)
			p.sent += benchBatch - int64(len(spoofed))
			p.dev.waitFor(p.sent)
			p.roundTrip(true)
			if got, bad := p.dev.n.Load(), p.rx.stats.RxSpoofed.Load(); got != p.sent || bad != uint64(len(spoofed)) {
				t.Fatalf("TUN got %d packets (want %d), RxSpoofed %d (want %d)", got, p.sent, bad, len(spoofed))
			}
		})
	}
}

// Once the network layer is down the datapath carries nothing either way, even with the
// old keys still at hand.
func TestDatapathStopsWhenDown(t *testing.T) {
	p := newPair(t, benchModes[1], 64)
	p.roundTrip(true)
	p.rx.setDown()
	p.tx.setDown()
	p.batch.refill(true)
	m, _ := p.tx.frameBatch(p.batch.bufs, p.batch.sizes, p.batch.out)
	if m != 0 {
		t.Fatalf("sender framed %d packets after Down", m)
	}
	// Packets framed before Down still reach the receiver: it must drop them.
	q := newPair(t, benchModes[1], 64)
	q.roundTrip(true)
	q.rx.setDown()
	q.batch.refill(true)
	q.tx.sendBatch(q.batch.bufs, q.batch.sizes, q.batch.out)
	deadline := time.Now().Add(5 * time.Second)
	for q.rx.stats.RxDown.Load() < benchBatch && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := q.rx.stats.RxDown.Load(); n != benchBatch || q.dev.n.Load() != benchBatch {
		t.Fatalf("after Down: %d dropped (want %d), TUN has %d (want %d)", n, benchBatch, q.dev.n.Load(), benchBatch)
	}
}
