// SPDX-License-Identifier: MIT

package gre

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// DefaultAckDelay is how long received data may stay unacknowledged
	// before a lone ack-only packet is sent.
	DefaultAckDelay = 10 * time.Millisecond
	// MaxPayloadLen is the longest frame Write sends (pptp-linux PACKET_MAX).
	MaxPayloadLen = 8196
	// DefaultPacketSize is the default receive buffer per packet: an IPv4
	// header, a GRE header and a frame for any MTU up to ~1950.
	DefaultPacketSize = 2048
	// DefaultReadBatch is how many packets one receive system call takes.
	DefaultReadBatch = 64

	ipv4MinHeaderLen = 20
	ackOnlyLen       = 12
)

// LinkOptions are the datapath settings of a call that a client and a server configure
// alike; the control connection supplies the rest of a LinkConfig (Call IDs, the peer's
// window), see LinkConfig.
type LinkOptions struct {
	Socket  Options // the raw GRE socket; its CallID is set per call
	Reorder ReorderConfig
	// PacketSize is LinkConfig.PacketSize; large buffers let the TUN coalesce received
	// TCP segments (GRO) into one write. 0 = DefaultPacketSize.
	PacketSize int
	// DeferPacketSize is LinkConfig.DeferPacketSize.
	DeferPacketSize bool
	// SendWindow is how many packets are sent ahead of the peer's acknowledgment:
	// 0 = the peer's Packet Recv. Window Size, negative = no limit (as pptp-linux).
	SendWindow int
	// TestType and TestRate: pptp --test-type/--test-rate (LinkConfig).
	TestType, TestRate int
	LogLevel           int // pptp --loglevel (LinkConfig)
	// NoMSSClamp (pptp --nomssclamp, pptpd.conf nomssclamp) is for the session's datapath
	// above the Link: leave the MSS of TCP SYNs crossing the tunnel alone instead of
	// clamping it to the tunnel MTU − 40.
	NoMSSClamp bool
}

// LinkConfig is the configuration of the call with Call IDs local and peer whose peer
// advertised peerWindow, under these options.
func (o LinkOptions) LinkConfig(local, peer, peerWindow uint16, logf func(string, ...any)) LinkConfig {
	w := o.SendWindow
	switch {
	case w < 0:
		w = 0 // no window
	case w == 0:
		w = int(peerWindow)
	}
	return LinkConfig{
		LocalCallID:     local,
		PeerCallID:      peer,
		Reorder:         o.Reorder,
		Logf:            logf,
		LogLevel:        o.LogLevel,
		PacketSize:      o.PacketSize,
		SendWindow:      w,
		DeferPacketSize: o.DeferPacketSize,
		TestType:        o.TestType,
		TestRate:        o.TestRate,
	}
}

// LinkConfig configures a Link.
type LinkConfig struct {
	LocalCallID, PeerCallID uint16
	Reorder                 ReorderConfig
	AckDelay                time.Duration                    // lone ack when nothing piggybacked it within this, default 10ms
	Logf                    func(format string, args ...any) // rate-limited by the Link for per-packet messages
	LogLevel                int                              // pptp --loglevel: 0 none, 1 drops, 2 every packet

	// PacketSize is the receive buffer per packet (IPv4 + GRE + frame),
	// at least and by default DefaultPacketSize. Longer packets count as
	// truncated.
	PacketSize int
	// DeferPacketSize: receive into DefaultPacketSize buffers until Grow, then into
	// PacketSize ones (a server grows a call's buffers only once its client logged in).
	DeferPacketSize bool
	// ReadBatch is the number of packets per receive system call,
	// default DefaultReadBatch, at most MaxBatch.
	ReadBatch int
	// SendWindow is the peer's Packet Receive Window Size (RFC 2637 §4.4): once it has
	// acknowledged something, at most this many of our packets (but at least MinSendWindow)
	// are unacknowledged at a time; Write waits for an ack (at most windowWait) when the
	// window is full. 0 = no limit.
	SendWindow int
	// TestType and TestRate reorder sent packets on purpose (pptp --test-type/--test-rate)
	// to test a server's reordering; 0 = off.
	TestType, TestRate int
}

// rxItem locates a received frame in the Link's buffer pool.
type rxItem struct {
	idx, off, end int32
}

// Link is the datapath of one PPTP call over a CallConn or another PacketConn:
// it numbers and sends frames, acknowledges received data (piggybacked, or
// ack-only after AckDelay), and receives, reorders and delivers frames in
// batches.
//
// Sequence numbers sent start at 1, as pptp-linux and the Linux kernel do;
// peers accept any first sequence number. The peer's receive window is not
// enforced and nothing is retransmitted (RFC 2637 makes both optional and no
// implementation in use does them).
type Link struct {
	pc    PacketConn
	cfg   LinkConfig
	stats Stats
	epoch time.Time // monotonic base for RTT

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
	ackTimer  *time.Timer
	log       rateLimiter

	tx struct {
		sync.Mutex
		seq        uint32 // last sequence number sent
		ackPending uint32 // highest in-order sequence delivered (from rx)
		ackValid   bool
		ackSent    uint32 // last ack value sent
		ackSentOK  bool
		timerArmed bool
		rttSeq     uint32 // sequence number being timed for RTT
		rttAt      time.Duration
		rttPending bool
		mtuLogged  bool
		pkts       [][]byte // scratch for WriteBatch
		test       *testReorder
		ackPkt     [ackOnlyLen]byte
		ackBufs    [1][]byte
		peerAck    uint32 // highest sequence number the peer acknowledged
		peerAckOK  bool
	}
	ackCh chan struct{} // the peer's ack advanced (send window)
	// sentSeq is the last sequence number sent (tx.seq), for the receive side to tell a
	// genuine ack from one of something never sent.
	sentSeq atomic.Uint32
	// grow is Grow's request; growDue (Receive's) says the pool is still small.
	grow      atomic.Bool
	growDue   bool
	poolBytes atomic.Int64
	waitMu    sync.Mutex // one waiter for the window at a time: it owns waitTimer
	waitTimer *time.Timer

	// Receive side, owned by the Receive goroutine.
	rx struct {
		pool    [][]byte
		free    []int32
		bufs    [][]byte
		sizes   []int
		idx     []int32
		outBufs [][]byte
		outOffs []int
		outIdx  []int32
		reorder *Reorder[rxItem]
		ackMax  uint32
		ackNew  bool
		dl      time.Time // read deadline currently set
		onGap   func()
		resync  func(payload []byte) bool // SetResyncHint
		ipv4    bool                      // reads start with an IPv4 header (readsIPv4)
		head    int                       // where reads start in a pool buffer: 0, or IPv4's header room
	}
}

// SetGapHandler installs f, called on the Receive goroutine for every data packet the
// reorder buffer holds because an earlier one is missing, lost or late: long before the hold
// time says which. Stateful MPPE asks for its CCP reset there, since after a loss it must
// drop everything until the sender's answer arrives. Call it before Receive; f must not
// block.
func (l *Link) SetGapHandler(f func()) { l.rx.onGap = f }

// NewLink returns a Link over conn, a call's raw GRE socket. The Link owns
// conn: Close closes it. All buffers are allocated here, once.
func NewLink(conn CallConn, cfg LinkConfig) *Link {
	l := NewLinkOn(conn, cfg)
	conn.attachStats(&l.stats)
	return l
}

// NewLinkOn is NewLink over any PacketConn (an in-memory link in tests).
// The Link owns pc: Close closes it.
func NewLinkOn(pc PacketConn, cfg LinkConfig) *Link {
	cfg.Reorder = cfg.Reorder.withDefaults()
	if cfg.AckDelay <= 0 {
		cfg.AckDelay = DefaultAckDelay
	}
	if cfg.PacketSize < DefaultPacketSize {
		cfg.PacketSize = DefaultPacketSize
	}
	if cfg.ReadBatch <= 0 {
		cfg.ReadBatch = DefaultReadBatch
	}
	cfg.ReadBatch = min(cfg.ReadBatch, MaxBatch)
	if cfg.SendWindow > 0 {
		cfg.SendWindow = max(cfg.SendWindow, MinSendWindow)
	}
	l := &Link{pc: pc, cfg: cfg, epoch: time.Now()}
	l.rx.ipv4 = readsIPv4(pc)
	if !l.rx.ipv4 {
		// Reads without an IP header start where one would have ended, so that a frame
		// keeps the headroom Receive promises in front of it.
		l.rx.head = ipv4MinHeaderLen
	}
	l.log.logf = cfg.Logf
	l.tx.pkts = make([][]byte, 0, MaxBatch)
	l.tx.test = newTestReorder(cfg.TestType, cfg.TestRate)
	l.tx.ackBufs[0] = l.tx.ackPkt[:]
	l.ackCh = make(chan struct{}, 1)
	l.waitTimer = time.NewTimer(time.Hour)
	l.waitTimer.Stop()
	l.ackTimer = time.AfterFunc(time.Hour, l.sendLoneAck)
	l.ackTimer.Stop()

	// Every buffer a read may need plus every buffer the reorder queue may
	// hold: reads never wait for buffers.
	n := cfg.ReadBatch
	if !cfg.Reorder.NoBuffer {
		n += cfg.Reorder.Window
	}
	rx := &l.rx
	rx.pool = make([][]byte, n)
	rx.free = make([]int32, n)
	size := cfg.PacketSize
	if cfg.DeferPacketSize {
		size = DefaultPacketSize
		l.growDue = size < cfg.PacketSize
	}
	l.allocPool(size)
	for i := range rx.free {
		rx.free[i] = int32(n - 1 - i)
	}
	rx.bufs = make([][]byte, cfg.ReadBatch)
	rx.sizes = make([]int, cfg.ReadBatch)
	rx.idx = make([]int32, cfg.ReadBatch)
	rx.outBufs = make([][]byte, 0, n)
	rx.outOffs = make([]int, 0, n)
	rx.outIdx = make([]int32, 0, n)
	rx.reorder = NewReorder(cfg.Reorder, &l.stats, l.onDeliver)
	return l
}

// allocPool gives every pool slot a buffer of size bytes, from one allocation.
// Precondition: no buffer is in use (all free).
func (l *Link) allocPool(size int) {
	rx := &l.rx
	mem := make([]byte, len(rx.pool)*size)
	for i := range rx.pool {
		rx.pool[i] = mem[i*size : (i+1)*size : (i+1)*size]
	}
	l.poolBytes.Store(int64(len(mem)))
}

// Grow switches a DeferPacketSize Link to PacketSize buffers: at once if Receive is not
// running, else as soon as it holds no packet. Safe for concurrent use; no-op otherwise.
func (l *Link) Grow() { l.grow.Store(true) }

// PoolBytes is the size of the receive buffers now.
func (l *Link) PoolBytes() int64 { return l.poolBytes.Load() }

// maybeGrow is Receive's: the switch Grow asked for, when every buffer is free.
func (l *Link) maybeGrow() {
	if l.growDue && l.grow.Load() && len(l.rx.free) == len(l.rx.pool) {
		l.growDue = false
		l.allocPool(l.cfg.PacketSize)
	}
}

// queuedPacketBytes is what one full-size packet waiting on a socket counts against its
// receive buffer: its truesize (the data in a 2 KiB slab, the sk_buff and shared info:
// 2.3 KiB measured over veth), with room for drivers that give a packet more.
const queuedPacketBytes = 3 << 10

// WindowFor is the Packet Recv. Window Size a receive buffer of rcvbuf bytes (SO_RCVBUF as
// the kernel reports it: twice what was asked) holds, at most limit; limit itself if rcvbuf
// is unknown (≤ 0). A peer that keeps to a larger window could overrun the queue while a
// read is late.
func WindowFor(rcvbuf int, limit uint16) uint16 {
	if rcvbuf <= 0 {
		return limit
	}
	return uint16(min(max(rcvbuf/queuedPacketBytes, 1), int(limit)))
}

// Stats returns the Link's live counters.
func (l *Link) Stats() *Stats { return &l.stats }

var errOffset = errors.New("gre: Write offset smaller than HeaderLen")

// Write sends one GRE packet per buffer: the PPP frame is bufs[i][offset:],
// the GRE header is written into bufs[i][offset-h:offset] (offset ≥
// HeaderLen). It assigns sequence numbers and piggybacks the current ack on
// the first packet when it changed since last sent. Safe for concurrent use
// (one short lock per batch); it does not allocate.
//
// Transient send failures (ENOBUFS, EMSGSIZE, ICMP-reported errors, a
// firewall's EPERM) are counted in Stats.TxFailed and do not stop the batch;
// oversize frames are counted in Stats.TxOversize and skipped. Write
// returns len(bufs) and nil unless the socket is closed or broken, in which
// case it returns the number of buffers handled before the failure.
func (l *Link) Write(bufs [][]byte, offset int) (int, error) {
	if offset < HeaderLen {
		l.stats.TxShort.Add(uint64(len(bufs)))
		return 0, errOffset
	}
	tx := &l.tx
	tx.Lock()
	defer tx.Unlock()
	pkts := tx.pkts[:0]
	done := 0
	for i, b := range bufs {
		frame := b[offset:]
		if len(frame) > MaxPayloadLen {
			l.stats.TxOversize.Add(1)
			continue
		}
		if w := l.cfg.SendWindow; w > 0 && tx.peerAckOK && int(tx.seq-tx.peerAck) >= w {
			if err := l.sendLocked(pkts); err != nil {
				return done, err
			}
			clear(pkts)
			pkts = pkts[:0]
			done = i
			l.waitWindowLocked()
		}
		tx.seq++
		l.sentSeq.Store(tx.seq)
		f := Fields{CallID: l.cfg.PeerCallID, PayloadLen: uint16(len(frame)), Seq: tx.seq, HasSeq: true}
		if tx.ackValid && (!tx.ackSentOK || tx.ackPending != tx.ackSent) {
			f.Ack, f.HasAck = tx.ackPending, true
			tx.ackSent, tx.ackSentOK = tx.ackPending, true
		}
		h := f.Len()
		f.Encode(b[offset-h : offset])
		if tx.test != nil {
			pkts = tx.test.next(b[offset-h:], pkts)
		} else {
			pkts = append(pkts, b[offset-h:])
		}
		if !tx.rttPending {
			tx.rttSeq, tx.rttAt, tx.rttPending = tx.seq, time.Since(l.epoch), true
		}
		if len(pkts) >= cap(pkts) {
			if err := l.sendLocked(pkts); err != nil {
				return done, err
			}
			clear(pkts)
			pkts = pkts[:0]
			done = i + 1
		}
	}
	if err := l.sendLocked(pkts); err != nil {
		return done, err
	}
	clear(pkts) // do not keep the caller's buffers reachable
	return len(bufs), nil
}

// MinSendWindow is the least send window kept, whatever the peer advertises. A peer's window
// is honoured (Debian's pptpd drops what overruns it, and an upload sent far ahead of its
// window collapses; control caps the window it echoes back), but a token window of a few
// packets would make the tunnel crawl where pptp-linux ignores windows altogether.
const MinSendWindow = 32

// windowWait bounds the wait for an ack when the send window is full: a peer that stops
// acknowledging (or acks only with data) must not stall us for good.
const windowWait = 20 * time.Millisecond

// waitWindowLocked waits, with l.tx unlocked, until the peer's ack advances or windowWait
// passed. Precondition: l.tx is locked; it is locked again on return.
func (l *Link) waitWindowLocked() {
	l.stats.TxWindowWaits.Add(1)
	l.tx.Unlock()
	l.waitMu.Lock()
	l.waitTimer.Reset(windowWait)
	select {
	case <-l.ackCh:
	case <-l.waitTimer.C:
	}
	l.waitTimer.Stop()
	l.waitMu.Unlock()
	l.tx.Lock()
}

// sendFault is what a WriteBatch error means for the Link (sendFailure, per OS).
type sendFault uint8

const (
	sendFatal    sendFault = iota // the socket is closed or broken: Write returns the error
	sendRefused                   // one packet refused: counted, logged at LogLevel 1
	sendNoBuffer                  // one packet refused for lack of buffer space: counted only
	sendTooBig                    // one packet over the path MTU: counted, said once
)

// sendLocked sends pkts, surviving transient errors.
// Precondition: l.tx must be locked.
func (l *Link) sendLocked(pkts [][]byte) error {
	for len(pkts) > 0 {
		n, err := l.pc.WriteBatch(pkts)
		l.stats.TxSent.Add(uint64(n))
		if err == nil {
			return nil
		}
		fault, errno := sendFailure(err)
		if fault == sendFatal {
			return err
		}
		// pkts[n] was refused; the tunnel lives on.
		l.stats.TxFailed.Add(1)
		switch {
		case fault == sendTooBig && !l.tx.mtuLogged:
			l.tx.mtuLogged = true
			if l.cfg.Logf != nil {
				l.cfg.Logf("GRE packet of %d bytes refused with %v: it exceeds the path MTU; lower the PPP mtu/mru (e.g. mtu 1400)", len(pkts[n]), errno)
			}
		case fault == sendRefused && l.cfg.LogLevel >= 1:
			l.log.printf("GRE send failed: %v", errno)
		}
		pkts = pkts[n+1:]
	}
	return nil
}

// sendLoneAck is the ack timer: it sends an ack-only packet if received
// data is still unacknowledged.
func (l *Link) sendLoneAck() {
	tx := &l.tx
	tx.Lock()
	defer tx.Unlock()
	tx.timerArmed = false
	if l.closed.Load() || !tx.ackValid || (tx.ackSentOK && tx.ackPending == tx.ackSent) {
		return
	}
	l.sendAckLocked()
}

// eagerAck is how many received packets may wait for a piggybacked ack before a lone ack
// goes out at once: a quarter of the smallest window a peer may ask for (64, what we keep to
// with third-party servers), so a peer that keeps to it need not wait for our timer, while a
// one-way stream costs one ack per 16 packets.
const eagerAck = 16

// sendAckLocked sends an ack-only packet for tx.ackPending. Precondition: l.tx is locked.
func (l *Link) sendAckLocked() {
	tx := &l.tx
	f := Fields{CallID: l.cfg.PeerCallID, Ack: tx.ackPending, HasAck: true}
	f.Encode(tx.ackPkt[:])
	if l.sendLocked(tx.ackBufs[:]) != nil {
		return
	}
	tx.ackSent, tx.ackSentOK = tx.ackPending, true
	l.stats.TxAcks.Add(1)
}

// Close stops the Link and closes its PacketConn; Receive returns nil. Idempotent.
func (l *Link) Close() error {
	l.closeOnce.Do(func() {
		l.closed.Store(true)
		l.ackTimer.Stop()
		l.closeErr = l.pc.Close()
	})
	return l.closeErr
}

// Receive is the receive goroutine: it reads batches until Close, and calls
// deliver once per batch with the in-order PPP frames: frame i is
// bufs[i][offs[i]:]. Buffers are the Link's own; deliver may modify them in
// place and may use the bytes in front of offs[i] (≥ 32 are free), but must
// not keep them after it returns. Returns nil after Close, else the socket
// error. Receive must not be called more than once at a time.
//
// Invalid packets are counted and dropped, packets for other Call IDs are
// dropped silently, acknowledgments are recorded (Stats.RxAcks, RTT), and
// data goes through the reorder buffer, whose hold timeouts are enforced
// with the socket's read deadline.
func (l *Link) Receive(deliver func(bufs [][]byte, offs []int)) error {
	rx := &l.rx
	for {
		l.maybeGrow()
		k := min(len(rx.bufs), len(rx.free))
		for i := range k {
			idx := rx.free[len(rx.free)-1]
			rx.free = rx.free[:len(rx.free)-1]
			rx.idx[i] = idx
			rx.bufs[i] = rx.pool[idx][rx.head:]
		}
		if err := l.setDeadline(); err != nil && !l.closed.Load() {
			return err
		}
		n, err := l.pc.ReadBatch(rx.bufs[:k], rx.sizes[:k])
		now := time.Now()
		for i := range n {
			if !l.input(rx.idx[i], rx.sizes[i], now) {
				rx.free = append(rx.free, rx.idx[i])
			}
		}
		for i := n; i < k; i++ {
			rx.free = append(rx.free, rx.idx[i])
		}
		l.peerAcked() // before delivering: a sender waiting for window room goes on at once
		rx.reorder.Expire(now)
		l.flush(deliver)
		if err != nil {
			if l.closed.Load() {
				return nil
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			if errno, ok := recvFailure(err); ok {
				// An ICMP error reported on the connected socket.
				l.stats.RxErrors.Add(1)
				if l.cfg.LogLevel >= 1 {
					l.log.printf("GRE receive error: %v", errno)
				}
				continue
			}
			return fmt.Errorf("gre: receive: %w", err)
		}
	}
}

// setDeadline makes the socket's read deadline the reorder head's.
func (l *Link) setDeadline() error {
	rx := &l.rx
	d, _ := rx.reorder.Deadline() // zero Time when nothing is held
	if d.Equal(rx.dl) {
		return nil
	}
	rx.dl = d
	return l.pc.SetReadDeadline(d)
}

// input handles one received packet in pool buffer idx (see PacketConn for its framing). It reports
// whether the buffer is now in use (held or about to be delivered).
func (l *Link) input(idx int32, size int, now time.Time) (keep bool) {
	rx := &l.rx
	b := rx.pool[idx][:rx.head+size]
	ihl, total, res := greSpan(b[rx.head:], rx.ipv4)
	ihl, total = rx.head+ihl, rx.head+total
	switch res {
	case spanInvalid:
		l.stats.RxInvalid.Add(1)
		return false
	case spanTruncated:
		l.stats.RxTruncated.Add(1)
		if l.cfg.LogLevel >= 1 {
			l.log.printf("discarding truncated packet (%d of %d bytes)", size, total-rx.head)
		}
		return false
	}
	h, payload, err := Parse(b[ihl:total])
	if err != nil {
		if errors.Is(err, ErrTruncated) {
			l.stats.RxTruncated.Add(1)
		} else {
			l.stats.RxInvalid.Add(1)
		}
		if l.cfg.LogLevel >= 1 {
			l.log.printf("Discarding GRE: %v", err)
		}
		return false
	}
	if h.CallID() != l.cfg.LocalCallID {
		return false // another call's packet (1.7.0: silently)
	}
	if h.HasAck() {
		l.stats.RxAcks.Add(1)
		// Serial arithmetic (RFC 1982); an ack beyond what we sent is forged or broken,
		// and taken it would keep the send window full for good.
		if a := h.Ack(); SeqAfter(a, l.sentSeq.Load()) {
			l.stats.RxBadAcks.Add(1)
		} else if !rx.ackNew || SeqAfter(a, rx.ackMax) {
			rx.ackMax, rx.ackNew = a, true
		}
	}
	if !h.HasSeq() {
		return false
	}
	seq := h.Seq()
	off := ihl + len(h)
	expect, started := rx.reorder.Last()
	expect++
	v := rx.reorder.Push(seq, rxItem{idx: idx, off: int32(off), end: int32(off + len(payload))}, now)
	switch v {
	case Delivered:
		keep = true // in the out list now
		if l.cfg.LogLevel >= 2 {
			l.log.printf("accepting packet %d", seq)
		}
	case Buffered:
		keep = true
		if rx.onGap != nil {
			rx.onGap()
		}
		if rx.resync != nil && rx.resync(b[off:off+len(payload)]) {
			// Nothing held before it can be used any more: no waiting for the hold time.
			rx.reorder.ReleaseThrough(seq)
		}
		if l.cfg.LogLevel >= 1 {
			l.log.printf("buffering packet %d (expecting %d, lost or reordered)", seq, expect)
		}
	case Duplicate, OverWindow:
		if isControlFrame(payload) {
			// Echoes, Terminate, NCP and authentication packets are never lost to
			// sequence logic: after an injected far-ahead packet every genuine one looks
			// old, and losing LCP would end the link. PPP copes with their order.
			rx.outBufs = append(rx.outBufs, rx.pool[idx][:off+len(payload)])
			rx.outOffs = append(rx.outOffs, off)
			rx.outIdx = append(rx.outIdx, idx)
			return true
		}
	}
	switch v {
	case Duplicate:
		if l.cfg.LogLevel >= 1 && started {
			l.log.printf("discarding duplicate or old packet %d (expecting %d)", seq, expect)
		}
	case OverWindow:
		if l.cfg.LogLevel >= 1 {
			l.log.printf("discarding bogus packet %d (expecting %d)", seq, expect)
		}
	}
	return keep
}

// isControlFrame reports whether PPP frame p (FF 03 optional) carries a control protocol:
// LCP, an NCP, PAP or CHAP (protocol numbers 0x8000 and up, never compressed).
func isControlFrame(p []byte) bool {
	if len(p) >= 2 && p[0] == 0xFF && p[1] == 0x03 {
		p = p[2:]
	}
	return len(p) >= 2 && p[0]&0x80 != 0 && p[1]&1 == 1
}

// onDeliver is the reorder buffer's deliver callback.
func (l *Link) onDeliver(_ uint32, it rxItem) {
	rx := &l.rx
	rx.outBufs = append(rx.outBufs, rx.pool[it.idx][:it.end])
	rx.outOffs = append(rx.outOffs, int(it.off))
	rx.outIdx = append(rx.outIdx, it.idx)
}

// flush hands the batch's in-order frames to deliver, frees their buffers
// and updates the ack state shared with the sender.
func (l *Link) flush(deliver func(bufs [][]byte, offs []int)) {
	rx := &l.rx
	if len(rx.outBufs) == 0 {
		return
	}
	// Ack first: the peer's send window opens while we still write the batch to the TUN.
	if last, ok := rx.reorder.Last(); ok {
		tx := &l.tx
		tx.Lock()
		tx.ackPending, tx.ackValid = last, true
		if tx.ackSentOK && int(tx.ackPending-tx.ackSent) >= eagerAck && !l.closed.Load() {
			// A one-way stream: ack now rather than after AckDelay, so that a
			// sender keeping to our receive window is not held up by our timer.
			l.sendAckLocked()
		}
		if (!tx.ackSentOK || tx.ackPending != tx.ackSent) && !tx.timerArmed && !l.closed.Load() {
			tx.timerArmed = true
			l.ackTimer.Reset(l.cfg.AckDelay)
		}
		tx.Unlock()
	}
	deliver(rx.outBufs, rx.outOffs)
	rx.free = append(rx.free, rx.outIdx...)
	clear(rx.outBufs)
	rx.outBufs, rx.outOffs, rx.outIdx = rx.outBufs[:0], rx.outOffs[:0], rx.outIdx[:0]
}

// peerAcked takes the acks of the batch just read to the send side: the send window's
// state, its waiting writer, and the round-trip estimate.
func (l *Link) peerAcked() {
	rx := &l.rx
	if !rx.ackNew {
		return
	}
	rx.ackNew = false
	tx := &l.tx
	tx.Lock()
	if !tx.peerAckOK || SeqAfter(rx.ackMax, tx.peerAck) {
		tx.peerAck, tx.peerAckOK = rx.ackMax, true
		select {
		case l.ackCh <- struct{}{}:
		default:
		}
	}
	if tx.rttPending && !SeqAfter(tx.rttSeq, rx.ackMax) && !SeqAfter(rx.ackMax, tx.seq) {
		tx.rttPending = false
		sample := int64(time.Since(l.epoch) - tx.rttAt)
		if old := l.stats.RTT.Load(); old == 0 {
			l.stats.RTT.Store(sample)
		} else {
			l.stats.RTT.Store(old + (sample-old)/8)
		}
	}
	tx.Unlock()
}

// rateLimiter passes at most logBurst messages per logInterval and reports
// how many it suppressed.
type rateLimiter struct {
	mu         sync.Mutex
	logf       func(format string, args ...any)
	start      time.Time
	count      int
	suppressed int
}

const (
	logBurst    = 20
	logInterval = time.Second
)

func (r *rateLimiter) printf(format string, args ...any) {
	if r.logf == nil {
		return
	}
	r.mu.Lock()
	now := time.Now()
	if now.Sub(r.start) >= logInterval {
		if r.suppressed > 0 {
			r.logf("GRE: %d messages suppressed", r.suppressed)
		}
		r.start, r.count, r.suppressed = now, 0, 0
	}
	ok := r.count < logBurst
	if ok {
		r.count++
	} else {
		r.suppressed++
	}
	r.mu.Unlock()
	if ok {
		r.logf(format, args...)
	}
}
