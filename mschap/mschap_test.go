// SPDX-License-Identifier: MIT

package mschap

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/pptp-go/pptp/internal/testhex"

	"layeh.com/radius/rfc2759"
)

var unhex = testhex.Bytes

// RFC 2433 Appendix B.2 / B.3 (reference §6.2).
func TestRFC2433Vectors(t *testing.T) {
	if got, want := unicodePassword("MyPw"), unhex(t, "4D 00 79 00 50 00 77 00"); !bytes.Equal(got, want) {
		t.Errorf("unicode password = %x, want %x", got, want)
	}
	h := NTPasswordHash("MyPw")
	if want := unhex(t, "FC 15 6A F7 ED CD 6C 0E DD E3 33 7D 42 7F 4E AC"); !bytes.Equal(h[:], want) {
		t.Errorf("NTPasswordHash = %x, want %x", h, want)
	}
	ch := unhex(t, "10 2D B5 DF 08 5D 30 41")
	resp := NTChallengeResponseV1(ch, "MyPw")
	if want := unhex(t, "4E 9D 3C 8F 9C FD 38 5D 5B F4 D3 24 67 91 95 6C A4 C3 51 AB 40 9A 3D 61"); !bytes.Equal(resp[:], want) {
		t.Errorf("NtChallengeResponse = %x, want %x", resp, want)
	}
	hh := HashNTPasswordHash(h)
	if want := unhex(t, "87 4F B0 69 3E 18 10 6A 81 44 81 BC 51 CD 7D 37"); !bytes.Equal(hh[:], want) {
		t.Errorf("PasswordHashHash = %x, want %x", hh, want)
	}
}

// RFC 2433 B.3 and RFC 2759 §9.3: 7-byte keys with parity.
func TestDESKeyParity(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"FC 15 6A F7 ED CD 6C", "FD 0B 5B 5E 7F 6E 34 D9"},
		{"0E DD E3 33 7D 42 7F", "0E 6E 79 67 37 EA 08 FE"},
		{"00 00 00 00 00 00 00", "01 01 01 01 01 01 01 01"},
		{"FF FF FF FF FF FF FF", "FE FE FE FE FE FE FE FE"},
	} {
		k := desKey(unhex(t, tc.in))
		if want := unhex(t, tc.want); !bytes.Equal(k[:], want) {
			t.Errorf("desKey(%s) = %x, want %x", tc.in, k, want)
		}
	}
}

// RFC 2759 §9.2 (reference §6.3).
func TestRFC2759Vectors(t *testing.T) {
	const user, pass = "User", "clientPass"
	authCh := unhex(t, "5B 5D 7C 7D 7B 3F 2F 3E 3C 2C 60 21 32 26 26 28")
	peerCh := unhex(t, "21 40 23 24 25 5E 26 2A 28 29 5F 2B 3A 33 7C 7E")
	if got, want := unicodePassword(pass), unhex(t, "63 00 6C 00 69 00 65 00 6E 00 74 00 50 00 61 00 73 00 73 00"); !bytes.Equal(got, want) {
		t.Errorf("unicode password = %x, want %x", got, want)
	}
	c := ChallengeHash(peerCh, authCh, user)
	if want := unhex(t, "D0 2E 43 86 BC E9 12 26"); !bytes.Equal(c[:], want) {
		t.Errorf("ChallengeHash = %x, want %x", c, want)
	}
	h := NTPasswordHash(pass)
	if want := unhex(t, "44 EB BA 8D 53 12 B8 D6 11 47 44 11 F5 69 89 AE"); !bytes.Equal(h[:], want) {
		t.Errorf("PasswordHash = %x, want %x", h, want)
	}
	wantNT := unhex(t, "82 30 9E CD 8D 70 8B 5E A0 8F AA 39 81 CD 83 54 42 33 11 4A 3D 85 D6 DF")
	if r := ChallengeResponse(c, h); !bytes.Equal(r[:], wantNT) {
		t.Errorf("ChallengeResponse = %x, want %x", r, wantNT)
	}
	nt := GenerateNTResponse(authCh, peerCh, user, pass)
	if !bytes.Equal(nt[:], wantNT) {
		t.Errorf("GenerateNTResponse = %x, want %x", nt, wantNT)
	}
	// RFC 2759 §4: only the bare user name enters the hash.
	if nt2 := GenerateNTResponse(authCh, peerCh, `CORP\User`, pass); nt2 != nt {
		t.Errorf("GenerateNTResponse with domain = %x, want %x", nt2, nt)
	}
	hh := HashNTPasswordHash(h)
	if want := unhex(t, "41 C0 0C 58 4B D2 D9 1C 40 17 A2 A1 2F A5 9F 3F"); !bytes.Equal(hh[:], want) {
		t.Errorf("PasswordHashHash = %x, want %x", hh, want)
	}
	const wantS = "S=407A5589115FD0D6209F510FE9C04566932CDA56"
	if s := GenerateAuthenticatorResponse(pass, nt, peerCh, authCh, user); s != wantS {
		t.Errorf("GenerateAuthenticatorResponse = %s, want %s", s, wantS)
	}
	if s := GenerateAuthenticatorResponse(pass, nt, peerCh, authCh, `CORP\User`); s != wantS {
		t.Errorf("GenerateAuthenticatorResponse with domain = %s, want %s", s, wantS)
	}
	for _, tc := range []struct {
		recv string
		ok   bool
	}{
		{wantS, true},
		{wantS + " M=Access granted", true},
		{wantS[2:], false}, // no "S=" prefix
		{"S=" + strings.ToLower(wantS[2:]), true},
		{wantS[:41], false},                                   // one digit short
		{"S=407A5589115FD0D6209F510FE9C04566932CDA57", false}, // last digit changed
		{"s=407A5589115FD0D6209F510FE9C04566932CDA56", false}, // wrong prefix
		{"S=407A5589115FD0D6209F510FE9C04566932CDAZ6", false}, // not hex
		{"", false},
	} {
		if got := CheckAuthenticatorResponse(pass, nt, peerCh, authCh, user, tc.recv); got != tc.ok {
			t.Errorf("CheckAuthenticatorResponse(%q) = %v, want %v", tc.recv, got, tc.ok)
		}
	}
	if CheckAuthenticatorResponse("clientPasS", nt, peerCh, authCh, user, wantS) {
		t.Error("CheckAuthenticatorResponse accepted a wrong password")
	}
}

func TestStripDomain(t *testing.T) {
	for in, want := range map[string]string{
		"user": "user", `DOM\user`: "user", `a\b\c`: "c", `DOM\`: "", "": "", "user@realm": "user@realm",
	} {
		if got := StripDomain(in); got != want {
			t.Errorf("StripDomain(%q) = %q, want %q", in, got, want)
		}
	}
}

// Differential test against layeh.com/radius/rfc2759, an independent
// implementation, on random inputs including non-ASCII passwords.
func TestCrossCheckLayeh(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("abcXYZ019 !\\äöü€日本😀")
	randStr := func(max int) string {
		n := r.IntN(max + 1)
		rs := make([]rune, n)
		for i := range rs {
			rs[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(rs)
	}
	for range 500 {
		user, pass := randStr(12), randStr(20)
		authCh, peerCh := make([]byte, 16), make([]byte, 16)
		for i := range 16 {
			authCh[i], peerCh[i] = byte(r.Uint32()), byte(r.Uint32())
		}
		nt := GenerateNTResponse(authCh, peerCh, user, pass)
		want, err := rfc2759.GenerateNTResponse(authCh, peerCh, []byte(StripDomain(user)), []byte(pass))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(nt[:], want) {
			t.Fatalf("NT-Response(%q, %q) = %x, layeh %x", user, pass, nt, want)
		}
		s := GenerateAuthenticatorResponse(pass, nt, peerCh, authCh, user)
		wantS, err := rfc2759.GenerateAuthenticatorResponse(authCh, peerCh, nt[:], []byte(StripDomain(user)), []byte(pass))
		if err != nil {
			t.Fatal(err)
		}
		if s != wantS {
			t.Fatalf("AuthenticatorResponse(%q, %q) = %s, layeh %s", user, pass, s, wantS)
		}
		if !CheckAuthenticatorResponse(pass, nt, peerCh, authCh, user, wantS) {
			t.Fatalf("CheckAuthenticatorResponse rejected layeh's %s", wantS)
		}
		h := NTPasswordHash(pass)
		var c8 [8]byte
		copy(c8[:], authCh)
		if got, want := ChallengeResponse(c8, h), rfc2759.ChallengeResponse(c8[:], h[:]); !bytes.Equal(got[:], want) {
			t.Fatalf("ChallengeResponse = %x, layeh %x", got, want)
		}
	}
}

func BenchmarkGenerateNTResponse(b *testing.B) {
	authCh, peerCh := make([]byte, 16), make([]byte, 16)
	b.ReportAllocs()
	for b.Loop() {
		GenerateNTResponse(authCh, peerCh, "user", "password")
	}
}

func BenchmarkCheckAuthenticatorResponse(b *testing.B) {
	authCh, peerCh := make([]byte, 16), make([]byte, 16)
	nt := GenerateNTResponse(authCh, peerCh, "user", "password")
	s := GenerateAuthenticatorResponse("password", nt, peerCh, authCh, "user")
	b.ReportAllocs()
	for b.Loop() {
		if !CheckAuthenticatorResponse("password", nt, peerCh, authCh, "user", s) {
			b.Fatal("mismatch")
		}
	}
}
