// SPDX-License-Identifier: MIT

package ppp

import "errors"

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

// HDLC-like address and control bytes (RFC 1662 §3.1).
const (
	frameAddress = 0xFF
	frameControl = 0x03
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
	if len(b) >= 2 && b[0] == frameAddress {
		if b[1] != frameControl {
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

// Control packet codes shared by LCP, IPCP and CCP (RFC 1661 §5, RFC 1962 §2.1).
const (
	codeConfReq  = 1
	codeConfAck  = 2
	codeConfNak  = 3
	codeConfRej  = 4
	codeTermReq  = 5
	codeTermAck  = 6
	codeCodeRej  = 7
	codeProtRej  = 8  // LCP only
	codeEchoReq  = 9  // LCP only
	codeEchoRep  = 10 // LCP only
	codeDiscReq  = 11 // LCP only
	codeIdentify = 12 // LCP, RFC 1570
	codeTimeRem  = 13 // LCP, RFC 1570
	codeResetReq = 14 // CCP only
	codeResetAck = 15 // CCP only
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

// Data returns the option's value bytes.
func (o Option) Data() []byte { return o[2:] }

// nextOption splits the first option off b. A length below 2 or beyond the buffer is an
// error; the caller then treats the rest of the list as one bad option.
func nextOption(b []byte) (opt Option, rest []byte, err error) {
	if len(b) < 2 || b[1] < 2 || int(b[1]) > len(b) {
		return nil, nil, errOptionLength
	}
	return Option(b[:b[1]]), b[b[1]:], nil
}

// validOptions reports whether b is a well-formed option list.
func validOptions(b []byte) bool {
	for len(b) > 0 {
		var err error
		if _, b, err = nextOption(b); err != nil {
			return false
		}
	}
	return true
}

// appendFrame appends FF 03, the 2-byte protocol and info: the only form we send, which
// every peer must accept whatever ACFC/PFC says (RFC 1661 §6.5, §6.6).
func appendFrame(dst []byte, proto uint16, info []byte) []byte {
	dst = append(dst, frameAddress, frameControl, uint8(proto>>8), uint8(proto))
	return append(dst, info...)
}

// appendPacket appends a control packet with the given code, id and data.
func appendPacket(dst []byte, code, id uint8, data []byte) []byte {
	n := pktHeaderLen + len(data)
	dst = append(dst, code, id, uint8(n>>8), uint8(n))
	return append(dst, data...)
}
