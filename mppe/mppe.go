// SPDX-License-Identifier: MIT

package mppe

import (
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"sync/atomic"
	"time"

	"github.com/pptp-go/pptp/internal/ipv4"
)

// HeaderLen is the MPPE header in front of every encrypted frame: 4 flag bits and the
// 12-bit coherency count (RFC 3078 §3).
const HeaderLen = 2

// Bits of the CCP MPPE option (type 18) bitmap, RFC 3078 §2.1, as a big-endian uint32 of
// the 4 option data bytes.
const (
	BitH = 0x01000000 // stateless ("history-less") mode
	BitM = 0x80       // 56-bit
	BitS = 0x40       // 128-bit
	BitL = 0x20       // 40-bit
	BitD = 0x10       // obsolete, never negotiated
	BitC = 0x01       // MPPC compression (not supported here)
)

// Flag bits of the MPPE header's first byte (RFC 3078 §3, RFC 2118 §3.1).
const (
	FlagFlushed    = 0x80 // "A": RC4 tables were re-keyed for this packet
	FlagAtFront    = 0x40 // "B": MPPC only
	FlagCompressed = 0x20 // "C": MPPC only
	FlagEncrypted  = 0x10 // "D": payload is encrypted; MPPE requires it on every packet
)

const (
	countMask = 0x0fff
	flagMask  = 0xf0
	// flagByte is the low byte of the counts of "flag" packets that re-key stateful MPPE.
	flagByte = 0xff
	// sanityMax and the weights below are Linux's: each bogus header adds 100 (a repeated
	// stateless count 1), each good packet halves the sum, and at sanityMax the receiver
	// gives up on the link.
	sanityMax = 1600
)

// Errors returned by Decrypt. The packet is dropped in every case; only ErrSanity asks
// for the link to be taken down.
var (
	ErrShort        = errors.New("mppe: packet too short")
	ErrNotEncrypted = errors.New("mppe: encrypted bit (D) not set")
	ErrNotFlushed   = errors.New("mppe: flushed bit (A) not set where required")
	ErrDuplicate    = errors.New("mppe: repeated coherency count (duplicate packet)")
	ErrDiscarding   = errors.New("mppe: lost synchronisation, dropping until a flushed packet")
	ErrSanity       = errors.New("mppe: too many invalid packets from the peer")
	// ErrImplausible: the packet did not decrypt to an IP datagram under the key its count
	// names (forged, corrupted, or a protocol we cannot check); the keys did not move.
	ErrImplausible = errors.New("mppe: packet does not decrypt to an IP datagram")
	// ErrCatchUpBudget: the count is further ahead than the re-keys the budget allows now.
	ErrCatchUpBudget = errors.New("mppe: coherency count too far ahead for the catch-up budget")
	ErrKeyLength     = errors.New("mppe: key strength must be 40, 56 or 128 bits with a start key that long")
)

// Header is the 2-byte MPPE header.
type Header []byte

// Flags returns the four flag bits (Flag* constants).
func (h Header) Flags() uint8 { return h[0] & flagMask }

// Count returns the 12-bit coherency count.
func (h Header) Count() uint16 { return binary.BigEndian.Uint16(h) & countMask }

// Encode writes flags (high nibble) and count (low 12 bits).
func (h Header) Encode(flags uint8, count uint16) {
	binary.BigEndian.PutUint16(h, uint16(flags&flagMask)<<8|count&countMask)
}

// keys is one direction's key schedule (RFC 3078 §7, RFC 3079 §3) and RC4 state.
type keys struct {
	n    int // key length in bytes: 8 (40/56-bit) or 16
	bits int
	// shaIn is the fixed input of GetNewKeyFromSHA: StartKey ‖ SHAPad1 ‖ SessionKey ‖
	// SHAPad2, laid out once for n so that a re-key only copies the session key in.
	shaIn   [2*16 + 2*padLen]byte
	session [16]byte
	rc      arc4
	// next is the session key that follows session, derived alongside rc's key schedule
	// (advance): the two RC4 key schedules run interleaved (reset16x2) in little more than
	// the time of one, and stateless MPPE needs both for every packet. spare is the RC4
	// state that derivation uses.
	next  [16]byte
	spare arc4
	// rekeys counts re-keys (tests check the catch-up budget with it).
	rekeys uint64
}

func (k *keys) init(startKey []byte, bits int) error {
	switch bits {
	case 40, 56:
		k.n = 8
	case 128:
		k.n = 16
	default:
		return ErrKeyLength
	}
	if len(startKey) < k.n {
		return ErrKeyLength
	}
	k.bits = bits
	copy(k.shaIn[:k.n], startKey)
	copy(k.shaIn[2*k.n+padLen:], pad2[:])
	// The initial session key is derived from the start key itself (Linux: session_key
	// starts as a copy of the master key), without the RC4 step of RFC 3078 §7.3
	// (RFC 3079 §3.2–3.3).
	copy(k.session[:], startKey[:k.n])
	k.session = k.interim(&k.session)
	k.weaken(&k.session)
	k.advance()
	return nil
}

// rekey moves to the next session key (RFC 3078 §7.3) and re-keys RC4 with it.
func (k *keys) rekey() {
	k.rekeys++
	k.session = k.next
	k.advance()
}

// advance keys rc with session and derives next from it, the two key schedules at once.
func (k *keys) advance() {
	in := k.interim(&k.session)
	reset16x2(&k.rc, &k.spare, k.key16(&k.session), k.key16(&in))
	k.next = k.finish(&in)
}

// interim returns GetNewKeyFromSHA(StartKey, session) (its first n bytes).
func (k *keys) interim(session *[16]byte) (in [16]byte) {
	n := k.n
	copy(k.shaIn[n+padLen:], session[:n])
	d := sha1.Sum(k.shaIn[:2*n+2*padLen])
	copy(in[:n], d[:n])
	return in
}

// finish turns an interim key into the session key: RC4 of the interim key under itself
// (k.spare must be keyed with it), then the fixed bytes of the weaker strengths.
func (k *keys) finish(in *[16]byte) [16]byte {
	s := *in
	k.spare.xor(s[:k.n])
	k.weaken(&s)
	return s
}

// weaken fixes the leading bytes of a 40- or 56-bit session key (RFC 3079 §3.1), leaving
// 40 or 56 secret bits.
func (k *keys) weaken(s *[16]byte) {
	switch k.bits {
	case 40:
		s[0], s[1], s[2] = 0xd1, 0x26, 0x9e
	case 56:
		s[0] = 0xd1
	}
}

// key16 repeats the first n bytes of key over all 16, in place (bytes n… of a key are
// otherwise unused), and returns it: RC4 schedules an 8-byte key exactly as the same key
// written twice.
func (k *keys) key16(key *[16]byte) *[16]byte {
	if k.n == 8 {
		copy(key[8:], key[:8])
	}
	return key
}

// Encrypter is the sending half of one MPPE direction. Encrypt is called by one goroutine
// at a time; RequestReset may be called from any goroutine.
type Encrypter struct {
	k         keys
	stateless bool
	count     uint16
	reset     atomic.Bool
}

// NewEncrypter starts the send direction with the start key of [KeysV2] or [KeysV1] (the
// first 8 bytes are used for 40/56 bits, 16 for 128) and the negotiated strength and mode.
func NewEncrypter(startKey []byte, bits int, stateless bool) (*Encrypter, error) {
	e := &Encrypter{stateless: stateless, count: countMask}
	if err := e.k.init(startKey, bits); err != nil {
		return nil, err
	}
	return e, nil
}

// Encrypt encrypts b (the PPP protocol field, uncompressed, and the payload) in place and
// writes the MPPE header into hdr[:HeaderLen]; the frame to send is 00 FD ‖ hdr ‖ b. It
// panics if len(hdr) < HeaderLen. The coherency count runs 0, 1, …, 4095, 0, …
//
// Stateless: every packet is re-keyed first (packet 0 included) and flagged A|D.
// Stateful: the key stream continues across packets; flag packets (count low byte 0xFF)
// and the first packet after RequestReset are re-keyed and flagged A|D, others only D.
func (e *Encrypter) Encrypt(hdr, b []byte) {
	_ = hdr[HeaderLen-1]
	e.count = (e.count + 1) & countMask
	flags := uint8(FlagEncrypted)
	// Consume a pending reset even when this packet re-keys anyway: one re-key answers it.
	reset := e.reset.Swap(false)
	if e.stateless || e.count&0xff == flagByte || reset {
		e.k.rekey()
		flags |= FlagFlushed
	}
	Header(hdr).Encode(flags, e.count)
	e.k.rc.xor(b)
}

// RequestReset is called when the peer's CCP Reset-Request arrives: the next packet is
// re-keyed and carries the flushed bit. Several requests before that packet cause a single
// re-key, as the peer expects (a repeated request means our answer was lost).
func (e *Encrypter) RequestReset() { e.reset.Store(true) }

// Decrypter is the receiving half of one MPPE direction, owned by one goroutine.
type Decrypter struct {
	k         keys
	stateless bool
	count     uint16
	discard   bool
	sanity    int
	lastLen   int // stateful: the last decrypted packet's length, for conceal
	// Concealed counts lost packets a stateful receiver stepped over without a reset
	// (conceal.go). Read it only from the goroutine that owns the Decrypter.
	Concealed uint64
	// Stateless catch-up budget, in re-keys: refilled at catchUpRate per second up to
	// catchUpMax, spent by every packet more than one count ahead.
	budget     int
	budgetTime time.Time
	try        keys // scratch: the key state advanced for a packet before it is trusted
}

// The catch-up budget: a re-key costs about 0.7 µs, so at most 40000 a second (under 3 % of
// a core) go to counts that skip ahead, and a burst of two full 4095-step gaps is free.
const (
	catchUpRate = 40000
	catchUpMax  = 8192
)

// spend takes n re-keys from the budget, false (and nothing taken) if it has fewer.
func (d *Decrypter) spend(n int) bool {
	now := time.Now()
	if el := now.Sub(d.budgetTime); el > 0 {
		d.budget = min(catchUpMax, d.budget+int(el.Seconds()*catchUpRate))
	}
	d.budgetTime = now
	if d.budget < n {
		return false
	}
	d.budget -= n
	return true
}

// NewDecrypter starts the receive direction; arguments as for [NewEncrypter], with the
// peer's send key.
func NewDecrypter(startKey []byte, bits int, stateless bool) (*Decrypter, error) {
	d := &Decrypter{stateless: stateless, count: countMask, budget: catchUpMax, budgetTime: time.Now()}
	if err := d.k.init(startKey, bits); err != nil {
		return nil, err
	}
	return d, nil
}

// Decrypt checks the MPPE header hdr (at least HeaderLen bytes) and decrypts b in place.
// The plaintext starts with the PPP protocol field, which the peer may have compressed to
// one byte (PFC: an odd first byte); telling them apart is the caller's job.
//
// On error b is untouched and the packet must be dropped. sendReset is true for every packet
// a stateful receiver drops because it lost synchronisation (ErrDiscarding): the caller
// must have a CCP Reset-Request sent, coalescing the calls (one outstanding request at a
// time, as pppd does); a request that the peer acknowledged while packets are still being
// dropped means its answer was lost, and a new one is due.
// Stateless: the key advances once per count step, so any gap of up to 4094 lost packets
// is recovered from (a 12-bit count cannot show more: 4096 lost look like none). A repeated count
// is rejected with ErrDuplicate. Unlike Linux, which takes a count more than 2048 ahead for
// a late packet and drops it, we treat every forward step as loss: the GRE layer in front
// already drops late and duplicate packets by sequence number, so a large jump here means
// an outage, after which Linux would never resynchronise.
//
// ErrSanity means the peer keeps sending invalid headers and the link should be closed.
func (d *Decrypter) Decrypt(hdr, b []byte) (sendReset bool, err error) {
	if len(hdr) < HeaderLen || len(b) == 0 {
		return false, ErrShort
	}
	h := Header(hdr)
	flags, count := h.Flags(), h.Count()
	flushed := flags&FlagFlushed != 0
	switch {
	case flags&FlagEncrypted == 0:
		return false, d.bogus(100, ErrNotEncrypted)
	case d.stateless && !flushed:
		return false, d.bogus(100, ErrNotFlushed)
	case !d.stateless && count&0xff == flagByte && !flushed:
		return false, d.bogus(100, ErrNotFlushed)
	}

	if d.stateless {
		// Linux decrypts a repeated count with a spent key stream; reject it instead.
		if count == d.count {
			return false, d.bogus(1, ErrDuplicate)
		}
		// Advance a copy of the keys and keep it only if the packet decrypts to an IP
		// datagram under it: one forged count must not move our schedule (it would break
		// the direction for good while LCP echoes keep the link up).
		steps := int((count - d.count) & countMask)
		if steps > 1 && !d.spend(steps) {
			return false, d.bogus(100, ErrCatchUpBudget)
		}
		d.try = d.k
		for range steps {
			d.try.rekey()
		}
		// Decrypt the head in place and check it; on failure put the ciphertext back
		// (b is untouched on error), on success go on with the same key stream.
		var saved [64]byte
		n := copy(saved[:], b)
		d.try.rc.xor(b[:n])
		if !plausible(b[:n], len(b)) {
			copy(b, saved[:n])
			return false, d.bogus(100, ErrImplausible)
		}
		d.try.rc.xor(b[n:])
		d.k, d.count = d.try, count
		d.sanity >>= 1
		return false, nil
	} else {
		if !d.discard {
			d.count = (d.count + 1) & countMask
		}
		if count != d.count && !d.discard && !flushed && d.conceal(count, b) {
			d.count = count
		} else if count != d.count || d.discard {
			if !flushed || !d.resync(count, b) {
				// Lost packets: drop until a flushed packet brings the keys back.
				d.discard = true
				return true, ErrDiscarding
			}
			d.discard = false
			d.count = count
		} else if flushed {
			d.k.rekey()
		}
	}
	d.k.rc.xor(b)
	d.lastLen = len(b)
	d.sanity >>= 1
	return false, nil
}

// maxLostAnswers bounds how many lost reset answers resync looks past. Each costs one SHA-1
// and two RC4 key schedules (about 2 µs), only on a flushed packet that ends a discard; the
// engine sends at most two Reset-Requests a second while the answers keep getting lost, so
// 256 covers about two minutes of a one-way outage.
const maxLostAnswers = 256

// resync finds the key of flushed packet count (ciphertext b) after a gap and installs it,
// reporting whether it did. The sender re-keyed once for every flag packet we missed,
// which whole blocks of 256 counts show, and once for this packet; Linux stops there. But
// every answer to a Reset-Request is a re-key too, and when one was lost the count cannot
// show it: Linux then decrypts garbage for good. So, as a flushed packet always starts
// from a fresh key, try the next few keys of the chain and keep the first under which the
// packet decrypts to a well-formed IP datagram (see plausible); none means we stay
// discarding and ask again.
func (d *Decrypter) resync(count uint16, b []byte) bool {
	k := d.k
	for c := d.count; count&^0xff != c&^0xff; c = (c + 0x100) & countMask {
		k.rekey()
	}
	var probe [64]byte
	for range maxLostAnswers + 1 {
		k.rekey()
		rc := k.rc
		p := probe[:copy(probe[:], b)]
		rc.xor(p)
		if plausible(p, len(b)) {
			d.k = k
			return true
		}
	}
	return false
}

// plausible reports whether p, the first bytes of a decrypted packet n bytes long, starts
// with an IPv4 or IPv6 protocol field (compressed or not) and a consistent IP header: for
// IPv4 version, header length, total length n minus the protocol field, and the header
// checksum; for IPv6 version and payload length. A wrong key passes with odds of about 2^-44
// (version and length 2^-12, total length and checksum 2^-16 each), 2^-36 over 256 tries.
func plausible(p []byte, n int) bool {
	var proto uint16
	switch {
	case len(p) >= 1 && p[0]&1 == 1:
		proto, p, n = uint16(p[0]), p[1:], n-1
	case len(p) >= 2:
		proto, p, n = uint16(p[0])<<8|uint16(p[1]), p[2:], n-2
	default:
		return false
	}
	switch proto {
	case 0x0021:
		return ipv4.HeaderOK(p) && int(binary.BigEndian.Uint16(p[2:])) == n
	case 0x0057:
		return len(p) >= 40 && p[0]>>4 == 6 && int(binary.BigEndian.Uint16(p[4:]))+40 == n
	}
	return false
}

func (d *Decrypter) bogus(weight int, err error) error {
	d.sanity += weight
	if d.sanity >= sanityMax {
		return ErrSanity
	}
	return err
}
