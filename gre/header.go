// SPDX-License-Identifier: MIT

// Package gre implements the enhanced GRE data channel of PPTP (RFC 2637 §4):
// the version 1 GRE header with Call ID, sequence and acknowledgment numbers
// (RFC 1982 serial arithmetic), a batched raw IPPROTO_GRE socket, a bounded
// reorder buffer, and Link, which ties them into one call's datapath with
// acknowledgments and pptp-linux compatible statistics.
package gre

import (
	"encoding/binary"
	"errors"
)

const (
	// HeaderLen is the largest enhanced GRE header: with sequence and ack.
	HeaderLen = 16
	// ProtocolPPP is the GRE protocol type of PPTP (PPP).
	ProtocolPPP = 0x880B

	// minHeaderLen is the header without sequence or ack.
	minHeaderLen = 8

	flagsOffset      = 0
	versionOffset    = 1
	protocolOffset   = 2
	payloadLenOffset = 4
	callIDOffset     = 6
	seqOffset        = 8

	flagChecksum = 0x80 // C: must be clear
	flagRouting  = 0x40 // R: must be clear
	flagKey      = 0x20 // K: must be set (payload length + call id)
	flagSeq      = 0x10 // S: sequence number present
	flagSSR      = 0x08 // s: strict source route, must be clear
	recurMask    = 0x07 // recursion control, must be zero

	flagAck     = 0x80 // A (in the version byte): ack number present
	versionMask = 0x7F // reserved flags plus version
	version     = 1
)

// Parse errors. Every error returned by Parse matches one of these with
// errors.Is; the message says which check failed.
var (
	ErrTruncated = errors.New("gre: truncated packet")
	ErrInvalid   = errors.New("gre: invalid packet")
)

type parseError struct {
	msg  string
	kind error
}

func (e *parseError) Error() string        { return e.msg }
func (e *parseError) Is(target error) bool { return target == e.kind }

// Preallocated so that Parse never allocates, even when it fails.
var (
	errShortHeader = &parseError{"gre: truncated packet: shorter than its header", ErrTruncated}
	errShortData   = &parseError{"gre: truncated packet: payload length exceeds data", ErrTruncated}
	errVersion     = &parseError{"gre: invalid packet: bad version", ErrInvalid}
	errProtocol    = &parseError{"gre: invalid packet: protocol is not PPP (0x880B)", ErrInvalid}
	errFlags       = &parseError{"gre: invalid packet: checksum/routing/strict-route/recursion set or key clear", ErrInvalid}
)

// Header is an enhanced GRE header (RFC 2637 §4.1) at the start of a packet,
// as returned by Parse. Getters assume a header Parse has validated.
type Header []byte

// HasSeq reports whether the S bit is set (the packet carries data).
func (h Header) HasSeq() bool { return h[flagsOffset]&flagSeq != 0 }

// HasAck reports whether the A bit is set.
func (h Header) HasAck() bool { return h[versionOffset]&flagAck != 0 }

// PayloadLen is the Key field's high half: the length of the PPP payload.
func (h Header) PayloadLen() uint16 { return be16(h[payloadLenOffset:]) }

// CallID is the Key field's low half: the receiver's Call ID.
func (h Header) CallID() uint16 { return be16(h[callIDOffset:]) }

// Seq is the sequence number, 0 when HasSeq is false.
func (h Header) Seq() uint32 {
	if !h.HasSeq() {
		return 0
	}
	return be32(h[seqOffset:])
}

// Ack is the acknowledgment number, 0 when HasAck is false. Without a
// sequence number it sits where the sequence would be.
func (h Header) Ack() uint32 {
	if !h.HasAck() {
		return 0
	}
	if h.HasSeq() {
		return be32(h[seqOffset+4:])
	}
	return be32(h[seqOffset:])
}

// Len is the header length implied by the S and A bits: 8, 12 or 16.
func (h Header) Len() int {
	return headerLen(h[flagsOffset]&flagSeq != 0, h[versionOffset]&flagAck != 0)
}

func headerLen(seq, ack bool) int {
	n := minHeaderLen
	if seq {
		n += 4
	}
	if ack {
		n += 4
	}
	return n
}

// Fields are the values of an enhanced GRE header, for Encode.
type Fields struct {
	CallID     uint16 // the peer's Call ID
	PayloadLen uint16
	Seq        uint32
	HasSeq     bool
	Ack        uint32
	HasAck     bool
}

// Len is the encoded header length: 8, 12 or 16.
func (f Fields) Len() int { return headerLen(f.HasSeq, f.HasAck) }

// Encode writes the header into b, which must be exactly f.Len() bytes.
func (f Fields) Encode(b []byte) {
	_ = b[f.Len()-1]
	flags := byte(flagKey)
	if f.HasSeq {
		flags |= flagSeq
	}
	ver := byte(version)
	if f.HasAck {
		ver |= flagAck
	}
	b[flagsOffset] = flags
	b[versionOffset] = ver
	put16(b[protocolOffset:], ProtocolPPP)
	put16(b[payloadLenOffset:], f.PayloadLen)
	put16(b[callIDOffset:], f.CallID)
	off := seqOffset
	if f.HasSeq {
		put32(b[off:], f.Seq)
		off += 4
	}
	if f.HasAck {
		put32(b[off:], f.Ack)
	}
}

// Parse validates an enhanced GRE packet b (without IP header) the way
// pptp-linux and the kernel do: version 1, protocol 0x880B, K set, C, R, s
// and recursion clear, and a payload length that fits in b. It returns the
// header and the payload trimmed to PayloadLen (trailing bytes, such as
// Ethernet padding, are ignored). Parse does not allocate.
func Parse(b []byte) (Header, []byte, error) {
	if len(b) < minHeaderLen {
		return nil, nil, errShortHeader
	}
	if b[versionOffset]&versionMask != version {
		return nil, nil, errVersion
	}
	if be16(b[protocolOffset:]) != ProtocolPPP {
		return nil, nil, errProtocol
	}
	if b[flagsOffset]&(flagChecksum|flagRouting|flagKey|flagSSR|recurMask) != flagKey {
		return nil, nil, errFlags
	}
	h := Header(b)
	n := h.Len()
	if len(b) < n {
		return nil, nil, errShortHeader
	}
	end := n + int(h.PayloadLen())
	if end > len(b) {
		return nil, nil, errShortData
	}
	return h[:n], b[n:end], nil
}

// SeqAfter reports whether sequence number a comes after b in RFC 1982
// serial arithmetic (SERIAL_BITS 32). When a and b are exactly 2^31 apart
// the order is undefined and SeqAfter is false both ways.
func SeqAfter(a, b uint32) bool { return int32(a-b) > 0 }

func be16(b []byte) uint16     { return binary.BigEndian.Uint16(b) }
func be32(b []byte) uint32     { return binary.BigEndian.Uint32(b) }
func put16(b []byte, v uint16) { binary.BigEndian.PutUint16(b, v) }
func put32(b []byte, v uint32) { binary.BigEndian.PutUint32(b, v) }
