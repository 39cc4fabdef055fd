// SPDX-License-Identifier: MIT

package proxy

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
)

func TestParseUpstream(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"socks5://127.0.0.1:1080", "socks5://127.0.0.1:1080"},
		{"socks5://u:secret@127.0.0.1:1080", "socks5://u:xxxxx@127.0.0.1:1080"},
		{"http://proxy.example:3128", "http://proxy.example:3128"},
	} {
		u, err := ParseUpstream(tc.in)
		if err != nil || u.String() != tc.want {
			t.Errorf("%s: %v, %v", tc.in, u, err)
		}
	}
	for _, bad := range []string{"ftp://h:1", "socks5://h", "socks5://:1080", "http://h:99999", "socks5://h:1/path", "%zz", "socks5://u:secret@h"} {
		if _, err := ParseUpstream(bad); err == nil {
			t.Errorf("%q accepted", bad)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("%q: the error shows the password: %v", bad, err)
		}
	}
}

func TestParseSOCKSDatagram(t *testing.T) {
	from, p, ok := ParseSOCKSDatagram([]byte{0, 0, 0, 1, 192, 0, 2, 7, 0, 53, 'h', 'i'})
	if !ok || from != netip.MustParseAddrPort("192.0.2.7:53") || string(p) != "hi" {
		t.Errorf("%v %q %v", from, p, ok)
	}
	for _, bad := range [][]byte{nil, {0, 0, 1, 1, 192, 0, 2, 7, 0, 53}, {0, 0, 0, 3, 1, 'a', 0, 53}, {0, 0, 0, 1, 192, 0, 2}} {
		if _, _, ok := ParseSOCKSDatagram(bad); ok {
			t.Errorf("%x accepted", bad)
		}
	}
}

func TestReadReply(t *testing.T) {
	a, err := readReply(bytes.NewReader([]byte{5, 0, 0, 1, 10, 0, 0, 1, 0x04, 0x38}))
	if err != nil || a != netip.MustParseAddrPort("10.0.0.1:1080") {
		t.Errorf("%v %v", a, err)
	}
	if _, err := readReply(bytes.NewReader([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0})); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("refusal: %v", err)
	}
}

// FuzzSOCKSReplies: the SOCKS5 reply and UDP relay header parsers never panic, and what
// they accept is consistent with the input's length.
func FuzzSOCKSReplies(f *testing.F) {
	f.Add([]byte{5, 0, 0, 1, 10, 0, 0, 1, 0x04, 0x38})
	f.Add([]byte{5, 0, 0, 3, 3, 'a', 'b', 'c', 0, 80})
	f.Add([]byte{0, 0, 0, 4, 0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 53, 'x'})
	f.Fuzz(func(t *testing.T, b []byte) {
		readReply(bytes.NewReader(b))
		if _, p, ok := ParseSOCKSDatagram(b); ok && len(p) > len(b)-10 {
			t.Fatalf("payload of %d bytes from a %d-byte datagram", len(p), len(b))
		}
	})
}
