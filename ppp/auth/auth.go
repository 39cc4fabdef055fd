// SPDX-License-Identifier: MIT

// Package auth implements the PPP authentication exchanges as pluggable
// state machines for both roles: PAP (RFC 1334), CHAP with MD5 (RFC 1994),
// MS-CHAPv1 (RFC 2433) and MS-CHAPv2 (RFC 2759).
//
// An Exchange knows nothing about timers or the link: the PPP engine feeds it
// the packets of its protocol (0xC023 or 0xC223, without the PPP protocol
// field), calls Timeout when its restart timer fires, sends whatever packet
// it returns, and stops when a Result comes back. Exchanges are not safe for
// concurrent use; the engine goroutine owns them.
package auth

import (
	"crypto/rand"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
)

// Method is an authentication protocol as negotiated in the LCP
// Authentication-Protocol option.
type Method uint8

const (
	None Method = iota
	PAP
	CHAPMD5
	MSCHAPv1
	MSCHAPv2
	numMethods
)

// PPP protocol numbers of the two authentication protocols.
const (
	ProtoPAP  = 0xC023
	ProtoCHAP = 0xC223
)

// CHAP algorithm numbers (RFC 1994 §2, RFC 2433, RFC 2759).
const (
	AlgorithmMD5      = 0x05
	AlgorithmMSCHAPv1 = 0x80
	AlgorithmMSCHAPv2 = 0x81
)

// MaxTries bounds retransmissions (PAP Authenticate-Request, CHAP
// Challenge) and the number of timeouts an exchange waits for its peer,
// like pppd's pap-max-authreq and chap-max-challenge (both 10).
const MaxTries = 10

func (m Method) String() string {
	switch m {
	case None:
		return "none"
	case PAP:
		return "PAP"
	case CHAPMD5:
		return "CHAP-MD5"
	case MSCHAPv1:
		return "MS-CHAPv1"
	case MSCHAPv2:
		return "MS-CHAPv2"
	}
	return "unknown"
}

// Protocol returns the PPP protocol number carrying m: 0xC023 for PAP,
// 0xC223 for the CHAP family, 0 otherwise.
func (m Method) Protocol() uint16 {
	switch m {
	case PAP:
		return ProtoPAP
	case CHAPMD5, MSCHAPv1, MSCHAPv2:
		return ProtoCHAP
	}
	return 0
}

// algorithm returns the CHAP algorithm byte of m, 0 for non-CHAP methods.
func (m Method) algorithm() byte {
	switch m {
	case CHAPMD5:
		return AlgorithmMD5
	case MSCHAPv1:
		return AlgorithmMSCHAPv1
	case MSCHAPv2:
		return AlgorithmMSCHAPv2
	}
	return 0
}

// ConfigData returns the data of the LCP Authentication-Protocol option
// (RFC 1661 §6.2) for m: C0 23 | C2 23 05 | C2 23 80 | C2 23 81, or nil for
// None. The slice is freshly allocated.
func (m Method) ConfigData() []byte {
	switch m {
	case PAP:
		return []byte{0xC0, 0x23}
	case CHAPMD5, MSCHAPv1, MSCHAPv2:
		return []byte{0xC2, 0x23, m.algorithm()}
	}
	return nil
}

// ParseConfigData is the inverse of ConfigData. It reports false for
// protocols and CHAP algorithms we do not implement (EAP, SHA-1 CHAP, ...)
// and for wrong lengths, so the caller can Config-Nak them.
func ParseConfigData(b []byte) (Method, bool) {
	switch {
	case len(b) == 2 && b[0] == 0xC0 && b[1] == 0x23:
		return PAP, true
	case len(b) == 3 && b[0] == 0xC2 && b[1] == 0x23:
		switch b[2] {
		case AlgorithmMD5:
			return CHAPMD5, true
		case AlgorithmMSCHAPv1:
			return MSCHAPv1, true
		case AlgorithmMSCHAPv2:
			return MSCHAPv2, true
		}
	}
	return None, false
}

// MethodSet is a set of Methods, one bit per Method.
type MethodSet uint8

// DefaultOrder is the preference order, strongest first.
var DefaultOrder = []Method{MSCHAPv2, MSCHAPv1, CHAPMD5, PAP}

// AllMethods holds every method except None.
const AllMethods = MethodSet(1<<PAP | 1<<CHAPMD5 | 1<<MSCHAPv1 | 1<<MSCHAPv2)

// Has reports whether m is in s.
func (s MethodSet) Has(m Method) bool { return m < numMethods && s&(1<<m) != 0 }

// Add returns s with m added.
func (s MethodSet) Add(m Method) MethodSet {
	if m >= numMethods {
		return s
	}
	return s | 1<<m
}

// Remove returns s without m.
func (s MethodSet) Remove(m Method) MethodSet {
	if m >= numMethods {
		return s
	}
	return s &^ (1 << m)
}

// Preferred returns the first method of order that is in s, or None. A nil
// order means DefaultOrder.
func (s MethodSet) Preferred(order []Method) Method {
	if order == nil {
		order = DefaultOrder
	}
	for _, m := range order {
		if s.Has(m) {
			return m
		}
	}
	return None
}

// String lists the methods in preference order, e.g. "MS-CHAPv2,PAP";
// the empty set is "(none)".
func (s MethodSet) String() string {
	var parts []string
	for _, m := range DefaultOrder {
		if s.Has(m) {
			parts = append(parts, m.String())
		}
	}
	if s.Has(None) {
		parts = append(parts, None.String())
	}
	if len(parts) == 0 {
		return "(none)"
	}
	return strings.Join(parts, ",")
}

// Exchange is one authentication exchange in one role. Packets it returns
// are owned by it: they stay valid until the next call to the same Exchange
// and must not be modified.
type Exchange interface {
	// Start returns the first packet to send (PAP Authenticate-Request for
	// the peer, CHAP Challenge for the authenticator) or nil if this role
	// waits for the other side (or the packet could not be built; Timeout
	// then reports why). The engine starts its restart timer after Start
	// in either case: the waiting side gives up through Timeout.
	Start() []byte
	// Input handles one received packet of the exchange's protocol: Code,
	// Identifier, Length, Data, without the PPP protocol field. pkt is not
	// retained. reply, if not nil, is to be sent. res is non-nil when the
	// exchange finished; an Exchange yields at most one Result, from Input
	// or Timeout. Afterwards Input may still return replies (answering a
	// retransmitted packet).
	// Malformed or unexpected packets are ignored: (nil, nil).
	Input(pkt []byte) (reply []byte, res *Result)
	// Timeout is called when the restart timer fires. resend, if not nil,
	// is to be sent and the timer restarted. After MaxTries timeouts
	// without progress it returns a Result with an error. After the
	// exchange finished it returns (nil, nil).
	Timeout() (resend []byte, res *Result)
}

// Result is the outcome of an Exchange.
type Result struct {
	// Err is nil on success. On the peer side it is a *mschap.Failure for
	// an MS-CHAP Failure, a *RejectedError for a PAP Nak or CHAP-MD5
	// Failure, ErrAuthenticatorResponse when an MS-CHAPv2 server's S= did
	// not verify, or a timeout error.
	Err error
	// User is the authenticated (or, on failure, claimed) peer name on the
	// authenticator side; the name we sent on the peer side.
	User string
	// Message is the text of the final packet (PAP Ack/Nak message, CHAP
	// Success/Failure message; for MS-CHAPv2 Success the text after "M=").
	Message string
	// Keys is set for MS-CHAPv1/v2 on success, in both roles.
	Keys *KeyMaterial
	// StartKeys, on a delegated authenticator's success, are the MPPE start keys to use
	// instead of deriving them from Keys; Grant is the per-link configuration decided
	// with the verdict (see Verdict).
	StartKeys *StartKeys
	Grant     *Grant
}

// KeyMaterial is what MPPE key derivation (package mppe) needs from an
// MS-CHAP exchange. It is key material: never log it.
type KeyMaterial struct {
	Method           Method
	PasswordHashHash [16]byte
	NTResponse       [24]byte // the NT response of the exchange (v1 and v2)
	Challenge        [8]byte  // MS-CHAPv1: the authenticator's challenge; zero for v2
}

// ErrAuthenticatorResponse is the peer's error when an MS-CHAPv2 Success
// lacks a valid S= authenticator response.
var ErrAuthenticatorResponse = errors.New("MS-CHAPv2: server's authenticator response did not verify (possible fake server)")

// RejectedError is the peer's error when a PAP or CHAP-MD5 authenticator
// refused us. Message is the authenticator's text.
type RejectedError struct {
	Method  Method
	Message string
}

func (e *RejectedError) Error() string {
	s := e.Method.String() + " authentication failed"
	if e.Message != "" {
		s += ": server says " + strconv.Quote(e.Message)
	}
	return s
}

// TimeoutError is the Result.Err after MaxTries timeouts.
type TimeoutError struct {
	Method Method
	What   string // what we were waiting for
}

func (e *TimeoutError) Error() string {
	return e.Method.String() + ": timed out waiting for " + e.What
}

// NewPeer returns the exchange for the side that authenticates itself
// with user and password (pppd "user"/"password"; the client in PPTP). user
// may carry a "DOMAIN\" prefix: it is sent as given, and MS-CHAPv2 hashes
// only the bare name (RFC 2759 §4). It returns nil for None or an unknown
// Method. MS-CHAPv2 peer challenges come from crypto/rand.
func NewPeer(m Method, user, password string) Exchange {
	return NewPeerWithRand(m, user, password, rand.Reader)
}

// NewPeerWithRand is NewPeer with the source of the MS-CHAPv2 peer
// challenge given, for tests.
func NewPeerWithRand(m Method, user, password string, rnd io.Reader) Exchange {
	switch m {
	case PAP:
		return newPAPPeer(user, password)
	case CHAPMD5, MSCHAPv1, MSCHAPv2:
		return newCHAPPeer(m, user, password, rnd)
	}
	return nil
}

// NewAuthenticator returns the exchange for the side that demands
// authentication (the server in PPTP). name is our CHAP name (the
// hostname if empty). secret returns the password of a user and false if
// the user is unknown; it is called once or twice per Response (for
// MS-CHAP first with the name as received, then without "DOMAIN\", as pppd
// does). rnd supplies CHAP identifiers and challenges (crypto/rand if nil).
// It returns nil for None or an unknown Method.
func NewAuthenticator(m Method, name string, secret func(user string) (string, bool), rnd io.Reader) Exchange {
	if rnd == nil {
		rnd = rand.Reader
	}
	if name == "" {
		name, _ = os.Hostname()
		if name == "" {
			name = "pptp-go"
		}
	}
	switch m {
	case PAP:
		return newPAPAuthenticator(secret)
	case CHAPMD5, MSCHAPv1, MSCHAPv2:
		return newCHAPAuthenticator(m, name, secret, rnd)
	}
	return nil
}
