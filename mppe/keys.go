// SPDX-License-Identifier: MIT

package mppe

import "crypto/sha1"

// Constants from RFC 3079 §3.4 (GetMasterKey, GetAsymmetricStartKey).
var (
	magic1 = []byte("This is the MPPE Master Key")
	// magic2 derives the client's send key (= the server's receive key).
	magic2 = []byte("On the client side, this is the send key; on the server side, it is the receive key.")
	// magic3 derives the client's receive key (= the server's send key).
	magic3 = []byte("On the client side, this is the receive key; on the server side, it is the send key.")
)

const padLen = 40 // SHAPad1 (40 × 0x00) and SHAPad2 (40 × 0xF2) of RFC 3078 §7.3 / RFC 3079 §3.4

var pad2 = [padLen]byte{
	0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2,
	0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2,
	0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2,
	0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2,
}

// KeysV2 returns the 128-bit MPPE start keys of an MS-CHAPv2 authentication (RFC 3079
// §3.4, as pppd's mppe_set_chapv2 does): MasterKey = SHA1(PasswordHashHash ‖ NT-Response ‖
// Magic1)[:16]; each start key = SHA1(MasterKey ‖ SHAPad1 ‖ Magic ‖ SHAPad2)[:16], with
// Magic2 for the client's send key and Magic3 for the server's send key. server selects our
// role. For 40- and 56-bit MPPE the first 8 bytes are the start key (RFC 3079 §3.4 truncates
// the same digest).
func KeysV2(passwordHashHash [16]byte, ntResponse [24]byte, server bool) (send, recv [16]byte) {
	h := sha1.New()
	h.Write(passwordHashHash[:])
	h.Write(ntResponse[:])
	h.Write(magic1)
	var master [16]byte
	copy(master[:], h.Sum(nil))

	clientSend := startKey(master, magic2)
	serverSend := startKey(master, magic3)
	if server {
		return serverSend, clientSend
	}
	return clientSend, serverSend
}

func startKey(master [16]byte, magic []byte) (k [16]byte) {
	var pad1 [padLen]byte
	h := sha1.New()
	h.Write(master[:])
	h.Write(pad1[:])
	h.Write(magic)
	h.Write(pad2[:])
	copy(k[:], h.Sum(nil))
	return k
}

// KeysV1 returns the MPPE start keys of an MS-CHAPv1 authentication the way pppd 2.4.9
// derives them (mppe_set_chapv1): SHA1(PasswordHashHash ‖ PasswordHashHash ‖
// Challenge)[:16], the same key in both directions. challenge is the authenticator's
// 8-byte challenge.
//
// This is not RFC 3079 §2, which uses the LM hash for 40/56-bit keys: pppd derives every
// key length from the NT hash, and pppd is the peer we interoperate with. (pppd 2.5.x zeroes
// its receive key by mistake; that peer cannot decrypt one direction whatever we do.)
func KeysV1(passwordHashHash [16]byte, challenge [8]byte) (send, recv [16]byte) {
	h := sha1.New()
	h.Write(passwordHashHash[:])
	h.Write(passwordHashHash[:])
	h.Write(challenge[:])
	copy(send[:], h.Sum(nil))
	return send, send
}
