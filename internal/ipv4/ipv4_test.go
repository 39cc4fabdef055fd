// SPDX-License-Identifier: MIT

package ipv4

import "testing"

func TestHeaderOK(t *testing.T) {
	// RFC 1071-style example header (checksum 0xb861, a widely used worked example).
	h := []byte{0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7}
	if !HeaderOK(h) {
		t.Fatal("valid header rejected")
	}
	for i, mut := range []func(b []byte) []byte{
		func(b []byte) []byte { b[11]++; return b },     // checksum
		func(b []byte) []byte { b[0] = 0x65; return b }, // version 6
		func(b []byte) []byte { b[0] = 0x44; return b }, // IHL 4
		func(b []byte) []byte { b[0] = 0x46; return b }, // IHL 6: longer than p
		func(b []byte) []byte { return b[:19] },
	} {
		b := mut(append([]byte(nil), h...))
		if HeaderOK(b) {
			t.Errorf("case %d: bad header accepted", i)
		}
	}
}

func FuzzHeaderOK(f *testing.F) {
	f.Add([]byte{0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2})
	f.Fuzz(func(t *testing.T, b []byte) { HeaderOK(b) })
}
