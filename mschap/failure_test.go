// SPDX-License-Identifier: MIT

package mschap

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func TestParseFailure(t *testing.T) {
	ch16 := unhex(t, "6d4af37053be65909fec5bb352f78040")
	for _, tc := range []struct {
		msg  string
		want *Failure
	}{
		// pppd 2.4.9 server, from mschapv2-wrong-password.pcap.
		{"E=691 R=1 C=6d4af37053be65909fec5bb352f78040 V=0 M=Access denied",
			&Failure{Code: 691, Retry: true, Challenge: ch16, Version: 0, Message: "Access denied"}},
		{"E=691 R=0 C=00000000000000000000000000000000 V=3 M=Access denied",
			&Failure{Code: 691, Challenge: make([]byte, 16), Version: 3, Message: "Access denied"}},
		// Any order, upper-case hex, no M=.
		{"V=3 C=6D4AF37053BE65909FEC5BB352F78040 R=1 E=649",
			&Failure{Code: 649, Retry: true, Challenge: ch16, Version: 3}},
		// MS-CHAPv1: 8-byte challenge, no V or M.
		{"E=646 R=1 C=102DB5DF085D3041", &Failure{Code: 646, Retry: true, Challenge: unhex(t, "102DB5DF085D3041")}},
		{"E=648", &Failure{Code: 648}},
		{"E=709  R=0   M=", &Failure{Code: 709}},
		// M= text keeps its spaces and '=' signs.
		{"E=691 M=  two  spaces E=1 ", &Failure{Code: 691, Message: "  two  spaces E=1 "}},
		// Unknown field letters of a later revision are skipped.
		{"E=691 X=whatever V=3", &Failure{Code: 691, Version: 3}},
	} {
		got, err := ParseFailure(tc.msg)
		if err != nil {
			t.Errorf("ParseFailure(%q): %v", tc.msg, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseFailure(%q) = %+v, want %+v", tc.msg, got, tc.want)
		}
	}
}

func TestParseFailureRejects(t *testing.T) {
	for _, msg := range []string{
		"",
		"Access denied", // plain text, no fields
		"R=1 C=6d4af37053be65909fec5bb352f78040 V=3 M=x", // no E=
		"E=",                                     // empty code
		"E=69x",                                  // not a number
		"E=-1",                                   // sign
		"E=1234567890",                           // too many digits
		"E=691 R=2",                              // R not a boolean
		"E=691 C=123",                            // odd-length hex
		"E=691 C=6d4af37053be65909fec5bb352f780", // 15 bytes
		"E=691 C=zz4af37053be65909fec5bb352f78040", // not hex
		"E=691 V=three",
		"E=691 E=649", // repeated
		"E=691 junk",
		"E=691 =1",
		"E=691 1=1",
	} {
		if f, err := ParseFailure(msg); err == nil {
			t.Errorf("ParseFailure(%q) = %+v, want error", msg, f)
		}
	}
}

func TestFailureError(t *testing.T) {
	for code, words := range map[int]string{
		646: "restricted logon hours", 647: "account disabled", 648: "password expired",
		649: "no dial-in permission", 691: "authentication failure (access denied)",
		709: "error changing password", 1: "unknown error",
	} {
		if got := CodeText(code); got != words {
			t.Errorf("CodeText(%d) = %q, want %q", code, got, words)
		}
	}
	f := &Failure{Code: 691, Message: "Access denied"}
	if got, want := f.Error(), `MS-CHAP E=691 authentication failure (access denied): "Access denied"`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	var err error = f
	var ff *Failure
	if !errors.As(err, &ff) || ff.Code != 691 {
		t.Error("errors.As(*Failure) failed")
	}
	if got, want := (&Failure{Code: 649}).Error(), "MS-CHAP E=649 no dial-in permission"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestFailureString(t *testing.T) {
	f := &Failure{Code: 691, Challenge: make([]byte, 16), Version: 3, Message: "Access denied"}
	if got, want := f.String(), "E=691 R=0 C=00000000000000000000000000000000 V=3 M=Access denied"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func FuzzParseFailure(f *testing.F) {
	f.Add("E=691 R=1 C=6d4af37053be65909fec5bb352f78040 V=0 M=Access denied")
	f.Add("E=691 R=0 C=00000000000000000000000000000000 V=3 M=Access denied")
	f.Add("E=646 R=1 C=102DB5DF085D3041")
	f.Add("E=691 M=")                // empty message
	f.Add("")                        // empty input
	f.Add("E")                       // key without '='
	f.Add("E=")                      // empty value at the end
	f.Add("E=691 C=6d4")             // odd-length hex
	f.Add("E=691 E=691")             // repeated field
	f.Add("M=only a message")        // no code
	f.Add("E=691 \xff=1")            // non-letter key
	f.Add("E=999999999 V=999999999") // largest accepted numbers
	f.Fuzz(func(t *testing.T, msg string) {
		p, err := ParseFailure(msg)
		if err != nil {
			return
		}
		// Formatting and parsing again must give the same failure.
		q, err := ParseFailure(p.String())
		if err != nil {
			t.Fatalf("ParseFailure(%q) of String of %q: %v", p.String(), msg, err)
		}
		if q.Code != p.Code || q.Retry != p.Retry || q.Version != p.Version ||
			q.Message != p.Message || !bytes.Equal(q.Challenge, p.Challenge) {
			t.Fatalf("round trip of %q: %+v != %+v", msg, q, p)
		}
		_ = p.Error()
	})
}
