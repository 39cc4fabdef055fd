// SPDX-License-Identifier: MIT

package gre

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Conn is a raw IPPROTO_GRE socket connected to one peer: the kernel only
// delivers GRE from that address (every such socket on the host gets its own
// copy). Reads return whole IPv4 packets, header included, from an IPv4 peer
// and GRE packets alone from an IPv6 one (family.go); writes take GRE packets
// and the kernel adds the IP header. I/O is batched with
// recvmmsg/sendmmsg, through the Go runtime poller (a blocked read parks
// only its goroutine) or, with Options.Blocking, in blocking calls.
//
// ReadBatch and WriteBatch may be called concurrently with each other and
// with SetReadDeadline and Close. In blocking mode a deadline set while a
// ReadBatch waits applies from the next ReadBatch.
type Conn struct {
	s      *sock
	remote netip.Addr
	local  netip.Addr
	rcvbuf int    // SO_RCVBUF granted: the truesize of packets the kernel queues
	tx     txPath // through s, or the fast path

	// Reading, under rmu.
	rmu      sync.Mutex
	r        batch
	rfn      func(fd uintptr) bool // c.recv bound once
	rtimeo   time.Duration         // SO_RCVTIMEO set on the socket (blocking mode), 0 = none
	rdone    int
	rerr     error
	deadline atomic.Int64 // blocking mode: read deadline in Unix ns, 0 = none
}

// Dial opens a raw GRE socket connected to remote, IPv4 or IPv6 (a link-local IPv6
// address needs its zone, the interface).
func Dial(remote netip.Addr, opt Options) (*Conn, error) {
	remote = remote.Unmap()
	rsa, err := sockaddrOf(remote)
	if err != nil {
		return nil, fmt.Errorf("gre: peer %w", err)
	}
	local := opt.Local.Unmap()
	var lsa unix.Sockaddr
	if local.IsValid() {
		if local.Is4() != remote.Is4() {
			return nil, fmt.Errorf("gre: local address %v and peer %v are of different families", opt.Local, remote)
		}
		if lsa, err = sockaddrOf(local); err != nil {
			return nil, fmt.Errorf("gre: local address %w", err)
		}
	}
	v4 := framedIPv4(remote)
	fd, err := openRaw(opt, 1, v4)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			unix.Close(fd)
		}
	}()
	if opt.CallID != 0 {
		if err := attachFilter(fd, callIDProgram(v4, bpf.JumpEqual, uint32(opt.CallID))); err != nil {
			return nil, err
		}
	}
	if lsa != nil {
		if err := unix.Bind(fd, lsa); err != nil {
			return nil, fmt.Errorf("gre: bind %v: %w", local, err)
		}
	}
	if err := unix.Connect(fd, rsa); err != nil {
		return nil, fmt.Errorf("gre: connect %v: %w", remote, err)
	}
	// Packets that arrived before the filter and connect took effect may
	// be from anyone; drop them.
	var scratch [64]byte
	for {
		if _, _, err := unix.Recvfrom(fd, scratch[:], unix.MSG_DONTWAIT); err != nil {
			break
		}
	}
	if sa, err := unix.Getsockname(fd); err == nil {
		switch sa := sa.(type) {
		case *unix.SockaddrInet4:
			local = netip.AddrFrom4(sa.Addr)
		case *unix.SockaddrInet6:
			if a := netip.AddrFrom16(sa.Addr); !a.IsUnspecified() {
				local = a.WithZone(remote.Zone())
			}
		}
	}
	rcvbuf, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
	ok = true
	c, err := newConn(fd, remote, local, opt)
	if err != nil {
		return nil, err
	}
	c.rcvbuf = rcvbuf
	return c, nil
}

// ErrNoZone is matched (errors.Is) by the error for a link-local IPv6 address without its
// zone: such an address means nothing until the interface is named (fe80::1%eth0).
var ErrNoZone = errors.New("link-local IPv6 address needs a zone (the interface, as in fe80::1%eth0)")

// sockaddrOf is addr as a socket address of its family; a link-local IPv6 address's zone
// becomes the scope (interface) ID. Errors name addr.
func sockaddrOf(addr netip.Addr) (unix.Sockaddr, error) {
	addr = addr.Unmap()
	switch {
	case addr.Is4():
		return &unix.SockaddrInet4{Addr: addr.As4()}, nil
	case !addr.Is6():
		return nil, fmt.Errorf("%v is not an IP address", addr)
	}
	sa := &unix.SockaddrInet6{Addr: addr.As16()}
	zone := addr.Zone()
	if zone == "" {
		if addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast() {
			return nil, fmt.Errorf("%v: %w", addr, ErrNoZone)
		}
		return sa, nil
	}
	if n, err := strconv.ParseUint(zone, 10, 32); err == nil {
		sa.ZoneId = uint32(n)
		return sa, nil
	}
	ifi, err := net.InterfaceByName(zone)
	if err != nil {
		return nil, fmt.Errorf("%v: zone %q: %w", addr, zone, err)
	}
	sa.ZoneId = uint32(ifi.Index)
	return sa, nil
}

// openRaw opens a raw GRE socket of the IPv4 family (or IPv6's) with opt's mark and
// factor × its buffer sizes, blocking if opt.Blocking.
func openRaw(opt Options, factor int, v4 bool) (int, error) {
	kind := unix.SOCK_RAW | unix.SOCK_CLOEXEC
	if !opt.Blocking {
		kind |= unix.SOCK_NONBLOCK
	}
	family := unix.AF_INET
	if !v4 {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, kind, unix.IPPROTO_GRE)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return -1, fmt.Errorf("raw GRE socket needs root or CAP_NET_RAW: %w", err)
		}
		return -1, fmt.Errorf("gre: socket: %w", err)
	}
	if opt.Mark != 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, opt.Mark); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("gre: SO_MARK %d: %w", opt.Mark, err)
		}
	}
	size := factor * bufferBytes(opt)
	// Larger buffers only cost memory and their absence only performance,
	// so failures here are not fatal. The FORCE variants need CAP_NET_ADMIN
	// and ignore net.core.[rw]mem_max.
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, size)
	}
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, size) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, size)
	}
	return fd, nil
}

// RecvWindow returns the Packet Recv. Window Size (RFC 2637 §4.2) the socket's receive
// buffer holds (WindowFor): at most limit, fewer if the kernel granted less than
// Options.BufferBytes (without CAP_NET_ADMIN net.core.rmem_max caps it).
func (c *Conn) RecvWindow(limit uint16) uint16 { return WindowFor(c.rcvbuf, limit) }

// newConn wraps a connected datagram socket, polled if it is non-blocking, with the fast
// path if opt asks for it; it takes ownership of fd.
func newConn(fd int, remote, local netip.Addr, opt Options) (*Conn, error) {
	s, err := newSock(fd, "gre:"+remote.String())
	if err != nil {
		return nil, fmt.Errorf("gre: %w", err)
	}
	c := &Conn{s: s, remote: remote, local: local}
	c.r.init()
	c.rfn = c.recv
	c.tx = newTxPath(s, nil, remote, local, opt)
	return c, nil
}

// attachFilter assembles prog and attaches it to fd.
func attachFilter(fd int, prog []bpf.Instruction) error {
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return fmt.Errorf("gre: BPF filter: %w", err)
	}
	return attachRaw(fd, raw)
}

func attachRaw(fd int, raw []bpf.RawInstruction) error {
	prog := make([]unix.SockFilter, len(raw))
	for i, ins := range raw {
		prog[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
		return fmt.Errorf("gre: SO_ATTACH_FILTER: %w", err)
	}
	return nil
}

// RemoteAddr is the peer address.
func (c *Conn) RemoteAddr() netip.Addr { return c.remote }

// LocalAddr is the bound address, or the zero Addr if the kernel chooses per packet.
func (c *Conn) LocalAddr() netip.Addr { return c.local }

// ReadBatch reads up to min(len(bufs), len(sizes), MaxBatch) packets with
// one recvmmsg, waiting until at least one is available, the read deadline
// passes (an error matching os.ErrDeadlineExceeded) or the Conn is closed.
// bufs[i][:sizes[i]] is then an IPv4 packet including its header (from an
// IPv6 peer: the GRE packet); a packet longer than bufs[i] is cut short (its
// IPv4 total length, or GRE's payload length, tells).
func (c *Conn) ReadBatch(bufs [][]byte, sizes []int) (int, error) {
	n := min(len(bufs), len(sizes), MaxBatch)
	if n == 0 {
		return 0, nil
	}
	b := &c.r
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.rdone, c.rerr = 0, nil
	b.set(bufs[:n])
	err := c.s.rc.Read(c.rfn)
	b.clear()
	if err == nil {
		err = c.rerr
	}
	if c.s.closed.Load() {
		return 0, net.ErrClosed
	}
	for i := range c.rdone {
		sizes[i] = int(b.msgs[i].n)
	}
	if c.rdone > 0 {
		c.tx.peerSeen()
	}
	return c.rdone, err
}

// recv is the RawConn.Read callback: true when done or failed, false to
// wait in the poller.
func (c *Conn) recv(fd uintptr) bool {
	b := &c.r
	for {
		flags, err := c.readFlags(fd)
		if err != nil {
			c.rerr = err
			return true
		}
		r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.msgs[0])), uintptr(b.n), uintptr(flags), 0, 0)
		switch {
		case e == 0:
			c.rdone = int(r)
			return true
		case e == unix.EINTR: // again, with what is left of the deadline
		case e == unix.EAGAIN && c.s.blocking: // the deadline passed
			c.rerr = os.ErrDeadlineExceeded
			return true
		case e == unix.EAGAIN:
			return false
		default:
			c.rerr = e
			return true
		}
	}
}

// readFlags returns the recvmmsg flags for a read now. In blocking mode
// that is: return once at least one packet is in, and SO_RCVTIMEO is made
// what is left of the deadline (rounded up; zero means none), or, if it has
// passed, do not wait at all.
func (c *Conn) readFlags(fd uintptr) (int, error) {
	if !c.s.blocking {
		return 0, nil
	}
	var left time.Duration
	if d := c.deadline.Load(); d != 0 {
		if left = time.Until(time.Unix(0, d)); left <= 0 {
			return unix.MSG_DONTWAIT, nil
		}
		left = max(left, time.Microsecond)
	}
	if left != c.rtimeo {
		tv := unix.NsecToTimeval(int64(left))
		if err := unix.SetsockoptTimeval(int(fd), unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return 0, err
		}
		c.rtimeo = left
	}
	return unix.MSG_WAITFORONE, nil
}

// WriteBatch sends each of bufs as one GRE packet, MaxBatch per sendmmsg.
// It returns how many were sent; on an error, bufs[n] is the packet the
// kernel refused (the ones after it were not attempted).
func (c *Conn) WriteBatch(bufs [][]byte) (int, error) { return c.tx.writeBatch(bufs) }

// SetReadDeadline sets the deadline for ReadBatch; the zero Time means none.
func (c *Conn) SetReadDeadline(t time.Time) error {
	if !c.s.blocking {
		return c.s.f.SetReadDeadline(t)
	}
	c.deadline.Store(deadlineNs(t))
	return nil
}

// deadlineNs is t in Unix nanoseconds, 0 for the zero Time.
func deadlineNs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return max(t.UnixNano(), 1)
}

// Close closes the socket; blocked calls return an error.
func (c *Conn) Close() error {
	err := c.s.Close()
	c.tx.close()
	return err
}

// attachStats lets the fast path count into the Link's Stats.
func (c *Conn) attachStats(s *Stats) { c.tx.attachStats(s) }
