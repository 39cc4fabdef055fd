// SPDX-License-Identifier: MIT

package gre

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

// Stats are a Link's counters, named after pptp-linux's GRE statistics.
// They may be read at any time from any goroutine.
type Stats struct {
	RxAccepted    atomic.Uint64 // data packets delivered in order
	RxLost        atomic.Uint64 // sequence numbers skipped (never received in time)
	RxUnderWin    atomic.Uint64 // duplicate or old packets dropped
	RxOverWin     atomic.Uint64 // packets beyond the missing window dropped
	RxBuffered    atomic.Uint64 // packets queued for reordering
	RxErrors      atomic.Uint64 // socket receive errors survived (e.g. ICMP reported)
	RxTruncated   atomic.Uint64 // packets shorter than their headers say
	RxInvalid     atomic.Uint64 // packets failing GRE/IPv4 validation
	RxAcks        atomic.Uint64 // acknowledgments received
	RxBadAcks     atomic.Uint64 // acknowledgments of sequence numbers we never sent: ignored
	TxSent        atomic.Uint64 // packets handed to the kernel (data and ack-only)
	TxFast        atomic.Uint64 // of TxSent, packets sent by the packet-socket fast path
	TxFailed      atomic.Uint64 // packets the kernel refused (ENOBUFS, EMSGSIZE, ...)
	TxShort       atomic.Uint64 // frames refused for lack of headroom
	TxAcks        atomic.Uint64 // ack-only packets sent
	TxWindowWaits atomic.Uint64 // times Write waited for the peer's ack (send window full)
	TxOversize    atomic.Uint64 // frames longer than a GRE payload can be
	RTT           atomic.Int64  // smoothed round-trip time in nanoseconds, 0 = unknown
}

// String renders the counters as pptp-linux's SIGUSR1 dump does, one per line.
func (s *Stats) String() string {
	var b strings.Builder
	line := func(name string, v uint64) { fmt.Fprintf(&b, "%-12s = %d\n", name, v) }
	b.WriteString("GRE statistics:\n")
	line("rx accepted", s.RxAccepted.Load())
	line("rx lost", s.RxLost.Load())
	line("rx under win", s.RxUnderWin.Load())
	line("rx over win", s.RxOverWin.Load())
	line("rx buffered", s.RxBuffered.Load())
	line("rx OS errors", s.RxErrors.Load())
	line("rx truncated", s.RxTruncated.Load())
	line("rx invalid", s.RxInvalid.Load())
	line("rx acks", s.RxAcks.Load())
	line("rx bad acks", s.RxBadAcks.Load())
	line("tx sent", s.TxSent.Load())
	line("tx fast", s.TxFast.Load())
	line("tx failed", s.TxFailed.Load())
	line("tx short", s.TxShort.Load())
	line("tx acks", s.TxAcks.Load())
	line("tx oversize", s.TxOversize.Load())
	line("tx win waits", s.TxWindowWaits.Load())
	fmt.Fprintf(&b, "%-12s = %d usecs", "round trip", time.Duration(s.RTT.Load()).Microseconds())
	return b.String()
}
