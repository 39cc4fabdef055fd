// SPDX-License-Identifier: MIT

// Package mppe implements Microsoft Point-to-Point Encryption, RFC 3078, with the key
// derivation of RFC 3079 for MS-CHAPv2 and pppd's derivation for MS-CHAPv1.
//
// The data path follows the Linux driver (drivers/net/ppp/ppp_mppe.c), the peer we must
// interoperate with, wherever it differs from the RFC text:
//
//   - the coherency count starts so that the first packet carries 0;
//   - stateless mode rekeys before every packet, packet 0 included, so the RFC 3079
//     "initial session key" never encrypts a stateless packet;
//   - stateful mode encrypts packet 0 with the initial session key without setting the
//     flushed bit, and rekeys (setting the flushed bit) on "flag" packets, whose count's low
//     byte is 0xFF, and on the first packet after a CCP Reset-Request;
//   - a stateless receiver rekeys once per count step (here for any forward step; Linux
//     drops counts more than 2048 ahead as late, see [Decrypter.Decrypt]);
//   - a stateful receiver that sees a gap drops packets until one with the flushed bit set
//     arrives, then rekeys once per flag packet it missed plus once for the flushed one
//     (here also when the packet revealing the gap is itself flushed, which Linux drops).
//
// Stateful MPPE as Linux does it cannot survive the loss of the packet that answers a CCP
// Reset-Request: the sender re-keys for it, the receiver cannot know, and from the next
// flushed packet on it decrypts with the wrong key. Our receiver recovers: on the flushed
// packet that ends a discard it tries the next keys of the chain and keeps the one under
// which the packet is a well-formed IP datagram (up to 256 lost answers); and it asks again
// for a reset while it keeps dropping after its request was acknowledged. pppd still
// negotiates stateless mode unless told otherwise; so should callers.
//
// An MPPE packet inside PPP is: protocol 0x00FD, the 2-byte MPPE header (flags and the
// 12-bit coherency count, see [Header]), then the RC4-encrypted PPP protocol field and
// payload. Encrypter and Decrypter work in place on caller buffers and allocate nothing per
// packet. RC4 is implemented here (see rc4.go) because crypto/rc4 allocates on every
// re-key, which stateless mode does for every packet.
//
// The caller decides what to encrypt: Linux encrypts only protocols 0x0021–0x00FA and sends
// everything else (LCP, CCP, …) in the clear.
package mppe
