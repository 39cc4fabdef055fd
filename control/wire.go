// SPDX-License-Identifier: MIT

package control

import (
	"bytes"
	"encoding/binary"
	"strconv"
)

// Port is the PPTP control connection's TCP port.
const Port = 1723

// Header constants (RFC 2637 §2.1).
const (
	HeaderLen      = 12
	MagicCookie    = 0x1A2B3C4D
	MessageControl = 1 // PPTP Message Type of control messages
	MessageManage  = 2 // PPTP Message Type of management messages (none are defined)

	// MaxMessageLen bounds what ReadMessage accepts. The largest defined message is 220
	// bytes; the slack admits vendor extensions without letting a peer make us buffer much.
	MaxMessageLen = 1024

	// ProtocolVersion is version 1, revision 0.
	ProtocolVersion = 0x0100
)

const (
	hdrLength      = 0
	hdrMessageType = 2
	hdrMagicCookie = 4
	hdrControlType = 8
	hdrReserved0   = 10
)

// ControlType is the Control Message Type field.
type ControlType uint16

// Control message types (RFC 2637 §2.1).
const (
	TypeSCCRQ    ControlType = 1  // Start-Control-Connection-Request
	TypeSCCRP    ControlType = 2  // Start-Control-Connection-Reply
	TypeStopCCRQ ControlType = 3  // Stop-Control-Connection-Request
	TypeStopCCRP ControlType = 4  // Stop-Control-Connection-Reply
	TypeEchoRQ   ControlType = 5  // Echo-Request
	TypeEchoRP   ControlType = 6  // Echo-Reply
	TypeOCRQ     ControlType = 7  // Outgoing-Call-Request
	TypeOCRP     ControlType = 8  // Outgoing-Call-Reply
	TypeICRQ     ControlType = 9  // Incoming-Call-Request
	TypeICRP     ControlType = 10 // Incoming-Call-Reply
	TypeICCN     ControlType = 11 // Incoming-Call-Connected
	TypeCCRQ     ControlType = 12 // Call-Clear-Request
	TypeCDN      ControlType = 13 // Call-Disconnect-Notify
	TypeWEN      ControlType = 14 // WAN-Error-Notify
	TypeSLI      ControlType = 15 // Set-Link-Info
)

// Message sizes as defined by RFC 2637, header included.
const (
	SCCRQLen    = 156
	SCCRPLen    = 156
	StopCCRQLen = 16
	StopCCRPLen = 16
	EchoRQLen   = 16
	EchoRPLen   = 20
	OCRQLen     = 168
	OCRPLen     = 32
	ICRQLen     = 220
	ICRPLen     = 24
	ICCNLen     = 28
	CCRQLen     = 16
	CDNLen      = 148
	WENLen      = 40
	SLILen      = 24
)

var typeInfo = [...]struct {
	name string
	size int
}{
	TypeSCCRQ:    {"Start-Control-Connection-Request", SCCRQLen},
	TypeSCCRP:    {"Start-Control-Connection-Reply", SCCRPLen},
	TypeStopCCRQ: {"Stop-Control-Connection-Request", StopCCRQLen},
	TypeStopCCRP: {"Stop-Control-Connection-Reply", StopCCRPLen},
	TypeEchoRQ:   {"Echo-Request", EchoRQLen},
	TypeEchoRP:   {"Echo-Reply", EchoRPLen},
	TypeOCRQ:     {"Outgoing-Call-Request", OCRQLen},
	TypeOCRP:     {"Outgoing-Call-Reply", OCRPLen},
	TypeICRQ:     {"Incoming-Call-Request", ICRQLen},
	TypeICRP:     {"Incoming-Call-Reply", ICRPLen},
	TypeICCN:     {"Incoming-Call-Connected", ICCNLen},
	TypeCCRQ:     {"Call-Clear-Request", CCRQLen},
	TypeCDN:      {"Call-Disconnect-Notify", CDNLen},
	TypeWEN:      {"WAN-Error-Notify", WENLen},
	TypeSLI:      {"Set-Link-Info", SLILen},
}

// Size is the length RFC 2637 defines for t, or 0 for an unknown type.
func (t ControlType) Size() int {
	if t == 0 || int(t) >= len(typeInfo) {
		return 0
	}
	return typeInfo[t].size
}

// String is the message's name as RFC 2637 spells it.
func (t ControlType) String() string {
	if t == 0 || int(t) >= len(typeInfo) {
		return "control message type " + strconv.Itoa(int(t))
	}
	return typeInfo[t].name
}

// Header is the 12-byte header every control message starts with.
type Header []byte

func (h Header) Length() uint16           { return be16(h, hdrLength) }
func (h Header) MessageType() uint16      { return be16(h, hdrMessageType) }
func (h Header) MagicCookie() uint32      { return be32(h, hdrMagicCookie) }
func (h Header) ControlType() ControlType { return ControlType(be16(h, hdrControlType)) }
func (h Header) Reserved0() uint16        { return be16(h, hdrReserved0) }

func (h Header) SetLength(v uint16)           { put16(h, hdrLength, v) }
func (h Header) SetMessageType(v uint16)      { put16(h, hdrMessageType, v) }
func (h Header) SetMagicCookie(v uint32)      { put32(h, hdrMagicCookie, v) }
func (h Header) SetControlType(v ControlType) { put16(h, hdrControlType, uint16(v)) }
func (h Header) SetReserved0(v uint16)        { put16(h, hdrReserved0, v) }

// initMessage zeroes b[:t.Size()] and writes a control header for t. b must be at least
// that long.
func initMessage(b []byte, t ControlType) {
	n := t.Size()
	clear(b[:n])
	h := Header(b)
	h.SetLength(uint16(n))
	h.SetMessageType(MessageControl)
	h.SetMagicCookie(MagicCookie)
	h.SetControlType(t)
}

func be16(b []byte, off int) uint16     { return binary.BigEndian.Uint16(b[off:]) }
func be32(b []byte, off int) uint32     { return binary.BigEndian.Uint32(b[off:]) }
func put16(b []byte, off int, v uint16) { binary.BigEndian.PutUint16(b[off:], v) }
func put32(b []byte, off int, v uint32) { binary.BigEndian.PutUint32(b[off:], v) }

// cstr returns a fixed-size NUL-padded field up to its first NUL.
func cstr(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// putString copies s into the fixed-size field b, truncated to fit, and NUL-pads the rest.
// A value that fills the field has no NUL, as RFC 2637 allows.
func putString(b []byte, s string) {
	n := copy(b, s)
	clear(b[n:])
}
