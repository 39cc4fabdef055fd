// SPDX-License-Identifier: MIT

//go:build !linux

package gre

import (
	"errors"
	"net/netip"
	"time"
)

// MaxBatch is the most packets one ReadBatch or WriteBatch moves.
const MaxBatch = 128

// DefaultBufferBytes is the default SO_RCVBUF/SO_SNDBUF.
const DefaultBufferBytes = 4 << 20

// Options configure Dial.
type Options struct {
	Local       netip.Addr // bind address (zero = any)
	Mark        int        // SO_MARK, 0 = none
	CallID      uint16     // if non-zero, a kernel BPF filter passes only GRE for this Call ID
	BufferBytes int        // SO_RCVBUF/SO_SNDBUF (with *FORCE fallback), default 4 MiB
	FastPath    bool       // Linux only
}

var errUnsupported = errors.New("gre: raw GRE sockets are only implemented on Linux")

// Conn is a raw GRE socket; only Linux has one.
type Conn struct{}

// Dial always fails outside Linux.
func Dial(remote netip.Addr, opt Options) (*Conn, error) { return nil, errUnsupported }

func (c *Conn) RemoteAddr() netip.Addr                            { return netip.Addr{} }
func (c *Conn) LocalAddr() netip.Addr                             { return netip.Addr{} }
func (c *Conn) ReadBatch(bufs [][]byte, sizes []int) (int, error) { return 0, errUnsupported }
func (c *Conn) WriteBatch(bufs [][]byte) (int, error)             { return 0, errUnsupported }
func (c *Conn) SetReadDeadline(t time.Time) error                 { return errUnsupported }
func (c *Conn) Close() error                                      { return nil }
func (c *Conn) attachStats(*Stats)                                {}
func (c *Conn) Muxed() bool                                       { return false }
func (c *Conn) RecvWindow(limit uint16) uint16                    { return WindowFor(0, limit) }
