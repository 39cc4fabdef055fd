// SPDX-License-Identifier: MIT

package auth

import (
	"io"
	"net/netip"
)

// Verifier checks a peer's credentials somewhere else (a RADIUS server) instead of
// against a local secret. The authenticator calls it once per exchange, on the engine
// goroutine, and waits: it must return within a bounded time (the RADIUS client's
// timeout × retries × servers), which delays only this one link. A nil Verdict is a
// failure.
type Verifier func(req *VerifyRequest) *Verdict

// VerifyRequest is what the peer sent, with what it answered. Password is the PAP
// password: secret, never log it.
type VerifyRequest struct {
	Method    Method
	User      string // as the peer sent it (with any "DOMAIN\")
	ID        byte   // CHAP Identifier of our Challenge
	Challenge []byte // our CHAP challenge (8 bytes MS-CHAPv1, 16 MS-CHAPv2, 16 CHAP-MD5)
	Response  []byte // the CHAP Response value (16 bytes MD5, 49 MS-CHAP)
	Password  []byte // PAP
}

// Verdict is the verifier's answer.
type Verdict struct {
	OK bool
	// Message is the text of our Success or Failure: for MS-CHAPv2 success the whole
	// "S=<authenticator response> M=…" text, for an MS-CHAP failure "E=691 R=0 …". Empty
	// means our usual text (for MS-CHAPv2 success it must not be empty).
	Message string
	// Err says why verification failed (logged; no secrets).
	Err error
	// StartKeys are the MPPE start keys, in our (the authenticator's) view: used as they
	// are instead of being derived locally (RADIUS MS-MPPE-Send-Key / -Recv-Key).
	StartKeys *StartKeys
	// Keys is MS-CHAP key material to derive the MPPE keys from, when the verifier has
	// that instead of start keys (MS-CHAPv1: MS-CHAP-MPPE-Keys carries the NT key).
	Keys *KeyMaterial
	// Grant is what the verifier decided about the link (address, DNS, MTU); nil = the
	// local configuration.
	Grant *Grant
}

// StartKeys are MPPE start keys (RFC 3079 §3): key material, never log them.
type StartKeys struct {
	Send, Recv [16]byte
}

// Grant is per-link configuration decided at authentication (RADIUS Access-Accept).
// Zero fields leave the local configuration alone.
type Grant struct {
	PeerIP netip.Addr   // Framed-IP-Address: the peer's address instead of the pool's
	DNS    []netip.Addr // MS-Primary/Secondary-DNS-Server
	MTU    int          // Framed-MTU
	// IPv6Prefix is the /64 advertised on the link (Framed-IPv6-Prefix) instead of the
	// server's pool's; invalid: none.
	IPv6Prefix netip.Prefix
	// IPv6PeerID (Framed-Interface-Id) is the IPV6CP Interface-Identifier suggested to the
	// peer, as pppd's `ipv6 ,<remote>`; zero: the peer's own.
	IPv6PeerID [8]byte
	// RequireMPPE makes MPPE required for this link (MS-MPPE-Encryption-Policy
	// Encryption-Required), whatever the local policy says.
	RequireMPPE bool
}

// NewVerifyingAuthenticator is NewAuthenticator with the check delegated to verify
// instead of a local secret.
func NewVerifyingAuthenticator(m Method, name string, verify Verifier, rnd io.Reader) Exchange {
	x := NewAuthenticator(m, name, nil, rnd)
	switch a := x.(type) {
	case *chapAuthenticator:
		a.verifier = verify
	case *papAuthenticator:
		a.verifier = verify
	}
	return x
}
