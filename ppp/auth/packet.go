// SPDX-License-Identifier: MIT

package auth

import (
	"encoding/binary"
	"errors"
)

// Packet layout shared by PAP and CHAP (RFC 1334 §2.2, RFC 1994 §4):
// Code(1) Identifier(1) Length(2) Data.
const (
	offCode       = 0
	offIdentifier = 1
	offLength     = 2
	HeaderLen     = 4
)

// CHAP codes (RFC 1994 §4).
const (
	CHAPChallenge = 1
	CHAPResponse  = 2
	CHAPSuccess   = 3
	CHAPFailure   = 4
)

// PAP codes (RFC 1334 §2.2).
const (
	PAPAuthRequest = 1
	PAPAuthAck     = 2
	PAPAuthNak     = 3
)

var (
	errShort      = errors.New("auth: packet shorter than its header")
	errLength     = errors.New("auth: Length field out of range")
	errCode       = errors.New("auth: unknown code")
	errTruncated  = errors.New("auth: field runs past Length")
	errEmptyValue = errors.New("auth: CHAP Value is empty")
	errEmptyName  = errors.New("auth: CHAP Name is empty")
	errTooLong    = errors.New("auth: field too long for the packet format")
)

// header validates the common header and returns b trimmed to Length.
// Octets beyond Length are padding (RFC 1994 §4).
func header(b []byte) ([]byte, error) {
	if len(b) < HeaderLen {
		return nil, errShort
	}
	n := int(binary.BigEndian.Uint16(b[offLength:]))
	if n < HeaderLen || n > len(b) {
		return nil, errLength
	}
	return b[:n], nil
}

// CHAPPacket is a CHAP packet: Code, Identifier, Length, Data. For
// Challenge and Response the data is Value-Size(1) Value Name; for Success
// and Failure it is a message. Obtain one from ParseCHAP, whose checks the
// getters rely on.
type CHAPPacket []byte

// ParseCHAP validates b as a CHAP packet and returns it trimmed to its
// Length. A Challenge or Response needs a non-empty Value and a non-empty
// Name (RFC 1994 §4.1). It does not allocate.
func ParseCHAP(b []byte) (CHAPPacket, error) {
	b, err := header(b)
	if err != nil {
		return nil, err
	}
	switch b[offCode] {
	case CHAPChallenge, CHAPResponse:
		d := b[HeaderLen:]
		if len(d) < 1 {
			return nil, errTruncated
		}
		vs := int(d[0])
		switch {
		case vs == 0:
			return nil, errEmptyValue
		case 1+vs > len(d):
			return nil, errTruncated
		case 1+vs == len(d):
			return nil, errEmptyName
		}
	case CHAPSuccess, CHAPFailure:
	default:
		return nil, errCode
	}
	return CHAPPacket(b), nil
}

func (p CHAPPacket) Code() uint8       { return p[offCode] }
func (p CHAPPacket) Identifier() uint8 { return p[offIdentifier] }
func (p CHAPPacket) Length() uint16    { return binary.BigEndian.Uint16(p[offLength:]) }

// Value returns the Challenge or Response value (nil for other codes).
func (p CHAPPacket) Value() []byte {
	if !p.hasValue() {
		return nil
	}
	return p[HeaderLen+1 : HeaderLen+1+int(p[HeaderLen])]
}

// Name returns the Name of a Challenge or Response (nil for other codes).
func (p CHAPPacket) Name() []byte {
	if !p.hasValue() {
		return nil
	}
	return p[HeaderLen+1+int(p[HeaderLen]):]
}

// Message returns the message of a Success or Failure (nil for other codes).
func (p CHAPPacket) Message() []byte {
	if c := p.Code(); c != CHAPSuccess && c != CHAPFailure {
		return nil
	}
	return p[HeaderLen:]
}

func (p CHAPPacket) hasValue() bool {
	c := p.Code()
	return c == CHAPChallenge || c == CHAPResponse
}

// PAPPacket is a PAP packet. An Authenticate-Request carries
// Peer-ID-Length(1) Peer-ID Passwd-Length(1) Password; Ack and Nak carry
// Msg-Length(1) Message. Obtain one from ParsePAP.
type PAPPacket []byte

// ParsePAP validates b as a PAP packet and returns it trimmed to its
// Length. Peer-ID, Password and Message may be empty (RFC 1334 says "zero
// or more octets"); an Ack or Nak without even the Msg-Length octet is
// accepted as an empty message, as pppd does. It does not allocate.
func ParsePAP(b []byte) (PAPPacket, error) {
	b, err := header(b)
	if err != nil {
		return nil, err
	}
	d := b[HeaderLen:]
	switch b[offCode] {
	case PAPAuthRequest:
		if len(d) < 1 {
			return nil, errTruncated
		}
		n := 1 + int(d[0])
		if n+1 > len(d) {
			return nil, errTruncated
		}
		if n+1+int(d[n]) > len(d) {
			return nil, errTruncated
		}
	case PAPAuthAck, PAPAuthNak:
		if len(d) >= 1 && 1+int(d[0]) > len(d) {
			return nil, errTruncated
		}
	default:
		return nil, errCode
	}
	return PAPPacket(b), nil
}

func (p PAPPacket) Code() uint8       { return p[offCode] }
func (p PAPPacket) Identifier() uint8 { return p[offIdentifier] }
func (p PAPPacket) Length() uint16    { return binary.BigEndian.Uint16(p[offLength:]) }

// PeerID returns the Peer-ID of an Authenticate-Request (nil otherwise).
func (p PAPPacket) PeerID() []byte {
	if p.Code() != PAPAuthRequest {
		return nil
	}
	return p[HeaderLen+1 : HeaderLen+1+int(p[HeaderLen])]
}

// Password returns the Password of an Authenticate-Request (nil otherwise).
func (p PAPPacket) Password() []byte {
	if p.Code() != PAPAuthRequest {
		return nil
	}
	o := HeaderLen + 1 + int(p[HeaderLen])
	return p[o+1 : o+1+int(p[o])]
}

// Message returns the message of an Ack or Nak (nil otherwise).
func (p PAPPacket) Message() []byte {
	if c := p.Code(); (c != PAPAuthAck && c != PAPAuthNak) || len(p) == HeaderLen {
		return nil
	}
	return p[HeaderLen+1 : HeaderLen+1+int(p[HeaderLen])]
}

// appendHeader appends Code, Identifier and a Length for n data bytes.
func appendHeader(dst []byte, code, id byte, n int) []byte {
	return binary.BigEndian.AppendUint16(append(dst, code, id), uint16(HeaderLen+n))
}

// AppendCHAPValue appends a Challenge or Response packet.
func AppendCHAPValue(dst []byte, code, id byte, value, name []byte) ([]byte, error) {
	if len(value) == 0 || len(value) > 255 || HeaderLen+1+len(value)+len(name) > 0xFFFF {
		return dst, errTooLong
	}
	dst = appendHeader(dst, code, id, 1+len(value)+len(name))
	dst = append(dst, byte(len(value)))
	dst = append(dst, value...)
	return append(dst, name...), nil
}

// AppendCHAPMessage appends a Success or Failure packet; an over-long
// message is cut to fit.
func AppendCHAPMessage(dst []byte, code, id byte, msg string) []byte {
	msg = msg[:min(len(msg), 0xFFFF-HeaderLen)]
	dst = appendHeader(dst, code, id, len(msg))
	return append(dst, msg...)
}

// AppendPAPRequest appends an Authenticate-Request.
func AppendPAPRequest(dst []byte, id byte, peerID, password string) ([]byte, error) {
	if len(peerID) > 255 || len(password) > 255 {
		return dst, errTooLong
	}
	dst = appendHeader(dst, PAPAuthRequest, id, 2+len(peerID)+len(password))
	dst = append(dst, byte(len(peerID)))
	dst = append(dst, peerID...)
	dst = append(dst, byte(len(password)))
	return append(dst, password...), nil
}

// AppendPAPReply appends an Ack or Nak; an over-long message is cut to
// 255 bytes.
func AppendPAPReply(dst []byte, code, id byte, msg string) []byte {
	msg = msg[:min(len(msg), 255)]
	dst = appendHeader(dst, code, id, 1+len(msg))
	dst = append(dst, byte(len(msg)))
	return append(dst, msg...)
}
