// SPDX-License-Identifier: MIT

package mppe

import (
	"bytes"
	"crypto/rc4"
	"crypto/sha1"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/pptp-go/pptp/internal/testhex"

	//lint:ignore SA1019 MD4 is mandated by RFC 2759 for the NT password hash these vectors use.
	"golang.org/x/crypto/md4"
	"layeh.com/radius/rfc3079"
)

var unhex = testhex.Bytes

// ntHash is MD4(UTF-16LE(password)), computed here so the test does not depend on
// package mschap.
func ntHash(password string) [16]byte {
	var u []byte
	for _, r := range utf16.Encode([]rune(password)) {
		u = append(u, byte(r), byte(r>>8))
	}
	h := md4.New()
	h.Write(u)
	return [16]byte(h.Sum(nil))
}

func passwordHashHash(password string) [16]byte {
	h := ntHash(password)
	m := md4.New()
	m.Write(h[:])
	return [16]byte(m.Sum(nil))
}

func TestRC4MatchesStdlib(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, klen := range []int{8, 16} { // MPPE's key lengths
		for range 20 {
			var k16 [16]byte
			for i := range klen {
				k16[i] = byte(r.Uint32())
			}
			copy(k16[klen:], k16[:klen])
			key := k16[:klen]
			var ours, other arc4
			reset16x2(&ours, &other, &k16, &k16)
			std, err := rc4.NewCipher(key)
			if err != nil {
				t.Fatal(err)
			}
			// Several chunks, so the i/j state carried between calls is checked too.
			for range 5 {
				n := r.IntN(600)
				a := make([]byte, n)
				for i := range a {
					a[i] = byte(r.Uint32())
				}
				b := bytes.Clone(a)
				ours.xor(a)
				std.XORKeyStream(b, b)
				if !bytes.Equal(a, b) {
					t.Fatalf("key %x: key stream differs from crypto/rc4", key)
				}
			}
		}
	}
}

// RFC 2759 §9.2 inputs, which RFC 3079 §3.5 reuses.
var (
	rfcPHH    = "41 C0 0C 58 4B D2 D9 1C 40 17 A2 A1 2F A5 9F 3F"
	rfcNTResp = "82 30 9E CD 8D 70 8B 5E A0 8F AA 39 81 CD 83 54 42 33 11 4A 3D 85 D6 DF"
)

func TestRFC3079Vectors(t *testing.T) {
	if got := passwordHashHash("clientPass"); hex.EncodeToString(got[:]) != strings.ToLower(strings.ReplaceAll(rfcPHH, " ", "")) {
		t.Fatalf("PasswordHashHash(clientPass) = %x", got)
	}
	phh := [16]byte(unhex(t, rfcPHH))
	nt := [24]byte(unhex(t, rfcNTResp))
	serverSend, serverRecv := KeysV2(phh, nt, true)
	clientSend, clientRecv := KeysV2(phh, nt, false)
	if serverSend != clientRecv || serverRecv != clientSend {
		t.Fatal("server and client keys are not mirrored")
	}
	// §3.5.3 SendStartKey128 (the server's send key); the 40/56-bit start key is its prefix.
	if want := unhex(t, "8B 7C DC 14 9B 99 3A 1B A1 18 CB 15 3F 56 DC CB"); !bytes.Equal(serverSend[:], want) {
		t.Errorf("server send start key %x, want %x", serverSend, want)
	}
	// [computed] client send (Magic2) start key.
	if want := unhex(t, "D5 F0 E9 52 1E 3E A9 58 96 45 E8 60 51 C8 22 26"); !bytes.Equal(clientSend[:], want) {
		t.Errorf("client send start key %x, want %x", clientSend, want)
	}

	msg := []byte("test message")
	for _, tc := range []struct {
		name       string
		start      []byte
		bits       int
		session    string
		ciphertext string
	}{
		{"40-bit §3.5.1", serverSend[:8], 40, "D1 26 9E C4 9F A6 2E 3E", "92 91 37 91 7E 58 03 D6 68 D7 58 98"},
		{"56-bit §3.5.2", serverSend[:8], 56, "D1 5C 00 C4 9F A6 2E 3E", "3F 10 68 33 FA 44 8D A8 42 BC 57 B8"},
		{"128-bit §3.5.3", serverSend[:], 128, "40 5C B2 24 7A 79 56 E6 E2 11 00 7A E2 7B 22 D4", "81 84 83 17 DF 68 84 62 72 FB 5A BE"},
		{"128-bit client send [computed]", clientSend[:], 128, "49 D1 1D 0F 0C C6 BE FB A2 A9 B4 B6 88 F9 1E EE", ""},
	} {
		var k keys
		if err := k.init(tc.start, tc.bits); err != nil {
			t.Fatal(err)
		}
		if got, want := k.session[:k.n], unhex(t, tc.session); !bytes.Equal(got, want) {
			t.Errorf("%s: initial session key %x, want %x", tc.name, got, want)
		}
		if tc.ciphertext == "" {
			continue
		}
		b := bytes.Clone(msg)
		k.rc.xor(b)
		if want := unhex(t, tc.ciphertext); !bytes.Equal(b, want) {
			t.Errorf("%s: RC4(session, %q) = %x, want %x", tc.name, msg, b, want)
		}
	}
}

// TestFirstRekeyVector checks the [computed] vector of RFC 3078 §7.3 as Linux applies it,
// through the public API: a stateless Encrypter re-keys before packet 0, so packet 0 is
// encrypted under the first re-keyed session key.
func TestFirstRekeyVector(t *testing.T) {
	start := unhex(t, "8B 7C DC 14 9B 99 3A 1B A1 18 CB 15 3F 56 DC CB")
	want := unhex(t, "72 6F 10 50 0E 2B 54 13 5B 1B 74 D7 68 2F 04 71")
	e, err := NewEncrypter(start, 128, true)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 64)
	hdr := make([]byte, HeaderLen)
	e.Encrypt(hdr, b)
	if !bytes.Equal(e.k.session[:16], want) {
		t.Fatalf("session key after the first re-key %x, want %x", e.k.session[:16], want)
	}
	std, _ := rc4.NewCipher(want)
	ks := make([]byte, 64)
	std.XORKeyStream(ks, ks)
	if !bytes.Equal(b, ks) {
		t.Errorf("packet 0 not encrypted under the first re-keyed key")
	}
	if !bytes.Equal(hdr, []byte{0x90, 0x00}) {
		t.Errorf("packet 0 header %x, want 9000 (A|D, count 0)", hdr)
	}
}

func TestKeysV1PPPDVector(t *testing.T) {
	phh := passwordHashHash("MyPw")
	if want := unhex(t, "87 4F B0 69 3E 18 10 6A 81 44 81 BC 51 CD 7D 37"); !bytes.Equal(phh[:], want) {
		t.Fatalf("PasswordHashHash(MyPw) = %x, want %x", phh, want)
	}
	send, recv := KeysV1(phh, [8]byte(unhex(t, "10 2D B5 DF 08 5D 30 41")))
	if want := unhex(t, "CF D3 61 0C D9 20 8E C8 13 4B AE FF 55 5F 76 CB"); !bytes.Equal(send[:], want) || recv != send {
		t.Fatalf("KeysV1 = %x, %x; want %x both", send, recv, want)
	}
	var k keys
	if err := k.init(send[:], 128); err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, "AC 7B 78 52 CA E9 C7 5B DE 25 91 32 53 4C CF 9C"); !bytes.Equal(k.session[:], want) {
		t.Errorf("initial session key %x, want %x", k.session, want)
	}
}

// TestKeysV2AgainstLayeh cross-checks KeysV2 with an independent implementation.
func TestKeysV2AgainstLayeh(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		var phh [16]byte
		var nt [24]byte
		for i := range phh {
			phh[i] = byte(r.Uint32())
		}
		for i := range nt {
			nt[i] = byte(r.Uint32())
		}
		master := rfc3079.GetMasterKey(phh[:], nt[:])
		// layeh's isSend is the server's view: true = Magic3.
		srvSend, _ := rfc3079.GetAsymmetricStartKey(master, rfc3079.KeyLength128Bit, true)
		srvRecv, _ := rfc3079.GetAsymmetricStartKey(master, rfc3079.KeyLength128Bit, false)
		s, rcv := KeysV2(phh, nt, true)
		if !bytes.Equal(s[:], srvSend) || !bytes.Equal(rcv[:], srvRecv) {
			t.Fatalf("server keys differ from layeh for phh %x nt %x", phh, nt)
		}
		c, crcv := KeysV2(phh, nt, false)
		if !bytes.Equal(c[:], srvRecv) || !bytes.Equal(crcv[:], srvSend) {
			t.Fatalf("client keys differ from layeh for phh %x nt %x", phh, nt)
		}
		// The 40-bit start key is the prefix of the same digest (layeh truncates to 8).
		s40, _ := rfc3079.GetAsymmetricStartKey(master, rfc3079.KeyLength40Bit, true)
		if !bytes.Equal(s[:8], s40) {
			t.Fatalf("40-bit start key is not the prefix")
		}
	}
}

func TestBadKeyLength(t *testing.T) {
	for _, tc := range []struct {
		key  int
		bits int
	}{{16, 64}, {16, 0}, {7, 40}, {15, 128}, {0, 56}} {
		if _, err := NewEncrypter(make([]byte, tc.key), tc.bits, true); err != ErrKeyLength {
			t.Errorf("NewEncrypter(%d-byte key, %d bits) err = %v", tc.key, tc.bits, err)
		}
		if _, err := NewDecrypter(make([]byte, tc.key), tc.bits, false); err != ErrKeyLength {
			t.Errorf("NewDecrypter(%d-byte key, %d bits) err = %v", tc.key, tc.bits, err)
		}
	}
	if _, err := NewEncrypter(make([]byte, 16), 40, true); err != nil {
		t.Errorf("16-byte key for 40 bits: %v", err)
	}
}

// TestResetTwoMatchesStdlib checks the interleaved key schedule against crypto/rc4 for
// both of its states, with 16-byte keys and 8-byte keys written twice.
func TestResetTwoMatchesStdlib(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, klen := range []int{8, 16} {
		for range 50 {
			var ka, kb [16]byte
			for i := range klen {
				ka[i], kb[i] = byte(r.Uint32()), byte(r.Uint32())
			}
			if klen == 8 {
				copy(ka[8:], ka[:8])
				copy(kb[8:], kb[:8])
			}
			var a, b arc4
			a.s[7], b.i = 1, 9 // leftovers of an earlier key must not matter
			reset16x2(&a, &b, &ka, &kb)
			for _, c := range []struct {
				rc  *arc4
				key []byte
			}{{&a, ka[:klen]}, {&b, kb[:klen]}} {
				got := make([]byte, 300)
				c.rc.xor(got)
				std, _ := rc4.NewCipher(c.key)
				want := make([]byte, 300)
				std.XORKeyStream(want, want)
				if !bytes.Equal(got, want) {
					t.Fatalf("key %x: key stream differs from crypto/rc4", c.key)
				}
			}
		}
	}
}

// TestRekeyChainMatchesReference follows 600 re-keys of every strength against RFC 3078
// §7.3 / RFC 3079 §3.1 written with crypto/sha1 and crypto/rc4, so the next key that
// rekey derives in advance is checked to be the one the chain reaches.
func TestRekeyChainMatchesReference(t *testing.T) {
	start := unhex(t, "8B 7C DC 14 9B 99 3A 1B A1 18 CB 15 3F 56 DC CB")
	for _, bits := range []int{40, 56, 128} {
		n := 16
		if bits != 128 {
			n = 8
		}
		weaken := func(s []byte) {
			switch bits {
			case 40:
				copy(s, []byte{0xd1, 0x26, 0x9e})
			case 56:
				s[0] = 0xd1
			}
		}
		newKey := func(session []byte) []byte {
			h := sha1.New()
			h.Write(start[:n])
			h.Write(make([]byte, padLen))
			h.Write(session)
			h.Write(pad2[:])
			return h.Sum(nil)[:n]
		}
		ref := newKey(start[:n]) // the initial session key: no RC4 step
		weaken(ref)
		var k keys
		if err := k.init(start, bits); err != nil {
			t.Fatal(err)
		}
		for step := range 600 {
			if step > 0 {
				in := newKey(ref)
				c, _ := rc4.NewCipher(in)
				ref = make([]byte, n)
				c.XORKeyStream(ref, in)
				weaken(ref)
				k.rekey()
			}
			if !bytes.Equal(k.session[:n], ref) {
				t.Fatalf("%d-bit, re-key %d: session key %x, want %x", bits, step, k.session[:n], ref)
			}
			got := make([]byte, 32)
			rc := k.rc // a copy: the chain goes on from the fresh state
			rc.xor(got)
			c, _ := rc4.NewCipher(ref)
			want := make([]byte, 32)
			c.XORKeyStream(want, want)
			if !bytes.Equal(got, want) {
				t.Fatalf("%d-bit, re-key %d: RC4 not keyed with the session key", bits, step)
			}
		}
	}
}
