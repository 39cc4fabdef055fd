// SPDX-License-Identifier: MIT

package gre

import (
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// blockTimeout bounds a blocking send waiting for buffer space (SO_SNDTIMEO),
// so that a sender notices Close within it.
const blockTimeout = 100 * time.Millisecond

// sock is a datagram socket used with batched system calls, either through
// the Go runtime poller (a non-blocking descriptor) or outside it (a blocking
// one, where a call that has to wait sleeps in the kernel on its own thread).
//
// Outside the poller a socket costs fewer wake-ups per packet. For every
// packet the kernel queues on a socket, and for every packet of its own
// that it frees (on a veth: as soon as the peer takes it), it wakes the
// socket's waiters; for a polled socket that is the runtime's epoll thread,
// woken whether or not a goroutine waits on the socket. In a 4 s upload
// between our ends the client made 121 k epoll waits and 110 k context
// switches with its fast-path socket in the poller, 47 k and 68 k outside
// it (TCP +9 % up, +17 % down); reading GRE in a blocking call instead of
// through the poller added another 8-11 % (docs/performance.md). The price
// is an OS thread per waiting reader, so servers keep most calls' GRE
// sockets polled. The fast path's packet socket is always blocking: it only
// sends, and a send waits only while 4 MiB are queued on the device.
//
// A blocked send gives up every blockTimeout to look at the closed flag;
// Close shuts a blocking socket down, which wakes a blocked read at once.
//
// sendmmsg is called by one goroutine at a time (the owner's write lock).
type sock struct {
	f        *os.File
	rc       syscall.RawConn
	blocking bool
	borrowed bool // another sock's file (see borrow): Close leaves the socket alone
	closed   atomic.Bool

	msgs []mmsghdr // the sendmmsg in progress
	done int
	err  error
	fn   func(fd uintptr) bool // method value bound once
}

// newSock takes ownership of fd, whose O_NONBLOCK flag decides the mode.
func newSock(fd int, name string) (*sock, error) {
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err == nil && flags&unix.O_NONBLOCK == 0 {
		tv := unix.NsecToTimeval(int64(blockTimeout))
		err = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
	}
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	// os.NewFile registers a non-blocking descriptor with the poller and
	// leaves a blocking one alone.
	s := &sock{f: os.NewFile(uintptr(fd), name), blocking: flags&unix.O_NONBLOCK == 0}
	if s.rc, err = s.f.SyscallConn(); err != nil {
		s.f.Close()
		return nil, err
	}
	s.fn = s.send
	return s, nil
}

// sendmmsg sends msgs with as many sendmmsg calls as it takes. It returns
// how many were sent; on an error msgs[n] is the one refused.
func (s *sock) sendmmsg(msgs []mmsghdr) (int, error) {
	if s.closed.Load() { // a borrowed sock's file stays open after its Close
		return 0, net.ErrClosed
	}
	s.msgs, s.done, s.err = msgs, 0, nil
	err := s.rc.Write(s.fn)
	s.msgs = nil
	if err == nil {
		err = s.err
	}
	if err != nil && s.closed.Load() {
		err = net.ErrClosed // also when closed before the call ("use of closed file")
	}
	return s.done, err
}

// send is the RawConn.Write callback: true when done or failed, false to
// wait in the poller.
func (s *sock) send(fd uintptr) bool {
	for s.done < len(s.msgs) {
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&s.msgs[s.done])), uintptr(len(s.msgs)-s.done), 0, 0, 0)
		switch {
		case e == 0:
			s.done += int(r)
		case e == unix.EINTR:
		case s.closed.Load():
			s.err = net.ErrClosed
			return true
		case e == unix.EAGAIN && s.blocking: // SO_SNDTIMEO passed, buffer still full
		case e == unix.EAGAIN:
			return false
		default:
			s.err = e
			return true
		}
	}
	return true
}

// borrow returns a sock that sends through s's socket with batch state of its own
// (one sendmmsg in progress per sock). Closing it only marks it closed.
func (s *sock) borrow() *sock {
	b := &sock{f: s.f, rc: s.rc, blocking: s.blocking, borrowed: true}
	b.fn = b.send
	return b
}

// Close closes the socket. Blocked calls return: a blocking socket is shut
// down first (which wakes them), and its descriptor is released once no call
// uses it.
func (s *sock) Close() error {
	s.closed.Store(true)
	if s.borrowed {
		return nil
	}
	if s.blocking {
		_ = s.rc.Control(func(fd uintptr) { _ = unix.Shutdown(int(fd), unix.SHUT_RDWR) })
	}
	return s.f.Close()
}

// mmsghdr is struct mmsghdr: a msghdr and the byte count the kernel fills
// in. Go pads the struct to the msghdr's alignment as C does.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// batch holds the preallocated recvmmsg/sendmmsg argument arrays of one
// direction, so that steady-state I/O allocates nothing.
type batch struct {
	msgs [MaxBatch]mmsghdr
	iovs [MaxBatch]unix.Iovec
	n    int // messages in this call
}

func (b *batch) init() {
	for i := range b.msgs {
		b.msgs[i].hdr.Iov = &b.iovs[i]
		b.msgs[i].hdr.Iovlen = 1
	}
}

// set points the first len(bufs) iovecs at bufs.
func (b *batch) set(bufs [][]byte) {
	b.n = len(bufs)
	for i, p := range bufs {
		b.iovs[i].Base = unsafe.SliceData(p)
		b.iovs[i].SetLen(len(p))
	}
}

// clear drops the references to the caller's buffers.
func (b *batch) clear() {
	for i := range b.n {
		b.iovs[i].Base = nil
	}
}
