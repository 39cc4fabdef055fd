// SPDX-License-Identifier: MIT

// Package lossylink is an in-memory point-to-point link for RFC 2637 §4 GRE packets with
// configurable loss and reordering, so that the datapath (gre.Link, PPP, MPPE) can be tested
// under impairment without a kernel netem. Each end is a gre.PacketConn: writes take GRE
// packets, reads return them behind a minimal RFC 791 IPv4 header, as a raw GRE socket does.
//
// Decisions come from a seeded PCG generator per direction, so a single-writer run drops and
// reorders the same packets every time. Queues are bounded: a writer waits for room, as a
// socket with a full send buffer does, so the only losses are the configured ones.
package lossylink

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults for Config.
const (
	DefaultQueueLen    = 1024
	DefaultPacketSize  = 2048
	DefaultReorderHold = 2 * time.Millisecond

	ipv4HeaderLen = 20
	protoGRE      = 47
)

// Addresses in the IPv4 headers (RFC 5737 documentation range): end A and end B.
var (
	AddrA = netip.AddrFrom4([4]byte{192, 0, 2, 1})
	AddrB = netip.AddrFrom4([4]byte{192, 0, 2, 2})
)

// Config sets the impairment of one direction (Pair applies it to both).
type Config struct {
	Loss    float64 // probability that a packet is dropped
	Reorder float64 // probability that a packet is held back and delivered after the next one
	// ReorderHold is the longest a held packet waits for a successor before it is delivered
	// anyway (a lone last packet must not be lost), default DefaultReorderHold.
	ReorderHold time.Duration
	Seed        uint64 // generator seed; the two directions use Seed and Seed+1
	QueueLen    int    // packets buffered per direction, default DefaultQueueLen
	PacketSize  int    // largest IPv4 packet, default DefaultPacketSize; longer writes fail with EMSGSIZE
	// Drop, when set, is asked about every packet that survived the random loss and drops it
	// when it returns true; it sees the GRE packet and must not keep it. Called with the
	// direction's lock held, one packet at a time.
	Drop func(gre []byte) bool
	// Lost, when set, sees every packet dropped by Loss or Drop (tests classify what was
	// lost). Same calling rules as Drop.
	Lost func(gre []byte)
}

func (c Config) withDefaults() Config {
	if c.ReorderHold <= 0 {
		c.ReorderHold = DefaultReorderHold
	}
	if c.QueueLen <= 0 {
		c.QueueLen = DefaultQueueLen
	}
	if c.PacketSize <= 0 {
		c.PacketSize = DefaultPacketSize
	}
	return c
}

// Stats counts what happened to the packets written into one direction.
type Stats struct {
	Sent      atomic.Uint64 // accepted by WriteBatch
	Lost      atomic.Uint64 // dropped by Loss or Drop
	Reordered atomic.Uint64 // delivered after their successor
	Delivered atomic.Uint64 // returned by the peer's ReadBatch
	Discarded atomic.Uint64 // written after the peer closed
}

// pipe is one direction: a bounded FIFO of packet slots plus the held-back packet.
type pipe struct {
	cfg  Config
	src  [4]byte
	dst  [4]byte
	st   Stats
	wake chan struct{} // cap 1: the reader may have something to read

	mu      sync.Mutex
	rnd     *rand.Rand
	slots   [][]byte // free packet buffers (cap PacketSize)
	ring    [][]byte // queued packets, IPv4 header included
	head, n int
	held    []byte // a packet waiting for its successor (reorder)
	hold    *time.Timer
	space   chan struct{} // closed when slots are freed; nil unless a writer waits
	id      uint16        // IPv4 identification

	rxClosed <-chan struct{} // the reading end's
}

func newPipe(cfg Config, seed uint64, src, dst netip.Addr, rxClosed <-chan struct{}) *pipe {
	p := &pipe{
		cfg: cfg, src: src.As4(), dst: dst.As4(), wake: make(chan struct{}, 1),
		rnd:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		ring:     make([][]byte, cfg.QueueLen),
		slots:    make([][]byte, 0, cfg.QueueLen),
		rxClosed: rxClosed,
	}
	mem := make([]byte, cfg.QueueLen*cfg.PacketSize)
	for i := range cfg.QueueLen {
		p.slots = append(p.slots, mem[i*cfg.PacketSize:(i+1)*cfg.PacketSize:(i+1)*cfg.PacketSize])
	}
	p.hold = time.AfterFunc(time.Hour, p.releaseHeld)
	p.hold.Stop()
	return p
}

// Conn is one end of a Pair; it implements gre.PacketConn.
type Conn struct {
	tx, rx *pipe

	closeOnce sync.Once
	closed    chan struct{}

	rmu      sync.Mutex // one ReadBatch at a time; guards timer
	timer    *time.Timer
	dl       atomic.Int64  // read deadline, UnixNano; 0 = none
	dlChange chan struct{} // cap 1: the deadline moved
}

// Pair returns the two ends of a link impaired in both directions by cfg; a's packets carry
// AddrA as source, b's AddrB.
func Pair(cfg Config) (a, b *Conn) {
	cfg = cfg.withDefaults()
	a = &Conn{closed: make(chan struct{}), dlChange: make(chan struct{}, 1)}
	b = &Conn{closed: make(chan struct{}), dlChange: make(chan struct{}, 1)}
	a.tx = newPipe(cfg, cfg.Seed, AddrA, AddrB, b.closed)
	b.tx = newPipe(cfg, cfg.Seed+1, AddrB, AddrA, a.closed)
	a.rx, b.rx = b.tx, a.tx
	for _, c := range []*Conn{a, b} {
		c.timer = time.NewTimer(time.Hour)
		c.timer.Stop()
	}
	return a, b
}

// TxStats counts the packets this end wrote: what the link did to them.
func (c *Conn) TxStats() *Stats { return &c.tx.st }

// WriteBatch sends each of bufs as one GRE packet; it waits while the direction's queue is
// full. A packet longer than PacketSize-20 is refused with syscall.EMSGSIZE (bufs[n]), as the
// kernel does beyond the MTU. After Close it returns net.ErrClosed; packets written after
// the peer closed vanish.
func (c *Conn) WriteBatch(bufs [][]byte) (int, error) {
	p := c.tx
	for i, b := range bufs {
		if len(b)+ipv4HeaderLen > p.cfg.PacketSize {
			return i, syscall.EMSGSIZE
		}
		if err := p.send(b, c.closed); err != nil {
			return i, err
		}
	}
	return len(bufs), nil
}

// send applies loss and reordering to one packet and queues it.
func (p *pipe) send(b []byte, txClosed <-chan struct{}) error {
	p.mu.Lock()
	// A free slot first, so that the random decisions do not depend on timing.
	for len(p.slots) == 0 {
		if p.space == nil {
			p.space = make(chan struct{})
		}
		space := p.space
		p.mu.Unlock()
		select {
		case <-space:
		case <-txClosed:
			return net.ErrClosed
		case <-p.rxClosed:
			p.st.Discarded.Add(1)
			return nil
		}
		p.mu.Lock()
	}
	defer p.mu.Unlock()
	select {
	case <-txClosed:
		return net.ErrClosed
	case <-p.rxClosed:
		p.st.Discarded.Add(1)
		return nil
	default:
	}
	p.st.Sent.Add(1)
	if (p.cfg.Loss > 0 && p.rnd.Float64() < p.cfg.Loss) || (p.cfg.Drop != nil && p.cfg.Drop(b)) {
		p.st.Lost.Add(1)
		if p.cfg.Lost != nil {
			p.cfg.Lost(b)
		}
		return nil
	}
	pkt := p.encap(b)
	if p.held == nil && p.cfg.Reorder > 0 && p.rnd.Float64() < p.cfg.Reorder {
		p.held = pkt
		p.hold.Reset(p.cfg.ReorderHold)
		return nil
	}
	p.push(pkt)
	if p.held != nil {
		p.st.Reordered.Add(1)
		p.push(p.held)
		p.held = nil
		p.hold.Stop()
	}
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return nil
}

// encap copies b behind an IPv4 header into a free slot.
// Precondition: p.mu is held and a slot is free.
func (p *pipe) encap(b []byte) []byte {
	s := p.slots[len(p.slots)-1]
	p.slots = p.slots[:len(p.slots)-1]
	total := ipv4HeaderLen + len(b)
	s = s[:total]
	h := s[:ipv4HeaderLen]
	p.id++
	h[0], h[1] = 0x45, 0
	binary.BigEndian.PutUint16(h[2:], uint16(total))
	binary.BigEndian.PutUint16(h[4:], p.id)
	binary.BigEndian.PutUint16(h[6:], 0x4000) // DF, as PPTP peers send GRE
	h[8], h[9] = 64, protoGRE
	h[10], h[11] = 0, 0
	copy(h[12:16], p.src[:])
	copy(h[16:20], p.dst[:])
	binary.BigEndian.PutUint16(h[10:], checksum(h))
	copy(s[ipv4HeaderLen:], b)
	return s
}

// push appends pkt to the FIFO. Precondition: p.mu is held. The FIFO cannot overflow: it
// has a place for every slot.
func (p *pipe) push(pkt []byte) {
	p.ring[(p.head+p.n)%len(p.ring)] = pkt
	p.n++
}

// releaseHeld is the hold timer: a held packet whose successor did not come goes out alone.
func (p *pipe) releaseHeld() {
	p.mu.Lock()
	if p.held != nil {
		p.push(p.held)
		p.held = nil
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// take moves queued packets into bufs. Precondition: p.mu is held.
func (p *pipe) take(bufs [][]byte, sizes []int) int {
	k := 0
	for k < len(bufs) && k < len(sizes) && p.n > 0 {
		s := p.ring[p.head]
		p.ring[p.head] = nil
		p.head = (p.head + 1) % len(p.ring)
		p.n--
		sizes[k] = copy(bufs[k], s) // a short buffer cuts the packet, as recvmmsg does
		p.slots = append(p.slots, s[:cap(s)])
		k++
	}
	if k > 0 {
		p.st.Delivered.Add(uint64(k))
		if p.space != nil {
			close(p.space)
			p.space = nil
		}
	}
	return k
}

// ReadBatch returns up to min(len(bufs), len(sizes)) queued IPv4 packets, waiting for at
// least one until the read deadline (os.ErrDeadlineExceeded) or Close (net.ErrClosed).
func (c *Conn) ReadBatch(bufs [][]byte, sizes []int) (int, error) {
	if len(bufs) == 0 || len(sizes) == 0 {
		return 0, nil
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	p := c.rx
	for {
		select {
		case <-c.closed:
			return 0, net.ErrClosed
		default:
		}
		p.mu.Lock()
		n := p.take(bufs, sizes)
		p.mu.Unlock()
		if n > 0 {
			return n, nil
		}
		var timeout <-chan time.Time
		if dl := c.dl.Load(); dl != 0 {
			d := time.Until(time.Unix(0, dl))
			if d <= 0 {
				return 0, os.ErrDeadlineExceeded
			}
			c.timer.Reset(d)
			timeout = c.timer.C
		}
		select {
		case <-p.wake:
		case <-c.dlChange:
		case <-c.closed:
		case <-timeout:
		}
		c.timer.Stop()
	}
}

// SetReadDeadline sets the deadline of ReadBatch, including one in progress; zero = none.
func (c *Conn) SetReadDeadline(t time.Time) error {
	var v int64
	if !t.IsZero() {
		v = max(t.UnixNano(), 1)
	}
	c.dl.Store(v)
	select {
	case c.dlChange <- struct{}{}:
	default:
	}
	return nil
}

var errClosed = errors.New("lossylink: use of closed connection")

// Close closes this end: its reads and writes fail, and the peer's writes vanish. Idempotent;
// a second Close returns an error as a closed socket would.
func (c *Conn) Close() error {
	err := errClosed
	c.closeOnce.Do(func() {
		close(c.closed)
		err = nil
	})
	return err
}

// checksum is the RFC 791 header checksum of h (with its checksum field zero).
func checksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
