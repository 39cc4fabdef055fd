// SPDX-License-Identifier: MIT

// Package mschap implements the cryptography of Microsoft's PPP CHAP
// extensions: MS-CHAPv1 (RFC 2433) and MS-CHAPv2 (RFC 2759), including the
// authenticator response a peer must verify and the Failure packet message.
//
// The algorithms are broken by modern standards (MD4, single DES); they are
// implemented because PPTP peers speak nothing better. The functions take
// passwords as Go strings and encode them as UTF-16LE, which is what the RFCs
// call "Unicode".
package mschap

import (
	"crypto/des"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"unicode/utf16"

	//lint:ignore SA1019 MD4 is mandated by RFC 2433/2759 for the NT password hash; no alternative exists.
	"golang.org/x/crypto/md4"
)

// Lengths of the MS-CHAP values (RFC 2759 §4, RFC 2433 §3).
const (
	ChallengeLenV1     = 8  // MS-CHAPv1 authenticator challenge
	ChallengeLenV2     = 16 // MS-CHAPv2 authenticator and peer challenge
	NTResponseLen      = 24
	ResponseLen        = 49 // Value-Size of a v1 or v2 CHAP Response
	AuthResponseLen    = 42 // "S=" + 40 hex digits
	authResponseDigest = 20
)

// Magic constants of RFC 2759 §8.7.
var (
	magic1 = []byte("Magic server to client signing constant")
	magic2 = []byte("Pad to make it do more than one iteration")
)

// NTPasswordHash returns MD4 of the UTF-16LE encoding of password
// (RFC 2759 §8.3, RFC 2433 §A.8).
func NTPasswordHash(password string) [16]byte {
	b := unicodePassword(password)
	h := md4.New()
	h.Write(b)
	clear(b)
	var out [16]byte
	h.Sum(out[:0])
	return out
}

// unicodePassword encodes password as UTF-16LE ("Unicode" in the RFCs).
// Invalid UTF-8 becomes U+FFFD, as in any Go string to rune conversion.
func unicodePassword(password string) []byte {
	u := utf16.Encode([]rune(password))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	clear(u)
	return b
}

// HashNTPasswordHash returns MD4(h), the PasswordHashHash of RFC 2759 §8.4,
// used for the authenticator response and for MPPE keys.
func HashNTPasswordHash(h [16]byte) [16]byte {
	d := md4.New()
	d.Write(h[:])
	var out [16]byte
	d.Sum(out[:0])
	return out
}

// ChallengeHash returns the first 8 bytes of SHA1(peerChallenge ||
// authChallenge || userName) (RFC 2759 §8.2). userName must already be
// stripped of any "DOMAIN\" prefix; see StripDomain.
func ChallengeHash(peerChallenge, authChallenge []byte, userName string) [8]byte {
	h := sha1.New()
	h.Write(peerChallenge)
	h.Write(authChallenge)
	h.Write([]byte(userName))
	var sum [sha1.Size]byte
	h.Sum(sum[:0])
	var out [8]byte
	copy(out[:], sum[:8])
	return out
}

// ChallengeResponse DES-encrypts challenge three times, with the password
// hash zero-padded to 21 bytes and cut into three 7-byte keys
// (RFC 2759 §8.5, RFC 2433 §A.5).
func ChallengeResponse(challenge [8]byte, passwordHash [16]byte) [24]byte {
	var z [21]byte
	copy(z[:], passwordHash[:])
	var out [24]byte
	for i := range 3 {
		desEncrypt(out[8*i:8*i+8], z[7*i:7*i+7], challenge[:])
	}
	return out
}

// desKey spreads 56 key bits over 8 bytes, 7 bits each in the high bits,
// and sets the low bit of each byte for odd parity (RFC 2433 §B.3).
// crypto/des ignores the parity bits; they are set anyway so the keys equal
// the RFC's printed values.
func desKey(k7 []byte) [8]byte {
	var v uint64
	for _, b := range k7[:7] {
		v = v<<8 | uint64(b)
	}
	var k [8]byte
	for i := range 8 {
		b := byte(v>>(49-7*uint(i))) << 1
		// Odd parity: the low bit makes the count of one bits odd.
		p := b ^ b>>4
		p ^= p >> 2
		p ^= p >> 1
		k[i] = b | (^p & 1)
	}
	return k
}

func desEncrypt(dst, key7, clear []byte) {
	k := desKey(key7)
	c, err := des.NewCipher(k[:])
	if err != nil {
		panic("mschap: des.NewCipher: " + err.Error()) // cannot happen: key is 8 bytes
	}
	c.Encrypt(dst, clear)
}

// GenerateNTResponse computes the MS-CHAPv2 NT-Response (RFC 2759 §8.1).
// userName is the name as sent in the CHAP Response; any "DOMAIN\" prefix
// is stripped here, as RFC 2759 §4 requires.
func GenerateNTResponse(authChallenge, peerChallenge []byte, userName, password string) [24]byte {
	ch := ChallengeHash(peerChallenge, authChallenge, StripDomain(userName))
	return ChallengeResponse(ch, NTPasswordHash(password))
}

// GenerateAuthenticatorResponse computes the MS-CHAPv2 authenticator
// response "S=<40 uppercase hex digits>" (RFC 2759 §8.7). userName is
// stripped of any "DOMAIN\" prefix, like in GenerateNTResponse.
func GenerateAuthenticatorResponse(password string, ntResponse [24]byte, peerChallenge, authChallenge []byte, userName string) string {
	d := AuthenticatorDigest(HashNTPasswordHash(NTPasswordHash(password)), ntResponse, peerChallenge, authChallenge, userName)
	return "S=" + strings.ToUpper(hex.EncodeToString(d[:]))
}

// AuthenticatorDigest is the 20-byte value behind the authenticator
// response, computed from the PasswordHashHash so a caller holding only
// hashes can use it.
func AuthenticatorDigest(passwordHashHash [16]byte, ntResponse [24]byte, peerChallenge, authChallenge []byte, userName string) [20]byte {
	h := sha1.New()
	h.Write(passwordHashHash[:])
	h.Write(ntResponse[:])
	h.Write(magic1)
	var d [sha1.Size]byte
	h.Sum(d[:0])
	ch := ChallengeHash(peerChallenge, authChallenge, StripDomain(userName))
	h.Reset()
	h.Write(d[:])
	h.Write(ch[:])
	h.Write(magic2)
	h.Sum(d[:0])
	return d
}

// CheckAuthenticatorResponse reports whether received begins with the
// authenticator response expected for these inputs: "S=" followed by 40 hex
// digits (either case; RFC 2759 prints upper case). Anything after those 42
// bytes (such as " M=...") is ignored. The digest comparison is constant
// time so a fake server learns nothing from timing.
func CheckAuthenticatorResponse(password string, ntResponse [24]byte, peerChallenge, authChallenge []byte, userName, received string) bool {
	want := AuthenticatorDigest(HashNTPasswordHash(NTPasswordHash(password)), ntResponse, peerChallenge, authChallenge, userName)
	return CheckAuthenticatorDigest(want, received)
}

// CheckAuthenticatorDigest is CheckAuthenticatorResponse with the expected
// digest already computed.
func CheckAuthenticatorDigest(want [20]byte, received string) bool {
	if len(received) < AuthResponseLen || received[0] != 'S' || received[1] != '=' {
		return false
	}
	var got [authResponseDigest]byte
	if _, err := hex.Decode(got[:], []byte(received[2:AuthResponseLen])); err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// NTChallengeResponseV1 computes the MS-CHAPv1 NT response to an 8-byte
// challenge (RFC 2433 §A.1). challenge must be 8 bytes long.
func NTChallengeResponseV1(challenge []byte, password string) [24]byte {
	var c [8]byte
	if len(challenge) != ChallengeLenV1 {
		panic("mschap: MS-CHAPv1 challenge must be 8 bytes")
	}
	copy(c[:], challenge)
	return ChallengeResponse(c, NTPasswordHash(password))
}

// StripDomain returns the user name without a "DOMAIN\" prefix: everything
// after the last backslash (RFC 2759 §4; pppd strips the same way).
func StripDomain(name string) string {
	if i := strings.LastIndexByte(name, '\\'); i >= 0 {
		return name[i+1:]
	}
	return name
}
