// SPDX-License-Identifier: MIT

package gre

import "net/netip"

// MaxBatch is the most packets one ReadBatch or WriteBatch system call
// moves; longer batches are cut (reads) or split into several calls (writes).
const MaxBatch = 128

// DefaultBufferBytes is the default SO_RCVBUF/SO_SNDBUF: the kernel's default
// receive queue overflows in a burst of a few hundred full-size packets.
const DefaultBufferBytes = 4 << 20

// Options configure Dial and NewMux.
type Options struct {
	Local       netip.Addr // bind address (zero = any)
	Mark        int        // SO_MARK, 0 = none
	CallID      uint16     // if non-zero, a kernel BPF filter passes only GRE for this Call ID
	BufferBytes int        // SO_RCVBUF/SO_SNDBUF (with *FORCE fallback), default 4 MiB
	// FastPath lets the conn send through a packet socket on the egress
	// Ethernet device, skipping the kernel's IP output, whenever that is safe
	// (see fastPath); Stats.TxFast counts the packets sent so.
	FastPath bool
	// Blocking keeps the GRE socket out of the runtime poller: a ReadBatch
	// that has to wait sleeps in recvmmsg and holds its OS thread meanwhile.
	// Fewer wake-ups per packet (see sock); for a process with few calls.
	Blocking bool
}

// bufferBytes is Options.BufferBytes or its default.
func bufferBytes(opt Options) int {
	if opt.BufferBytes <= 0 {
		return DefaultBufferBytes
	}
	return opt.BufferBytes
}
