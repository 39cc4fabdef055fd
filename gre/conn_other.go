// SPDX-License-Identifier: MIT

//go:build !linux

package gre

import (
	"errors"
	"net/netip"
	"sync/atomic"
	"time"
)

// Outside Linux the package has no raw GRE sockets: Dial and NewMux fail, and Link runs
// over other PacketConns (in-memory ones in tests). The types exist with Linux's methods
// so that callers build everywhere.

var errUnsupported = errors.New("gre: raw GRE sockets need Linux")

// Conn is a raw GRE socket connected to one peer; only Linux has one.
type Conn struct{}

// Dial fails outside Linux.
func Dial(remote netip.Addr, opt Options) (*Conn, error) { return nil, errUnsupported }

func (c *Conn) RemoteAddr() netip.Addr                            { return netip.Addr{} }
func (c *Conn) LocalAddr() netip.Addr                             { return netip.Addr{} }
func (c *Conn) RecvWindow(limit uint16) uint16                    { return WindowFor(0, limit) }
func (c *Conn) ReadBatch(bufs [][]byte, sizes []int) (int, error) { return 0, errUnsupported }
func (c *Conn) WriteBatch(bufs [][]byte) (int, error)             { return 0, errUnsupported }
func (c *Conn) SetReadDeadline(t time.Time) error                 { return errUnsupported }
func (c *Conn) Close() error                                      { return nil }
func (c *Conn) attachStats(*Stats)                                {}

// Mux is one raw GRE socket shared by many calls; only Linux has one.
type Mux struct {
	Dropped atomic.Uint64 // packets for no registered call (or from the wrong address)
}

// NewMux fails outside Linux.
func NewMux(local netip.Addr, opt Options) (*Mux, error) { return nil, errUnsupported }

func (m *Mux) Acquire() bool                                           { return false }
func (m *Mux) Release()                                                {}
func (m *Mux) Dial(remote netip.Addr, callID uint16) (*MuxConn, error) { return nil, errUnsupported }

// MuxConn is a call on a Mux; only Linux has one.
type MuxConn struct{}

func (c *MuxConn) RemoteAddr() netip.Addr                            { return netip.Addr{} }
func (c *MuxConn) LocalAddr() netip.Addr                             { return netip.Addr{} }
func (c *MuxConn) RecvWindow(limit uint16) uint16                    { return WindowFor(0, min(limit, MuxQueueLen)) }
func (c *MuxConn) ReadBatch(bufs [][]byte, sizes []int) (int, error) { return 0, errUnsupported }
func (c *MuxConn) WriteBatch(bufs [][]byte) (int, error)             { return 0, errUnsupported }
func (c *MuxConn) SetReadDeadline(t time.Time) error                 { return errUnsupported }
func (c *MuxConn) Close() error                                      { return nil }
func (c *MuxConn) attachStats(*Stats)                                {}
