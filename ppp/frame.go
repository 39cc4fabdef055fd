// SPDX-License-Identifier: MIT

package ppp

import (
	"errors"
	"iter"
)

// PPP protocol numbers (RFC 1661 §2, IANA "PPP DLL Protocol Numbers").
const (
	ProtoIPv4       = 0x0021
	ProtoIPv6       = 0x0057
	ProtoCompressed = 0x00FD
	ProtoLCP        = 0xC021
	ProtoPAP        = 0xC023
	ProtoCHAP       = 0xC223
	ProtoEAP        = 0xC227
	ProtoIPCP       = 0x8021
	ProtoCCP        = 0x80FD
	ProtoIPV6CP     = 0x8057
)

// HDLC-like address and control bytes (RFC 1662 §3.1): every frame we send starts with
// them; a peer that negotiated ACFC may leave them out.
const (
	FrameAddress = 0xFF
	FrameControl = 0x03
)

var (
	errShortFrame   = errors.New("ppp: frame too short")
	errBadProtocol  = errors.New("ppp: malformed protocol field")
	errBadAddrCtrl  = errors.New("ppp: bad address/control field")
	errShortPacket  = errors.New("ppp: control packet shorter than its header")
	errPacketLength = errors.New("ppp: control packet length field out of range")
	errOptionLength = errors.New("ppp: option length out of range")
)

// ParseFrame splits a PPP frame into its protocol number and information field. The frame
// may start with the address/control bytes FF 03 or omit them (ACFC), and the protocol may
// be one byte (PFC, RFC 1661 §6.5) or two. info aliases b. It allocates nothing.
func ParseFrame(b []byte) (proto uint16, info []byte, err error) {
	if len(b) >= 2 && b[0] == FrameAddress {
		if b[1] != FrameControl {
			return 0, nil, errBadAddrCtrl
		}
		b = b[2:]
	}
	if len(b) == 0 {
		return 0, nil, errShortFrame
	}
	// A protocol field's last octet is odd and every octet before it is even
	// (RFC 1661 §2): an odd first byte is a compressed one-byte protocol.
	if b[0]&1 == 1 {
		return uint16(b[0]), b[1:], nil
	}
	if len(b) < 2 {
		return 0, nil, errShortFrame
	}
	if b[1]&1 == 0 {
		return 0, nil, errBadProtocol
	}
	return uint16(b[0])<<8 | uint16(b[1]), b[2:], nil
}

// Control packet codes (RFC 1661 §5): 1–7 are shared by LCP and every NCP, the rest
// belong to one protocol (RFC 1570, RFC 1962 §2.1).
const (
	CodeConfigureRequest = 1
	CodeConfigureAck     = 2
	CodeConfigureNak     = 3
	CodeConfigureReject  = 4
	CodeTerminateRequest = 5
	CodeTerminateAck     = 6
	CodeCodeReject       = 7
	CodeProtocolReject   = 8  // LCP only
	CodeEchoRequest      = 9  // LCP only
	CodeEchoReply        = 10 // LCP only
	CodeDiscardRequest   = 11 // LCP only
	CodeIdentification   = 12 // LCP, RFC 1570
	CodeTimeRemaining    = 13 // LCP, RFC 1570
	CodeResetRequest     = 14 // CCP only
	CodeResetAck         = 15 // CCP only
)

// Offsets of the control packet header (RFC 1661 §5).
const (
	pktCode      = 0
	pktID        = 1
	pktLength    = 2
	pktHeaderLen = 4
)

// Packet is an LCP/NCP control packet: Code, Identifier, Length, Data (RFC 1661 §5).
type Packet []byte

// Code returns the packet code.
func (p Packet) Code() uint8 { return p[pktCode] }

// ID returns the Identifier.
func (p Packet) ID() uint8 { return p[pktID] }

// Length returns the Length field.
func (p Packet) Length() int { return int(p[pktLength])<<8 | int(p[pktLength+1]) }

// Data returns the bytes after the header, up to Length.
func (p Packet) Data() []byte { return p[pktHeaderLen:p.Length()] }

// SetHeader writes Code, Identifier and Length = len(p).
func (p Packet) SetHeader(code, id uint8) {
	p[pktCode] = code
	p[pktID] = id
	p[pktLength] = uint8(len(p) >> 8)
	p[pktLength+1] = uint8(len(p))
}

// ParsePacket validates the header of a control packet and trims it to its Length field;
// bytes after Length are padding (RFC 1661 §5). It allocates nothing.
func ParsePacket(b []byte) (Packet, error) {
	if len(b) < pktHeaderLen {
		return nil, errShortPacket
	}
	n := int(b[pktLength])<<8 | int(b[pktLength+1])
	if n < pktHeaderLen || n > len(b) {
		return nil, errPacketLength
	}
	return Packet(b[:n]), nil
}

// Option is one configuration option: Type, Length, Data (RFC 1661 §6).
type Option []byte

// Type returns the option type.
func (o Option) Type() uint8 { return o[0] }

// Data returns the option's value bytes; none for the malformed rest Options hands out.
func (o Option) Data() []byte {
	if len(o) < 2 {
		return nil
	}
	return o[2:]
}

// Options walks an option list (RFC 1661 §6), in order and without allocating. Each
// well-formed option comes with a nil error. Bytes that do not form one (a Length below 2
// or past the end) come once, all of them as one Option, with an error, and the walk ends:
// a Configure-Request's reply rejects them as one bad option, anything else drops them.
func Options(b []byte) iter.Seq2[Option, error] {
	return func(yield func(Option, error) bool) {
		for len(b) > 0 {
			if len(b) < 2 || b[1] < 2 || int(b[1]) > len(b) {
				yield(Option(b), errOptionLength)
				return
			}
			if !yield(Option(b[:b[1]]), nil) {
				return
			}
			b = b[b[1]:]
		}
	}
}

// validOptions reports whether b is a well-formed option list.
func validOptions(b []byte) bool {
	for _, err := range Options(b) {
		if err != nil {
			return false
		}
	}
	return true
}

// appendFrame appends FF 03, the 2-byte protocol and info: the only form we send, which
// every peer must accept whatever ACFC/PFC says (RFC 1661 §6.5, §6.6).
func appendFrame(dst []byte, proto uint16, info []byte) []byte {
	dst = append(dst, FrameAddress, FrameControl, uint8(proto>>8), uint8(proto))
	return append(dst, info...)
}

// appendPacket appends a control packet with the given code, id and data.
func appendPacket(dst []byte, code, id uint8, data []byte) []byte {
	n := pktHeaderLen + len(data)
	dst = append(dst, code, id, uint8(n>>8), uint8(n))
	return append(dst, data...)
}
