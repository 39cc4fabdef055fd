// SPDX-License-Identifier: MIT

package mppe

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
)

var testKey = [16]byte{0x8b, 0x7c, 0xdc, 0x14, 0x9b, 0x99, 0x3a, 0x1b, 0xa1, 0x18, 0xcb, 0x15, 0x3f, 0x56, 0xdc, 0xcb}

// plain returns packet i's plaintext: the IPv4 protocol field and a well-formed IPv4 datagram
// of varying length (the stateful receiver checks the header when it resynchronises).
func plain(i int) []byte {
	n := 20 + (i*37)%1480
	if raceEnabled {
		n = 20 + (i*37)%100
	}
	return ipv4Frame(i, n)
}

// ipv4Frame is 00 21 and an n-byte IPv4/UDP-looking datagram with identification i, a
// valid header checksum and a payload pattern derived from i.
func ipv4Frame(i, n int) []byte {
	b := make([]byte, 2+n)
	b[0], b[1] = 0x00, 0x21
	ip := b[2:]
	for k := range ip {
		ip[k] = byte(i + k*7)
	}
	copy(ip, []byte{0x45, 0, byte(n >> 8), byte(n), byte(i >> 8), byte(i), 0, 0, 64, 17, 0, 0, 10, 99, 0, 2, 10, 99, 0, 1})
	var sum uint32
	for k := 0; k < 20; k += 2 {
		sum += uint32(ip[k])<<8 | uint32(ip[k+1])
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	ip[10], ip[11] = ^byte(sum>>8), ^byte(sum)
	return b
}

type wire struct {
	i   int
	hdr [HeaderLen]byte
	b   []byte
}

func send(e *Encrypter, i int) wire {
	w := wire{i: i, b: plain(i)}
	e.Encrypt(w.hdr[:], w.b)
	return w
}

func pair(t testing.TB, bits int, stateless bool) (*Encrypter, *Decrypter) {
	t.Helper()
	e, err := NewEncrypter(testKey[:], bits, stateless)
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDecrypter(testKey[:], bits, stateless)
	if err != nil {
		t.Fatal(err)
	}
	return e, d
}

func mustDecrypt(t *testing.T, d *Decrypter, w wire) {
	t.Helper()
	if _, err := d.Decrypt(w.hdr[:], w.b); err != nil {
		t.Fatalf("packet %d (count %d): %v", w.i, Header(w.hdr[:]).Count(), err)
	}
	if !bytes.Equal(w.b, plain(w.i)) {
		t.Fatalf("packet %d (count %d): wrong plaintext", w.i, Header(w.hdr[:]).Count())
	}
}

func TestHeaderBitsAndCount(t *testing.T) {
	for _, stateless := range []bool{true, false} {
		e, _ := pair(t, 128, stateless)
		for i := range 9000 {
			w := send(e, i)
			h := Header(w.hdr[:])
			if int(h.Count()) != i%4096 {
				t.Fatalf("stateless=%v packet %d: count %d", stateless, i, h.Count())
			}
			want := uint8(FlagEncrypted)
			if stateless || i%256 == 255 {
				want |= FlagFlushed
			}
			if h.Flags() != want {
				t.Fatalf("stateless=%v packet %d: flags %#x, want %#x", stateless, i, h.Flags(), want)
			}
		}
	}
}

func TestStatelessRoundTripWithLoss(t *testing.T) {
	for _, bits := range []int{40, 56, 128} {
		r := rand.New(rand.NewPCG(uint64(bits), 1))
		e, d := pair(t, bits, true)
		delivered := 0
		for i := 0; i < 15000; i++ {
			w := send(e, i)
			switch {
			case i == 4999 || i == 5000+4094:
				// Delivered: the gap between them is the longest a 12-bit count can show
				// (4094 lost, count step 4095).
			case i >= 5000 && i < 5000+4094:
				continue
			case i >= 12000 && i < 12300: // a burst spanning a flag boundary
				continue
			case r.IntN(10) == 0:
				continue
			}
			mustDecrypt(t, d, w)
			delivered++
		}
		if delivered < 8000 {
			t.Fatalf("%d-bit: only %d delivered", bits, delivered)
		}
	}
}

func TestStatelessDuplicateAndBadHeaders(t *testing.T) {
	e, d := pair(t, 128, true)
	w0 := send(e, 0)
	dup := w0
	dup.b = bytes.Clone(w0.b)
	mustDecrypt(t, d, w0)
	if _, err := d.Decrypt(dup.hdr[:], dup.b); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate: err = %v", err)
	}
	w1 := send(e, 1)
	bad := w1
	bad.b = bytes.Clone(w1.b)
	bad.hdr[0] &^= FlagFlushed
	if _, err := d.Decrypt(bad.hdr[:], bad.b); !errors.Is(err, ErrNotFlushed) {
		t.Fatalf("stateless without A: err = %v", err)
	}
	bad.hdr = w1.hdr
	bad.hdr[0] &^= FlagEncrypted
	if _, err := d.Decrypt(bad.hdr[:], bad.b); !errors.Is(err, ErrNotEncrypted) {
		t.Fatalf("without D: err = %v", err)
	}
	if _, err := d.Decrypt(w1.hdr[:1], w1.b); !errors.Is(err, ErrShort) {
		t.Fatalf("short header: err = %v", err)
	}
	if _, err := d.Decrypt(w1.hdr[:], nil); !errors.Is(err, ErrShort) {
		t.Fatalf("empty payload: err = %v", err)
	}
	// None of the rejected packets moved the key schedule.
	mustDecrypt(t, d, w1)
}

func TestSanityLimit(t *testing.T) {
	e, d := pair(t, 128, true)
	w := send(e, 0)
	w.hdr[0] &^= FlagEncrypted
	var err error
	n := 0
	for ; n < 100; n++ {
		if _, err = d.Decrypt(w.hdr[:], w.b); errors.Is(err, ErrSanity) {
			break
		}
	}
	if n != 15 { // Linux: +100 per bogon, fatal at 1600 → the 16th
		t.Fatalf("ErrSanity after %d bogus packets (err %v), want the 16th", n+1, err)
	}
	// Good packets pay the debt back: after some, single bogons are ordinary errors again.
	d2 := pair2(t)
	for i := range 15 {
		bad := send(d2.e, 1000+i)
		bad.hdr[0] &^= FlagEncrypted
		d2.d.Decrypt(bad.hdr[:], bad.b)
	}
	for i := range 20 {
		mustDecrypt(t, d2.d, send(d2.e, i))
	}
	bad := send(d2.e, 99)
	bad.hdr[0] &^= FlagEncrypted
	if _, err := d2.d.Decrypt(bad.hdr[:], bad.b); !errors.Is(err, ErrNotEncrypted) {
		t.Fatalf("after good packets: err = %v", err)
	}
}

type encDec struct {
	e *Encrypter
	d *Decrypter
}

func pair2(t *testing.T) encDec {
	e, d := pair(t, 128, true)
	return encDec{e, d}
}

func TestStatefulRoundTrip(t *testing.T) {
	for _, bits := range []int{40, 128} {
		e, d := pair(t, bits, false)
		for i := range 10000 { // over two count wraps and many flag packets
			mustDecrypt(t, d, send(e, i))
		}
	}
}

// TestStatefulLossResetRecovery runs a lossy stateful link where the receiver's
// Reset-Requests reach the sender a few packets later, as over a real network.
func TestStatefulLossResetRecovery(t *testing.T) {
	for _, bits := range []int{40, 128} {
		r := rand.New(rand.NewPCG(uint64(bits), 2))
		e, d := pair(t, bits, false)
		resetAt := -1 // packet index at which the pending Reset-Request arrives
		var resets, dropped, delivered, recoveries, answersLost int
		discarding := false
		n := 30000
		if raceEnabled {
			n = 12000
		}
		for i := 0; i < n; i++ {
			if i == resetAt {
				e.RequestReset()
				resetAt = -1
			}
			w := send(e, i)
			lost := r.IntN(50) == 0 || (i >= 9000 && i < 9700) // and one burst over flag packets
			if h := Header(w.hdr[:]); lost && h.Flags()&FlagFlushed != 0 && h.Count()&0xff != 0xff {
				answersLost++
			}
			if lost {
				continue
			}
			sendReset, err := d.Decrypt(w.hdr[:], w.b)
			if err != nil {
				if !errors.Is(err, ErrDiscarding) || !sendReset {
					t.Fatalf("packet %d: sendReset=%v %v", i, sendReset, err)
				}
				// The engine's coalescing: one request in flight at a time.
				if resetAt < 0 {
					resets++
					resetAt = i + 1 + r.IntN(5)
				}
				discarding = true
				dropped++
				continue
			}
			if discarding {
				if Header(w.hdr[:]).Flags()&FlagFlushed == 0 {
					t.Fatalf("packet %d: recovered on a packet without A", i)
				}
				recoveries++
				discarding = false
			}
			if !bytes.Equal(w.b, plain(i)) {
				t.Fatalf("packet %d: wrong plaintext after %d recoveries", i, recoveries)
			}
			delivered++
		}
		if resets < n/300 || recoveries < n/300 || delivered < n*8/10 || answersLost == 0 {
			t.Fatalf("%d-bit: resets %d, recoveries %d, delivered %d, dropped %d, answers lost %d", bits, resets, recoveries, delivered, dropped, answersLost)
		}
		t.Logf("%d-bit: %d delivered, %d dropped while discarding, %d resets, %d reset answers lost", bits, delivered, dropped, resets, answersLost)
	}
}

// Without a Reset-Request (say it was lost) the next flag packet still resynchronises.
func TestStatefulRecoversAtFlagPacket(t *testing.T) {
	e, d := pair(t, 128, false)
	for i := range 10 {
		mustDecrypt(t, d, send(e, i))
	}
	send(e, 10) // lost
	sr, err := d.Decrypt(func() ([]byte, []byte) { w := send(e, 11); return w.hdr[:], w.b }())
	if !sr || !errors.Is(err, ErrDiscarding) {
		t.Fatalf("gap: sendReset=%v err=%v", sr, err)
	}
	for i := 12; i < 255; i++ {
		w := send(e, i)
		if sr, err := d.Decrypt(w.hdr[:], w.b); !sr || !errors.Is(err, ErrDiscarding) {
			t.Fatalf("packet %d: sendReset=%v err=%v", i, sr, err)
		}
	}
	for i := 255; i < 1000; i++ {
		mustDecrypt(t, d, send(e, i))
	}
}

// A flag packet without A is a protocol violation in stateful mode.
func TestStatefulFlagPacketNeedsFlushed(t *testing.T) {
	e, d := pair(t, 128, false)
	for i := range 255 {
		mustDecrypt(t, d, send(e, i))
	}
	w := send(e, 255)
	w.hdr[0] &^= FlagFlushed
	if _, err := d.Decrypt(w.hdr[:], w.b); !errors.Is(err, ErrNotFlushed) {
		t.Fatalf("err = %v", err)
	}
}

// Several Reset-Requests before the next packet cause one re-key, and a reset that
// coincides with a flag packet is answered by that packet's re-key (Linux clears the
// pending flag on every transmit).
func TestRequestResetCoalesces(t *testing.T) {
	e, d := pair(t, 128, false)
	mustDecrypt(t, d, send(e, 0))
	e.RequestReset()
	e.RequestReset()
	w := send(e, 1)
	if Header(w.hdr[:]).Flags()&FlagFlushed == 0 {
		t.Fatal("no A after RequestReset")
	}
	mustDecrypt(t, d, w)
	w = send(e, 2)
	if Header(w.hdr[:]).Flags()&FlagFlushed != 0 {
		t.Fatal("A set twice for one reset")
	}
	mustDecrypt(t, d, w)
	for i := 3; i < 255; i++ {
		mustDecrypt(t, d, send(e, i))
	}
	e.RequestReset()
	mustDecrypt(t, d, send(e, 255))
	w = send(e, 256)
	if Header(w.hdr[:]).Flags()&FlagFlushed != 0 {
		t.Fatal("reset pending across a flag packet")
	}
	mustDecrypt(t, d, w)
}

// RequestReset from another goroutine (the PPP engine) while the datapath encrypts: run
// with -race. The receiver must stay in sync whatever the interleaving.
func TestRequestResetConcurrent(t *testing.T) {
	e, d := pair(t, 128, false)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				e.RequestReset()
			}
		}
	}()
	for i := range 5000 {
		mustDecrypt(t, d, send(e, i))
	}
	close(stop)
	wg.Wait()
}

// TestStatefulLostResetAnswersRecovered: the sender re-keys to answer a Reset-Request, so a
// lost answer leaves Linux's receiver one key behind for good. Ours tries the next keys of
// the chain on the flushed packet that ends the discard and keeps the one that yields an IP
// header: here after 1, 2 and 5 lost answers, recovering on a later answer or a flag packet.
func TestStatefulLostResetAnswersRecovered(t *testing.T) {
	for _, tc := range []struct {
		lost   int
		atFlag bool // no more answers: recover on the flag packet
	}{{1, false}, {1, true}, {2, false}, {5, true}} {
		e, d := pair(t, 128, false)
		for i := range 10 {
			mustDecrypt(t, d, send(e, i))
		}
		send(e, 10) // lost
		i := 11
		for range tc.lost {
			w := send(e, i)
			if sr, err := d.Decrypt(w.hdr[:], w.b); !sr || !errors.Is(err, ErrDiscarding) {
				t.Fatalf("%+v: packet %d: sendReset=%v err=%v", tc, i, sr, err)
			}
			e.RequestReset()
			if w := send(e, i+1); Header(w.hdr[:]).Flags()&FlagFlushed == 0 {
				t.Fatal("no answer")
			} // lost
			i += 2
		}
		if !tc.atFlag {
			e.RequestReset()
		}
		for ; ; i++ {
			w := send(e, i)
			if Header(w.hdr[:]).Flags()&FlagFlushed != 0 {
				mustDecrypt(t, d, w)
				break
			}
			if _, err := d.Decrypt(w.hdr[:], w.b); !errors.Is(err, ErrDiscarding) {
				t.Fatalf("%+v: packet %d: %v", tc, i, err)
			}
		}
		for j := i + 1; j < i+600; j++ {
			mustDecrypt(t, d, send(e, j))
		}
	}
}

// A flushed packet whose key cannot be found (not an IP datagram under any key tried) keeps
// the receiver discarding and asking, with its keys untouched: the next answer, one more
// re-key down the chain, still resynchronises. Past maxLostAnswers lost answers it cannot.
func TestStatefulResyncRejectsImplausible(t *testing.T) {
	e, d := pair(t, 128, false)
	for i := range 10 {
		mustDecrypt(t, d, send(e, i))
	}
	send(e, 10) // lost
	w := send(e, 11)
	d.Decrypt(w.hdr[:], w.b)
	e.RequestReset()
	w = wire{i: 12, b: []byte{0x00, 0x21, 1, 2, 3, 4, 5}} // not an IPv4 header
	e.Encrypt(w.hdr[:], w.b)
	if sr, err := d.Decrypt(w.hdr[:], w.b); !sr || !errors.Is(err, ErrDiscarding) {
		t.Fatalf("implausible flushed packet: sendReset=%v err=%v", sr, err)
	}
	e.RequestReset()
	mustDecrypt(t, d, send(e, 13))
	for i := 14; i < 300; i++ {
		mustDecrypt(t, d, send(e, i))
	}

	send(e, 300) // lost
	w = send(e, 301)
	d.Decrypt(w.hdr[:], w.b)
	for lost := 0; lost <= maxLostAnswers; {
		e.RequestReset()
		w := send(e, 302) // lost answers; a flag packet's re-key is visible in the count
		lost += b2i(Header(w.hdr[:]).Count()&0xff != 0xff)
	}
	e.RequestReset()
	w = send(e, 303)
	if _, err := d.Decrypt(w.hdr[:], w.b); !errors.Is(err, ErrDiscarding) {
		t.Fatalf("found the key past %d lost answers: %v", maxLostAnswers+1, err)
	}
}

func TestPlausible(t *testing.T) {
	good := ipv4Frame(7, 60)
	if !plausible(good, len(good)) {
		t.Fatal("valid IPv4 frame rejected")
	}
	pfc := good[1:]
	if !plausible(pfc, len(pfc)) {
		t.Fatal("valid IPv4 frame with a compressed protocol field rejected")
	}
	if !plausible(good[:40], len(good)) {
		t.Fatal("probe shorter than the packet rejected")
	}
	v6 := make([]byte, 2+48)
	v6[1], v6[2], v6[7] = 0x57, 0x60, 8
	if !plausible(v6, len(v6)) {
		t.Fatal("valid IPv6 frame rejected")
	}
	for name, mut := range map[string]func(b []byte) []byte{
		"checksum":      func(b []byte) []byte { b[12]++; return b },
		"total length":  func(b []byte) []byte { return b[:len(b)-1] },
		"version":       func(b []byte) []byte { b[2] = 0x55; return b },
		"header length": func(b []byte) []byte { b[2] = 0x44; return b },
		"protocol":      func(b []byte) []byte { b[1] = 0x23; return b },
		"short":         func(b []byte) []byte { return b[:1] },
	} {
		b := mut(ipv4Frame(7, 60))
		if plausible(b, len(b)) {
			t.Errorf("%s: implausible frame accepted", name)
		}
	}
	v6[7] = 9
	if plausible(v6, len(v6)) {
		t.Error("IPv6 with a wrong payload length accepted")
	}
}

// A flushed packet that reveals a gap resynchronises at once (found by FuzzLossyLink:
// Linux would drop it and miss its re-key, then stay one key behind).
func TestStatefulFlushedPacketAfterGapResyncs(t *testing.T) {
	for _, lose := range [][2]int{{10, 11}, {250, 257}, {200, 700}} {
		e, d := pair(t, 128, false)
		for i := range lose[0] {
			mustDecrypt(t, d, send(e, i))
		}
		for i := lose[0]; i < lose[1]; i++ {
			send(e, i)
		}
		e.RequestReset() // the answer to an earlier Reset-Request
		w := send(e, lose[1])
		sr, err := d.Decrypt(w.hdr[:], w.b)
		if sr || err != nil || !bytes.Equal(w.b, plain(lose[1])) {
			t.Fatalf("lost %v: sendReset=%v err=%v", lose, sr, err)
		}
		for i := lose[1] + 1; i < lose[1]+600; i++ {
			mustDecrypt(t, d, send(e, i))
		}
	}
}
