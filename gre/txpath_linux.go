// SPDX-License-Identifier: MIT

package gre

import (
	"net/netip"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// txPath is the send half of a Conn or MuxConn: the IP way alone (ipTx) or with the
// packet-socket fast path in front of it (fastTx).
type txPath interface {
	// writeBatch is WriteBatch: one at a time, each of bufs one GRE packet.
	writeBatch(bufs [][]byte) (int, error)
	// peerSeen tells that a packet from the peer arrived: the IP path works.
	peerSeen()
	// attachStats lets the path count into a Link's Stats.
	attachStats(*Stats)
	// close releases what the path holds of its own, after its conn closed the socket.
	close()
}

// newTxPath is the send half of a conn through s to remote from local, with the fast path
// if opt asks for it and the kernel offers it. to addresses every packet to the peer when
// s is not connected (a Mux's socket); nil when it is.
//
// The fast path is IPv4's alone: it builds the IP header itself from AF_INET route and
// neighbour look-ups (rtnl_linux.go). An IPv6 one would need its own header, hop limit,
// neighbour discovery states and path-MTU handling for a gain measured on IPv4 only, so an
// IPv6 peer gets the plain sendmmsg path.
func newTxPath(s *sock, to *rawName, remote, local netip.Addr, opt Options) txPath {
	if opt.FastPath && remote.Is4() {
		if p := openFastPath(remote, local, opt, bufferBytes(opt)); p != nil {
			t := &fastTx{fast: p}
			t.init(s, to)
			return t
		}
	}
	t := &ipTx{}
	t.init(s, to)
	return t
}

// ipTx sends through a raw GRE socket with sendmmsg; the kernel adds the IP header.
type ipTx struct {
	mu sync.Mutex // the write lock: one writeBatch at a time
	s  *sock
	b  batch
	to rawName // the peer, when s is not connected
}

// rawName is a socket address of either family as msg_name takes it.
type rawName struct {
	sa  unix.RawSockaddrInet6 // an IPv4 address fills its start as a RawSockaddrInet4
	len uint32
}

// rawNameOf is addr as a rawName (a link-local IPv6 address needs its zone).
func rawNameOf(addr netip.Addr) (rawName, error) {
	var n rawName
	sa, err := sockaddrOf(addr)
	if err != nil {
		return n, err
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		r := (*unix.RawSockaddrInet4)(unsafe.Pointer(&n.sa))
		r.Family, r.Addr = unix.AF_INET, sa.Addr
		n.len = unix.SizeofSockaddrInet4
	case *unix.SockaddrInet6:
		n.sa.Family, n.sa.Addr, n.sa.Scope_id = unix.AF_INET6, sa.Addr, sa.ZoneId
		n.len = unix.SizeofSockaddrInet6
	}
	return n, nil
}

// init points the batch at its iovecs and, if to is not nil, every message at the peer.
// It runs in place: the messages point into t.
func (t *ipTx) init(s *sock, to *rawName) {
	t.s = s
	t.b.init()
	if to == nil {
		return
	}
	t.to = *to
	for i := range t.b.msgs {
		t.b.msgs[i].hdr.Name = (*byte)(unsafe.Pointer(&t.to.sa))
		t.b.msgs[i].hdr.Namelen = t.to.len
	}
}

func (t *ipTx) writeBatch(bufs [][]byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	sent := 0
	for sent < len(bufs) {
		n, err := t.send(bufs[sent:min(len(bufs), sent+MaxBatch)])
		sent += n
		if err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// send sends pkts (at most MaxBatch) the IP way; on an error pkts[n] is the packet
// refused. Precondition: t.mu held.
func (t *ipTx) send(pkts [][]byte) (int, error) {
	t.b.set(pkts)
	n, err := t.s.sendmmsg(t.b.msgs[:len(pkts)])
	t.b.clear()
	return n, err
}

func (*ipTx) peerSeen()          {}
func (*ipTx) attachStats(*Stats) {}
func (*ipTx) close()             {}

// fastTx sends through the fast path (see fastPath) while it is usable and for the
// packets that fit its MTU, and the IP way otherwise.
type fastTx struct {
	ipTx // its mu also guards fast
	fast *fastPath
}

func (t *fastTx) writeBatch(bufs [][]byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.fast.refresh(time.Now())
	sent := 0
	for sent < len(bufs) {
		chunk := bufs[sent:min(len(bufs), sent+MaxBatch)]
		fast, k := t.fast.split(chunk)
		var n int
		var err error
		if fast {
			n, err = t.fast.write(chunk[:k])
		} else {
			n, err = t.send(chunk[:k])
		}
		sent += n
		if err != nil {
			return sent, err
		}
	}
	return sent, nil
}

func (t *fastTx) peerSeen() {
	if !t.fast.peerSeen.Load() {
		t.fast.peerSeen.Store(true)
	}
}

func (t *fastTx) attachStats(s *Stats) { t.fast.stats = s }

func (t *fastTx) close() {
	t.fast.closeFile() // a writer blocked on it gives up within blockTimeout
	t.mu.Lock()
	t.fast.release()
	t.mu.Unlock()
}
