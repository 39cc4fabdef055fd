// SPDX-License-Identifier: MIT

package gre

import "time"

// PacketConn is what a Link sends and receives through. *Conn (the raw GRE
// socket) is the production one; tests put a lossy in-memory link here.
//
// ReadBatch fills bufs[i][:sizes[i]] with whole IPv4 packets, header
// included (the Link strips it), for i < n; it waits until at least one
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

var _ PacketConn = (*Conn)(nil)
