// SPDX-License-Identifier: MIT

package gre

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The fast path's questions to the kernel, each one netlink request and reply
// parsed in place: where does a packet to the peer leave (RTM_GETROUTE), what
// is that device (RTM_GETLINK), what is the next hop's Ethernet address
// (RTM_GETNEIGH), and is there anything in this namespace that expects to see
// our packets in the IP output path (nftables or iptables tables, IPsec
// policies).

// Netlink constants x/sys/unix does not name.
const (
	nfnlSubsysNFTables = 10
	nftMsgGetTable     = 1
	nftMsgNewTable     = 0
	rtaxMTU            = 2 // in RTA_METRICS
	xfrmMsgNewPolicy   = 0x13
	xfrmMsgGetPolicy   = 0x15
)

// nlAttrs walks the rtattr list b, calling f with each attribute's type and
// payload; it stops at the first malformed attribute.
func nlAttrs(b []byte, f func(typ uint16, data []byte)) {
	for len(b) >= unix.SizeofRtAttr {
		l := int(binary.NativeEndian.Uint16(b))
		if l < unix.SizeofRtAttr || l > len(b) {
			return
		}
		f(binary.NativeEndian.Uint16(b[2:])&^unix.NLA_F_NESTED, b[unix.SizeofRtAttr:l])
		b = b[min(len(b), (l+unix.RTA_ALIGNTO-1)&^(unix.RTA_ALIGNTO-1)):]
	}
}

// nlMessages walks the netlink messages in b, calling f with each header and
// payload until f returns false; it reports whether the stream was well formed.
func nlMessages(b []byte, f func(h *unix.NlMsghdr, body []byte) bool) bool {
	for len(b) > 0 {
		if len(b) < unix.NLMSG_HDRLEN {
			return false
		}
		h := (*unix.NlMsghdr)(unsafe.Pointer(&b[0]))
		l := int(h.Len)
		if l < unix.NLMSG_HDRLEN || l > len(b) {
			return false
		}
		if !f(h, b[unix.NLMSG_HDRLEN:l]) {
			return true
		}
		b = b[min(len(b), (l+unix.NLMSG_ALIGNTO-1)&^(unix.NLMSG_ALIGNTO-1)):]
	}
	return true
}

// errNoReply is returned when the kernel's answer did not carry what was asked.
var errNoReply = errors.New("gre: netlink: no usable reply")

// nlErr turns an NLMSG_ERROR payload into an error (nil for an ack).
func nlErr(body []byte) error {
	if len(body) < 4 {
		return errNoReply
	}
	if e := int32(binary.NativeEndian.Uint32(body)); e < 0 {
		return unix.Errno(-e)
	}
	return nil
}

// route is where packets to the peer leave.
type route struct {
	oif     int
	gateway netip.Addr // zero when the peer is on the link
	mtu     int        // route or path MTU, 0 = the device's
}

// nlReply reads the answer to a request: an NLMSG_ERROR becomes the error, and the
// first message of type want with at least hdrLen bytes is handed to f as its fixed
// header and attributes; anything else is errNoReply.
func nlReply(b []byte, want uint16, hdrLen int, f func(fixed, attrs []byte) error) error {
	err := errNoReply
	nlMessages(b, func(h *unix.NlMsghdr, body []byte) bool {
		switch {
		case h.Type == unix.NLMSG_ERROR:
			if e := nlErr(body); e != nil {
				err = e
			}
		case h.Type == want && len(body) >= hdrLen:
			err = f(body[:hdrLen], body[hdrLen:])
		}
		return false
	})
	return err
}

// parseRoute reads an RTM_GETROUTE reply: one unicast route with an output
// interface, or an error.
func parseRoute(b []byte) (r route, err error) {
	err = nlReply(b, unix.RTM_NEWROUTE, unix.SizeofRtMsg, func(rt, attrs []byte) error {
		if rt[7] != unix.RTN_UNICAST {
			return errNoReply
		}
		nlAttrs(attrs, func(typ uint16, d []byte) {
			switch {
			case typ == unix.RTA_OIF && len(d) == 4:
				r.oif = int(binary.NativeEndian.Uint32(d))
			case typ == unix.RTA_GATEWAY && len(d) == 4:
				r.gateway = netip.AddrFrom4([4]byte(d))
			case typ == unix.RTA_METRICS:
				nlAttrs(d, func(typ uint16, d []byte) {
					if typ == rtaxMTU && len(d) == 4 {
						r.mtu = int(binary.NativeEndian.Uint32(d))
					}
				})
			}
		})
		if r.oif <= 0 {
			return errNoReply
		}
		return nil
	})
	return r, err
}

// device is what the fast path needs of the egress interface.
type device struct {
	// usable: an up Ethernet device with a 6-byte address whose transmit
	// queue is one for all our packets. A packet socket has no cached route,
	// so on a device with several queues and a qdisc the kernel may pick the
	// queue by CPU (XPS) and reorder our packets when the sending goroutine
	// moves; the raw socket keeps one queue. Queue-less devices (veth,
	// bridge: noqueue) reorder nothing.
	usable bool
	mtu    int
}

func parseLink(b []byte) (d device, err error) {
	err = nlReply(b, unix.RTM_NEWLINK, unix.SizeofIfInfomsg, func(fixed, attrs []byte) error {
		ifi := (*unix.IfInfomsg)(unsafe.Pointer(&fixed[0]))
		hw, queues, noqueue := false, 0, false
		nlAttrs(attrs, func(typ uint16, a []byte) {
			switch {
			case typ == unix.IFLA_MTU && len(a) == 4:
				d.mtu = int(binary.NativeEndian.Uint32(a))
			case typ == unix.IFLA_ADDRESS:
				hw = len(a) == 6
			case typ == unix.IFLA_NUM_TX_QUEUES && len(a) == 4:
				queues = int(binary.NativeEndian.Uint32(a))
			case typ == unix.IFLA_QDISC:
				noqueue = string(bytes.TrimRight(a, "\x00")) == "noqueue"
			}
		})
		d.usable = ifi.Type == unix.ARPHRD_ETHER && ifi.Flags&unix.IFF_UP != 0 && hw && d.mtu >= 68 &&
			(queues <= 1 || noqueue)
		return nil
	})
	return d, err
}

// Neighbour states in which the link-layer address is usable.
const (
	nudUsable    = unix.NUD_REACHABLE | unix.NUD_STALE | unix.NUD_DELAY | unix.NUD_PROBE | unix.NUD_PERMANENT
	nudConfirmed = unix.NUD_REACHABLE | unix.NUD_PERMANENT
)

// parseNeigh reads an RTM_GETNEIGH reply: the next hop's state and address.
func parseNeigh(b []byte) (state uint16, mac [6]byte, err error) {
	err = nlReply(b, unix.RTM_NEWNEIGH, unix.SizeofNdMsg, func(nd, attrs []byte) error {
		e := errNoReply
		nlAttrs(attrs, func(typ uint16, a []byte) {
			if typ == unix.NDA_LLADDR && len(a) == 6 {
				state, mac, e = binary.NativeEndian.Uint16(nd[8:]), [6]byte(a), nil
			}
		})
		return e
	})
	return state, mac, err
}

// dumpHas reads one part of a dump reply: found reports a message of type
// want, done the end of the dump.
func dumpHas(b []byte, want uint16) (found, done bool, err error) {
	if !nlMessages(b, func(h *unix.NlMsghdr, body []byte) bool {
		switch h.Type {
		case want:
			found = true
		case unix.NLMSG_DONE:
			done = true
		case unix.NLMSG_ERROR:
			err, done = nlErr(body), true
		}
		return !done
	}) {
		return found, true, errNoReply
	}
	return found, done, err
}

// nlReplyBytes is the receive buffer: a link reply is under 2 KiB, and the
// kernel sizes dump parts to the reader's buffer; a part that does not fit is
// cut and then fails to parse, which counts as "cannot tell" (not usable).
const nlReplyBytes = 8 << 10

// nlSock is a netlink socket for request and reply, owned by one goroutine.
// Sockets used one after the other may share buf.
type nlSock struct {
	fd  int
	seq uint32
	req [64]byte
	buf []byte
}

// openNetlink opens a socket of protocol proto that reads replies into buf.
func openNetlink(proto int, buf []byte) (*nlSock, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return nil, err
	}
	// The kernel answers within the send; the timeout only guards a bug.
	tv := unix.Timeval{Sec: 1}
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &nlSock{fd: fd, buf: buf}, nil
}

func (s *nlSock) close() {
	if s != nil {
		unix.Close(s.fd)
	}
}

// msg starts a request of type typ with a fixed header of hdrLen zero bytes
// and returns that header for the caller to fill.
func (s *nlSock) msg(typ, flags uint16, hdrLen int) []byte {
	clear(s.req[:])
	s.seq++
	h := (*unix.NlMsghdr)(unsafe.Pointer(&s.req[0]))
	*h = unix.NlMsghdr{Len: uint32(unix.NLMSG_HDRLEN + hdrLen), Type: typ, Flags: unix.NLM_F_REQUEST | flags, Seq: s.seq}
	return s.req[unix.NLMSG_HDRLEN : unix.NLMSG_HDRLEN+hdrLen]
}

// attr appends an attribute to the request.
func (s *nlSock) attr(typ uint16, data []byte) {
	h := (*unix.NlMsghdr)(unsafe.Pointer(&s.req[0]))
	off := int(h.Len)
	binary.NativeEndian.PutUint16(s.req[off:], uint16(unix.SizeofRtAttr+len(data)))
	binary.NativeEndian.PutUint16(s.req[off+2:], typ)
	copy(s.req[off+unix.SizeofRtAttr:], data)
	h.Len += uint32((unix.SizeofRtAttr + len(data) + 3) &^ 3)
}

// do sends the request and returns the first reply datagram of this sequence.
// An unconnected netlink socket writes to the kernel; plain write and read
// keep the exchange free of allocations.
func (s *nlSock) do() ([]byte, error) {
	h := (*unix.NlMsghdr)(unsafe.Pointer(&s.req[0]))
	if _, err := unix.Write(s.fd, s.req[:h.Len]); err != nil {
		return nil, err
	}
	return s.recv()
}

// recv returns the next datagram of the current request, skipping stale ones.
func (s *nlSock) recv() ([]byte, error) {
	for {
		n, err := unix.Read(s.fd, s.buf)
		if err != nil {
			return nil, err
		}
		if n >= unix.NLMSG_HDRLEN && (*unix.NlMsghdr)(unsafe.Pointer(&s.buf[0])).Seq == s.seq {
			return s.buf[:n], nil
		}
	}
}

// route asks for the route from local (if valid) to dst with mark.
func (s *nlSock) route(dst, local netip.Addr, mark int) (route, error) {
	rt := s.msg(unix.RTM_GETROUTE, 0, unix.SizeofRtMsg)
	rt[0], rt[1] = unix.AF_INET, 32 // family, dst_len
	d := dst.As4()
	s.attr(unix.RTA_DST, d[:])
	if local.IsValid() {
		rt[2] = 32 // src_len
		l := local.As4()
		s.attr(unix.RTA_SRC, l[:])
	}
	if mark != 0 {
		var m [4]byte
		binary.NativeEndian.PutUint32(m[:], uint32(mark))
		s.attr(unix.RTA_MARK, m[:])
	}
	b, err := s.do()
	if err != nil {
		return route{}, err
	}
	return parseRoute(b)
}

func (s *nlSock) link(index int) (device, error) {
	ifi := s.msg(unix.RTM_GETLINK, 0, unix.SizeofIfInfomsg)
	binary.NativeEndian.PutUint32(ifi[4:], uint32(index))
	b, err := s.do()
	if err != nil {
		return device{}, err
	}
	return parseLink(b)
}

func (s *nlSock) neigh(index int, ip netip.Addr) (uint16, [6]byte, error) {
	nd := s.msg(unix.RTM_GETNEIGH, 0, unix.SizeofNdMsg)
	nd[0] = unix.AF_INET
	binary.NativeEndian.PutUint32(nd[4:], uint32(index))
	a := ip.As4()
	s.attr(unix.NDA_DST, a[:])
	b, err := s.do()
	if err != nil {
		return 0, [6]byte{}, err
	}
	return parseNeigh(b)
}

// dumpAny reports whether a dump of typ (with a zeroed fixed header of
// hdrLen bytes) returns at least one message of type want. It reads the dump
// to its end: the kernel refuses a new dump on a socket whose last one is
// still running (EBUSY).
func (s *nlSock) dumpAny(typ uint16, hdrLen int, want uint16) (bool, error) {
	s.msg(typ, unix.NLM_F_DUMP, hdrLen)
	b, err := s.do()
	found := false
	for err == nil {
		f, done, derr := dumpHas(b, want)
		found = found || f
		if done {
			return found, derr
		}
		b, err = s.recv()
	}
	return found, err
}

// filtered reports whether this network namespace has anything that expects
// to see our packets in the kernel's IP output: nftables tables, legacy
// iptables tables (tables is /proc/net/ip_tables_names opened in the
// namespace, -1 if it did not exist) or IPsec (XFRM) policies. An error
// counts as yes.
func filtered(tables int, nft, xfrm *nlSock) bool {
	if tables >= 0 {
		var b [1]byte
		if n, err := unix.Pread(tables, b[:], 0); n > 0 || err != nil {
			return true
		}
	}
	if nft != nil {
		found, err := nft.dumpAny(nfnlSubsysNFTables<<8|nftMsgGetTable, 4, nfnlSubsysNFTables<<8|nftMsgNewTable)
		if found || err != nil && !absent(err) {
			return true
		}
	}
	if xfrm != nil {
		found, err := xfrm.dumpAny(xfrmMsgGetPolicy, unix.SizeofIfInfomsg, xfrmMsgNewPolicy)
		if found || err != nil && !absent(err) {
			return true
		}
	}
	return false
}

// openTablesNames opens the legacy iptables table list of the calling
// thread's namespace (/proc/net follows the process, not the thread). Without
// the ip_tables module it does not exist: -1, no tables.
func openTablesNames() int {
	fd, err := unix.Open("/proc/thread-self/net/ip_tables_names", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	return fd
}

// absent reports whether err says the kernel lacks the subsystem asked.
func absent(err error) bool {
	return errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EPROTONOSUPPORT)
}
