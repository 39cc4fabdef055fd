// SPDX-License-Identifier: MIT

package gre

import (
	"net/netip"
	"time"
)

// PacketConn is what a Link sends and receives through. A CallConn (a raw GRE
// socket) is the production one; tests put a lossy in-memory link here.
//
// ReadBatch fills bufs[i][:sizes[i]] with whole IPv4 packets, header
// included (the Link strips it), for i < n — or with GRE packets alone if the
// conn has a RemoteAddr() netip.Addr method that returns an IPv6 address (as a
// raw IPv6 socket reads them, family.go); it waits until at least one
// packet is available, the read deadline passes (an error matching
// os.ErrDeadlineExceeded, after which the Link reads again) or the conn is
// closed. WriteBatch sends each bufs[i] as one GRE packet (no IP header) and
// returns how many it sent; on an error, bufs[n] is the one refused (a
// syscall.Errno the Link deems transient lets it go on with the rest). Both
// may run concurrently with each other and with SetReadDeadline and Close,
// but a deadline need only apply from the next ReadBatch (a blocking *Conn
// does not shorten a read already waiting; the Link sets deadlines from its
// reading goroutine).
// Neither may keep the caller's buffers after it returns.
type PacketConn interface {
	ReadBatch(bufs [][]byte, sizes []int) (n int, err error)
	WriteBatch(bufs [][]byte) (n int, err error)
	SetReadDeadline(t time.Time) error
	Close() error
}

// CallConn is one call's raw GRE socket: a *Conn of its own (Dial) or a
// *MuxConn on a shared Mux (Mux.Dial). Only this package implements it.
type CallConn interface {
	PacketConn
	// RecvWindow is the Packet Recv. Window Size (RFC 2637 §4.2) to advertise:
	// what the socket's receive queue holds (WindowFor), at most limit.
	RecvWindow(limit uint16) uint16
	RemoteAddr() netip.Addr // the peer
	LocalAddr() netip.Addr  // the bound address, or the zero Addr if the kernel chooses per packet

	// attachStats lets the conn count into its Link's Stats (Stats.TxFast).
	attachStats(*Stats)
}

// Both kinds exist on every GOOS (conn_other.go outside Linux), with the same methods.
var (
	_ CallConn = (*Conn)(nil)
	_ CallConn = (*MuxConn)(nil)
)
