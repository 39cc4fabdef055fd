// SPDX-License-Identifier: MIT

package gre

import (
	"encoding/binary"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fastRecheck is how often, while sending, the fast path re-reads the route,
// the device, the next hop's address and the namespace's filters.
const fastRecheck = time.Second

const ipv4HeaderLen = 20

// fastPath sends GRE packets through an AF_PACKET socket on the egress
// Ethernet device instead of the raw IP socket. The kernel's IP output for a
// raw socket (route lookup, ip_append_data, netfilter hooks, neighbour output)
// is about a third of the sender's CPU per packet; the packet socket skips it
// and still queues on the device's qdisc, so traffic control applies.
//
// It is used only while all of these hold, checked at most once per
// fastRecheck while sending: a packet from the peer has arrived (the IP path
// works and anything tracking connections has seen the flow), the namespace
// has no netfilter tables and no IPsec policies (nothing there expects to see
// our packets), the route to the peer leaves through an up Ethernet device
// with one transmit queue or none (see device), and the next hop's Ethernet
// address is known. While that address is not confirmed one packet per check
// goes the IP way, which makes the kernel verify it. Packets longer than the
// path MTU always go the IP way, so the kernel fragments or refuses them as
// before.
//
// Only the goroutine holding its fastTx's write lock uses it, except peerSeen.
type fastPath struct {
	tx            *sock
	ns            *nsShared // nil once closed
	remote, local netip.Addr
	mark          int
	peerSeen      atomic.Bool
	stats         *Stats // set by NewLink; nil for a conn without a Link

	usable bool
	probe  bool // send the next packet the IP way
	mtu    int
	next   time.Time
	sll    unix.RawSockaddrLinklayer
	tmpl   [ipv4HeaderLen]byte
	sum    uint32 // one's complement sum of tmpl's constant words
	id     uint16

	hdrs [MaxBatch][ipv4HeaderLen]byte
	iovs [MaxBatch][2]unix.Iovec
	msgs [MaxBatch]mmsghdr
}

// openFastPath prepares the fast path of a conn to remote from local; nil
// when the kernel offers no packet or netlink sockets (the IP path serves).
func openFastPath(remote, local netip.Addr, opt Options, bufBytes int) *fastPath {
	if !local.IsValid() {
		return nil
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, bufBytes) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, bufBytes)
	}
	if opt.Mark != 0 && unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, opt.Mark) != nil {
		unix.Close(fd)
		return nil
	}
	tx, err := newSock(fd, "gre-fast:"+remote.String()) // blocking: see sock
	if err != nil {
		return nil
	}
	ns := joinNamespace()
	if ns == nil {
		tx.Close()
		return nil
	}
	p := &fastPath{tx: tx, ns: ns, remote: remote, local: local, mark: opt.Mark,
		id: uint16(time.Now().UnixNano())}
	p.sll = unix.RawSockaddrLinklayer{Family: unix.AF_PACKET, Halen: 6,
		Protocol: htons(unix.ETH_P_IP)}
	for i := range p.msgs {
		p.iovs[i][0].Base = &p.hdrs[i][0]
		p.iovs[i][0].SetLen(ipv4HeaderLen)
		p.msgs[i].hdr.Iov = &p.iovs[i][0]
		p.msgs[i].hdr.Iovlen = 2
		p.msgs[i].hdr.Name = (*byte)(unsafe.Pointer(&p.sll))
		p.msgs[i].hdr.Namelen = unix.SizeofSockaddrLinklayer
	}
	// The header a raw socket would write: no options, DF (path MTU
	// discovery is the kernel default), the namespace's default TTL.
	h := p.tmpl[:]
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[6:], 0x4000)
	h[8] = byte(defaultTTL())
	h[9] = unix.IPPROTO_GRE
	l, r := local.As4(), remote.As4()
	copy(h[12:16], l[:])
	copy(h[16:20], r[:])
	for i := 0; i < ipv4HeaderLen; i += 2 {
		p.sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	return p
}

func htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}

// defaultTTL is the calling thread's namespace's net.ipv4.ip_default_ttl,
// which a raw socket without IP_TTL uses.
func defaultTTL() int {
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_default_ttl"); err == nil {
		if v, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && v > 0 && v < 256 {
			return v
		}
	}
	return 64
}

// closeFile closes the packet socket (see sock.Close); safe to call concurrently
// with a write. release must follow under the write lock.
func (p *fastPath) closeFile() { p.tx.Close() }

// release leaves the namespace's shared netlink sockets.
func (p *fastPath) release() {
	if p.ns != nil {
		p.ns.leave()
		p.ns = nil
	}
	p.usable = false
}

// refresh re-checks, when due, whether and where the fast path may send.
func (p *fastPath) refresh(now time.Time) {
	if now.Before(p.next) || !p.peerSeen.Load() || p.ns == nil {
		return
	}
	p.next = now.Add(fastRecheck)
	p.usable = false
	ns := p.ns
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.filteredLocked(now) {
		return
	}
	r, err := ns.rt.route(p.remote, p.local, p.mark)
	if err != nil {
		return
	}
	dev, err := ns.rt.link(r.oif)
	if err != nil || !dev.usable {
		return
	}
	hop := r.gateway
	if !hop.IsValid() {
		hop = p.remote
	}
	state, mac, err := ns.rt.neigh(r.oif, hop)
	if err != nil || state&nudUsable == 0 {
		return
	}
	p.mtu = dev.mtu
	if r.mtu > 0 && r.mtu < p.mtu {
		p.mtu = r.mtu
	}
	p.probe = state&nudConfirmed == 0
	p.sll.Ifindex = int32(r.oif)
	copy(p.sll.Addr[:], mac[:])
	p.usable = true
}

// split says how to send the start of pkts: fast or not, and how many.
func (p *fastPath) split(pkts [][]byte) (fast bool, n int) {
	if !p.usable {
		return false, len(pkts)
	}
	if p.probe {
		p.probe = false
		return false, 1
	}
	fits := func(b []byte) bool { return ipv4HeaderLen+len(b) <= p.mtu }
	want := fits(pkts[0])
	for n < len(pkts) && fits(pkts[n]) == want {
		n++
	}
	return want, n
}

// write sends pkts (at most MaxBatch, each fitting the MTU) with one or more
// sendmmsg calls; on an error pkts[n] is the packet refused.
func (p *fastPath) write(pkts [][]byte) (int, error) {
	for i, b := range pkts {
		h := p.hdrs[i][:]
		copy(h, p.tmpl[:])
		total := uint16(ipv4HeaderLen + len(b))
		p.id++
		binary.BigEndian.PutUint16(h[2:], total)
		binary.BigEndian.PutUint16(h[4:], p.id)
		s := p.sum + uint32(total) + uint32(p.id)
		s = s>>16 + s&0xffff
		s += s >> 16
		binary.BigEndian.PutUint16(h[10:], ^uint16(s))
		p.iovs[i][1].Base = unsafe.SliceData(b)
		p.iovs[i][1].SetLen(len(b))
	}
	n, err := p.tx.sendmmsg(p.msgs[:len(pkts)])
	for i := range pkts {
		p.iovs[i][1].Base = nil
	}
	if p.stats != nil {
		p.stats.TxFast.Add(uint64(n))
	}
	return n, err
}
