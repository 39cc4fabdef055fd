// SPDX-License-Identifier: MIT

package gre

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Mux is one raw GRE socket that receives for many calls and hands each packet to the
// call its Call ID names: a server's calls to one local address share it.
//
// Why not a socket per call: the kernel keeps every raw GRE socket of a namespace in one
// hash chain and walks all of them for each GRE packet, cloning the packet for every
// socket connected to its source address (the Call ID filter runs on the clone). With
// hundreds of calls every packet's cost grows with them, the more so when their clients
// share an address (behind one NAT), docs/performance.md. With a Mux the kernel delivers
// each packet once, whatever the number of calls.
//
// One goroutine reads the socket in recvmmsg batches, waiting in the runtime poller, and
// copies each packet into the queue of its call; a MuxConn (Mux.Dial) reads from that queue
// and sends through the same socket (addressed per packet) or its fast path.
// Packets for no registered call, or from another address than the call's peer, are
// dropped. A Mux lives until its last MuxConn is closed (see Acquire and Release).
//
// A Mux takes only Call IDs with MuxCallIDBit set: the kernel's filter on its socket drops
// the others, so calls with sockets of their own (Dial) can run beside it with Call IDs
// without the bit, each of their packets costing one more copy that the filter frees.
type Mux struct {
	s      *sock
	local  netip.Addr
	v6     bool // an IPv6 socket: reads are GRE alone, the source is in msg_name (family.go)
	opt    Options
	rcvbuf int

	calls [1 << 16]atomic.Pointer[rxQueue] // by our Call ID
	spare bufStack                         // queue buffers beyond what each call keeps

	mu     sync.Mutex // refs, ncalls, bufSet
	refs   int
	ncalls int           // calls registered
	bufSet int           // the receive buffer last asked for
	done   chan struct{} // closed when the reader has returned

	// Reader state, owned by the reading goroutine.
	r       batch
	bufs    [MaxBatch][]byte
	names   [MaxBatch]unix.RawSockaddrInet6 // IPv6: each packet's source
	touched []*rxQueue

	Dropped atomic.Uint64 // packets for no registered call (or from the wrong address)
	// Oversize counts packets longer than muxMaxPacket, dropped before any call sees them.
	Oversize atomic.Uint64
}

// muxMaxPacket is the longest packet the Mux passes to a call: an IPv4 header (none on
// IPv6), GRE and a
// PPP frame of any MRU a PPTP peer negotiates (≤ 1500 here, and pptp-linux's) fit with
// room to spare. Longer ones are an attacker's: queued, each would cost a buffer its size.
const muxMaxPacket = 4096

// muxPacketSize is the Mux's read buffer per packet: any IPv4 packet fits, and the kernel
// touches only the pages a packet fills.
const muxPacketSize = 1 << 16

// muxBufferFactor multiplies Options.BufferBytes for the shared socket, which queues
// for every call at once.
const muxBufferFactor = 4

// The shared socket's receive buffer grows with the calls on it, muxBufferPerCall each up
// to muxBufferMax, so that a burst on every call at once fits (1000 calls sending 64
// full-size packets each queue about 190 MiB of truesize), as it did in a socket per call.
// The kernel charges only what is queued.
const (
	muxBufferPerCall = 1 << 20
	muxBufferMax     = 1 << 30
)

// NewMux opens a raw GRE socket bound to local (IPv4 or IPv6, not the zero address) and
// starts its reader. opt is what every MuxConn from Dial gets (CallID and Blocking are
// ignored). Its calls' peers are of local's family.
func NewMux(local netip.Addr, opt Options) (*Mux, error) {
	local = local.Unmap()
	if !local.IsValid() || local.IsUnspecified() {
		return nil, fmt.Errorf("gre: mux needs a local IP address, not %v", local)
	}
	lsa, err := sockaddrOf(local)
	if err != nil {
		return nil, fmt.Errorf("gre: mux address %w", err)
	}
	v4 := framedIPv4(local)
	// In the runtime poller: the reader hands every batch to calls' goroutines anyway,
	// and a reader parked in the poller lets the woken call run on its P at once (faster
	// than blocking recvmmsg in alternating runs: docs/performance-log.md).
	opt.Local, opt.CallID, opt.Blocking = local, 0, false
	fd, err := openRaw(opt, muxBufferFactor, v4)
	if err != nil {
		return nil, err
	}
	// The kernel drops the packets of calls with sockets of their own.
	if err := attachFilter(fd, callIDProgram(v4, bpf.JumpBitsSet, MuxCallIDBit)); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if err := unix.Bind(fd, lsa); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("gre: bind %v: %w", local, err)
	}
	rcvbuf, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
	s, err := newSock(fd, "gre-mux:"+local.String())
	if err != nil {
		return nil, fmt.Errorf("gre: %w", err)
	}
	m := &Mux{s: s, local: local, v6: !v4, opt: opt, rcvbuf: rcvbuf, refs: 1, done: make(chan struct{}),
		bufSet: muxBufferFactor * bufferBytes(opt)}
	m.r.init()
	if m.v6 {
		for i := range m.r.msgs {
			m.r.msgs[i].hdr.Name = (*byte)(unsafe.Pointer(&m.names[i]))
		}
	}
	mem := make([]byte, MaxBatch*muxPacketSize)
	for i := range m.bufs {
		m.bufs[i] = mem[i*muxPacketSize : (i+1)*muxPacketSize : (i+1)*muxPacketSize]
	}
	m.r.set(m.bufs[:])
	m.touched = make([]*rxQueue, 0, MaxBatch)
	go m.readLoop()
	return m, nil
}

// Acquire takes a reference; false if the Mux is already closed (the last Release ran).
func (m *Mux) Acquire() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.refs == 0 {
		return false
	}
	m.refs++
	return true
}

// Release drops a reference (NewMux's included); the last one closes the socket and waits
// for the reader to return.
func (m *Mux) Release() {
	m.mu.Lock()
	m.refs--
	last := m.refs == 0
	m.mu.Unlock()
	if last {
		m.s.Close()
		<-m.done
	}
}

// MuxConn is a call on a Mux: it reads the packets the Mux queued for its Call ID from its
// peer, and sends through the Mux's socket, addressed to the peer, or through its fast
// path. Its ReadBatch, WriteBatch, SetReadDeadline and Close keep Conn's contract.
type MuxConn struct {
	mux    *Mux
	q      *rxQueue
	callID uint16
	remote netip.Addr
	s      *sock  // borrowed from the Mux: closing it leaves the socket to the others
	tx     txPath // through s, or the fast path
}

// Dial returns a MuxConn for the call with our Call ID callID to remote: it receives the
// packets the Mux reads for callID from remote and sends to remote. It holds a reference
// to the Mux until it is closed. A Call ID can be registered once at a time.
func (m *Mux) Dial(remote netip.Addr, callID uint16) (*MuxConn, error) {
	remote = remote.Unmap()
	if !remote.IsValid() || framedIPv4(remote) == m.v6 {
		return nil, fmt.Errorf("gre: peer %v is not of the family of the mux's %v", remote, m.local)
	}
	to, err := rawNameOf(remote)
	if err != nil {
		return nil, fmt.Errorf("gre: peer %w", err)
	}
	if callID&MuxCallIDBit == 0 {
		return nil, fmt.Errorf("gre: Call ID %#04x lacks MuxCallIDBit", callID)
	}
	if !m.Acquire() {
		return nil, net.ErrClosed
	}
	ok := false
	defer func() {
		if !ok {
			m.Release()
		}
	}()
	q := newRxQueue(remote)
	q.spare = &m.spare
	if !m.calls[callID].CompareAndSwap(nil, q) {
		return nil, fmt.Errorf("gre: Call ID %d is already in use on %v", callID, m.local)
	}
	m.callsChanged(+1)
	// The call sends through the Mux's socket with batch state of its own; its Close
	// leaves the socket to the others. (Not a dup of the descriptor: in the runtime
	// poller every registered duplicate would be woken by every packet.)
	c := &MuxConn{mux: m, q: q, callID: callID, remote: remote, s: m.s.borrow()}
	c.tx = newTxPath(c.s, &to, remote, m.local, m.opt)
	ok = true
	return c, nil
}

// RemoteAddr is the peer address.
func (c *MuxConn) RemoteAddr() netip.Addr { return c.remote }

// LocalAddr is the Mux's address.
func (c *MuxConn) LocalAddr() netip.Addr { return c.mux.local }

// RecvWindow returns the Packet Recv. Window Size (RFC 2637 §4.2) the call's queue and the
// shared socket's receive buffer hold (WindowFor): at most limit and MuxQueueLen.
func (c *MuxConn) RecvWindow(limit uint16) uint16 {
	return WindowFor(c.mux.rcvbuf, min(limit, MuxQueueLen))
}

// ReadBatch copies up to min(len(bufs), len(sizes), MaxBatch) queued packets into bufs,
// waiting for the first until the read deadline passes (an error matching
// os.ErrDeadlineExceeded) or c is closed. bufs[i][:sizes[i]] is then an IPv4 packet
// including its header (an IPv6 peer's: the GRE packet, family.go); a packet longer than bufs[i] is cut short.
func (c *MuxConn) ReadBatch(bufs [][]byte, sizes []int) (int, error) {
	n := min(len(bufs), len(sizes), MaxBatch)
	if n == 0 {
		return 0, nil
	}
	n, err := c.q.read(bufs[:n], sizes)
	if n > 0 {
		c.tx.peerSeen()
	}
	return n, err
}

// WriteBatch sends each of bufs as one GRE packet to the peer, as Conn.WriteBatch.
func (c *MuxConn) WriteBatch(bufs [][]byte) (int, error) { return c.tx.writeBatch(bufs) }

// SetReadDeadline sets the deadline for ReadBatch; the zero Time means none.
func (c *MuxConn) SetReadDeadline(t time.Time) error {
	c.q.deadline.Store(deadlineNs(t))
	return nil
}

// Close unregisters the call and wakes a blocked ReadBatch; the last MuxConn of a
// released Mux closes its socket.
func (c *MuxConn) Close() error {
	err := c.s.Close()
	c.closeMuxed()
	c.tx.close()
	return err
}

// attachStats lets the fast path count into the Link's Stats.
func (c *MuxConn) attachStats(s *Stats) { c.tx.attachStats(s) }

// closeMuxed unregisters c's call, wakes its reader and drops c's Mux reference.
// Only the first call does anything.
func (c *MuxConn) closeMuxed() {
	c.mux.calls[c.callID].CompareAndSwap(c.q, nil)
	if c.q.close() {
		c.mux.callsChanged(-1)
		c.mux.Release()
	}
}

// callsChanged counts a call in or out and grows the receive buffer with the calls
// (in steps of 64 calls; it never shrinks: the kernel only charges what is queued).
func (m *Mux) callsChanged(d int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ncalls += d
	want := min((m.ncalls+63)/64*64*muxBufferPerCall, muxBufferMax)
	if want <= m.bufSet {
		return
	}
	m.bufSet = want
	_ = m.s.rc.Control(func(fd uintptr) {
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, want) != nil {
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, want)
		}
	})
}

// readLoop is the Mux's one reading goroutine.
func (m *Mux) readLoop() {
	defer close(m.done)
	var n uintptr
	var e unix.Errno
	// Inside RawConn.Read the descriptor cannot be closed (and reused) under the call.
	recv := func(fd uintptr) bool {
		if m.v6 { // msg_namelen is value-result
			for i := range m.r.msgs {
				m.r.msgs[i].hdr.Namelen = unix.SizeofSockaddrInet6
			}
		}
		n, _, e = unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&m.r.msgs[0])), MaxBatch, unix.MSG_WAITFORONE, 0, 0)
		return e != unix.EAGAIN // wait in the poller
	}
	fails := 0
	for {
		if err := m.s.rc.Read(recv); err != nil || m.s.closed.Load() {
			return
		}
		switch e {
		case 0:
			fails = 0
			m.dispatch(int(n))
		case unix.EINTR: // (EAGAIN waits in the poller inside Read)
		default:
			// An ICMP error about one call's peer is reported on the shared socket; it
			// must not end the others. Anything else repeating is not expected: back off.
			if fails++; fails > 100 {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
}

// dispatch hands the n packets just read to their calls' queues and wakes those calls.
func (m *Mux) dispatch(n int) {
	for i := range n {
		if int(m.r.msgs[i].n) > muxMaxPacket {
			m.Oversize.Add(1)
			continue
		}
		pkt := m.bufs[i][:m.r.msgs[i].n]
		var id uint16
		var src netip.Addr
		ok := false
		if m.v6 {
			id, ok = callIDAt(pkt, false)
			src = netip.AddrFrom16(m.names[i].Addr)
		} else {
			var src4 [4]byte
			id, src4, ok = DemuxKey(pkt)
			src = netip.AddrFrom4(src4)
		}
		q := m.calls[id].Load()
		if !ok || q == nil || src != q.peer {
			m.Dropped.Add(1)
			continue
		}
		if q.push(pkt) && !q.mark {
			q.mark = true
			m.touched = append(m.touched, q)
		}
	}
	for i, q := range m.touched {
		q.mark = false
		q.signal()
		m.touched[i] = nil
	}
	m.touched = m.touched[:0]
}

// rxQueue is one muxed call's received packets, in order, in buffers of its own that are
// reused last-in first-out (so a call touches only as many as its deepest backlog).
// The Mux's reader pushes; the call's Link reads.
type rxQueue struct {
	peer  netip.Addr // without zone: compared with each packet's source
	mark  bool       // the reader's: queued in touched this batch
	spare *bufStack  // the Mux's, for buffers beyond queueKeep (nil: none)

	mu    sync.Mutex
	ring  [][]byte // FIFO of queued packets, grown on demand up to MuxQueueLen
	head  int
	n     int
	free  [][]byte // spare buffers
	wake  chan struct{}
	done  bool
	timer *time.Timer // the reader's deadline; used by read only

	closed   chan struct{}
	deadline atomic.Int64 // Unix ns, 0 = none
}

// queueKeep is how many spare buffers a call keeps; the rest go to the Mux's bufStack
// (bounded by spareMax) for any call's next burst, so that calls that each had a burst
// once do not each hold its buffers for good (1000 calls after 64 packets each: 599 MiB
// resident, against 423 MiB with a socket per call).
const queueKeep = 32

// bufStack is a bounded last-in first-out stack of buffers shared by a Mux's queues.
type bufStack struct {
	mu   sync.Mutex
	bufs [][]byte
}

// spareMax bounds a bufStack: 4096 buffers of 2 KiB.
const spareMax = 4096

func (s *bufStack) get() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := len(s.bufs)
	if k == 0 {
		return nil
	}
	b := s.bufs[k-1]
	s.bufs[k-1] = nil
	s.bufs = s.bufs[:k-1]
	return b
}

// put keeps b unless the stack is full (then the garbage collector takes it).
func (s *bufStack) put(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.bufs) < spareMax {
		s.bufs = append(s.bufs, b)
	}
}

func newRxQueue(peer netip.Addr) *rxQueue {
	q := &rxQueue{peer: peer.WithZone(""), wake: make(chan struct{}, 1), closed: make(chan struct{})}
	q.timer = time.NewTimer(time.Hour)
	q.timer.Stop()
	return q
}

// push copies pkt to the end of the queue; false if the queue was full or closed.
func (q *rxQueue) push(pkt []byte) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.done || q.n == MuxQueueLen {
		return false
	}
	if q.n == len(q.ring) {
		q.grow()
	}
	var b []byte
	if k := len(q.free); k > 0 {
		b, q.free[k-1] = q.free[k-1], nil
		q.free = q.free[:k-1]
	} else if q.spare != nil {
		b = q.spare.get()
	}
	if cap(b) < len(pkt) {
		if b != nil {
			q.free = append(q.free, b)
		}
		// A buffer of its own size for a packet beyond the usual: read does not keep it.
		b = make([]byte, max(len(pkt), DefaultPacketSize))
	}
	b = b[:len(pkt)]
	copy(b, pkt)
	q.ring[(q.head+q.n)%len(q.ring)] = b
	q.n++
	return true
}

// grow doubles the ring, keeping the order. Precondition: q.mu held, the ring full.
func (q *rxQueue) grow() {
	ring := make([][]byte, min(max(2*len(q.ring), 64), MuxQueueLen))
	for i := range q.n {
		ring[i] = q.ring[(q.head+i)%len(q.ring)]
	}
	q.ring, q.head = ring, 0
}

// signal wakes the reader, if it waits.
func (q *rxQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// close ends the queue: a waiting read returns net.ErrClosed, and so does every later one.
// It reports whether this call closed it.
func (q *rxQueue) close() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.done {
		return false
	}
	q.done = true
	close(q.closed)
	q.ring, q.free = nil, nil
	return true
}

// read is MuxConn.ReadBatch: it copies up to len(bufs) queued packets into bufs
// (cut to len(bufs[i])), waiting for the first until the deadline or close.
func (q *rxQueue) read(bufs [][]byte, sizes []int) (int, error) {
	for {
		q.mu.Lock()
		if q.done {
			q.mu.Unlock()
			return 0, net.ErrClosed
		}
		if q.n > 0 {
			k := min(q.n, len(bufs))
			for i := range k {
				j := (q.head + i) % len(q.ring)
				b := q.ring[j]
				q.ring[j] = nil
				sizes[i] = copy(bufs[i], b)
				if cap(b) != DefaultPacketSize {
					// Only MTU-sized buffers are recycled: one burst of big packets
					// must not leave big buffers behind.
				} else if len(q.free) < queueKeep || q.spare == nil {
					q.free = append(q.free, b[:cap(b)])
				} else {
					q.spare.put(b[:cap(b)])
				}
			}
			q.head = (q.head + k) % len(q.ring)
			q.n -= k
			q.mu.Unlock()
			return k, nil
		}
		q.mu.Unlock()
		if err := q.wait(); err != nil {
			return 0, err
		}
	}
}

// wait blocks until the queue is signalled or closed or the deadline passes.
func (q *rxQueue) wait() error {
	d := q.deadline.Load()
	if d == 0 {
		select {
		case <-q.wake:
		case <-q.closed:
		}
		return nil
	}
	left := time.Until(time.Unix(0, d))
	if left <= 0 {
		return os.ErrDeadlineExceeded
	}
	q.timer.Reset(left)
	defer q.timer.Stop()
	select {
	case <-q.wake:
	case <-q.closed:
	case <-q.timer.C:
		return os.ErrDeadlineExceeded
	}
	return nil
}
