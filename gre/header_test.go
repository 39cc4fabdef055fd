// SPDX-License-Identifier: MIT

package gre

import (
	"bytes"
	"errors"
	"testing"

	"github.com/pptp-go/pptp/internal/testhex"
)

var unhex = testhex.Bytes

// Reference §6.5: data packet to peer Call ID 0x1A2B, seq 5, ack 7.
const (
	goldenData    = "3081880b00081a2b0000000500000007" + "ff03c02105010004"
	goldenAckOnly = "2081880b00001a2b00000007"
)

func TestGoldenData(t *testing.T) {
	pkt := unhex(t, goldenData)
	h, payload, err := Parse(pkt)
	if err != nil {
		t.Fatal(err)
	}
	if !h.HasSeq() || !h.HasAck() || h.CallID() != 0x1A2B || h.Seq() != 5 || h.Ack() != 7 || h.PayloadLen() != 8 || h.Len() != 16 || len(h) != 16 {
		t.Fatalf("header fields wrong: % X", []byte(h))
	}
	if !bytes.Equal(payload, unhex(t, "ff03c02105010004")) {
		t.Fatalf("payload % X", payload)
	}
	f := Fields{CallID: 0x1A2B, PayloadLen: 8, Seq: 5, HasSeq: true, Ack: 7, HasAck: true}
	got := make([]byte, f.Len())
	f.Encode(got)
	if !bytes.Equal(got, pkt[:16]) {
		t.Fatalf("Encode = % X, want % X", got, pkt[:16])
	}
}

func TestGoldenAckOnly(t *testing.T) {
	pkt := unhex(t, goldenAckOnly)
	h, payload, err := Parse(pkt)
	if err != nil {
		t.Fatal(err)
	}
	if h.HasSeq() || !h.HasAck() || h.Ack() != 7 || h.Seq() != 0 || h.CallID() != 0x1A2B || len(payload) != 0 || h.Len() != 12 {
		t.Fatalf("ack-only fields wrong")
	}
	f := Fields{CallID: 0x1A2B, Ack: 7, HasAck: true}
	got := make([]byte, f.Len())
	f.Encode(got)
	if !bytes.Equal(got, pkt) {
		t.Fatalf("Encode = % X, want % X", got, pkt)
	}
	// Data without ack: 12 bytes, S only.
	f = Fields{CallID: 1, PayloadLen: 0, Seq: 0xFFFFFFFF, HasSeq: true}
	got = make([]byte, f.Len())
	f.Encode(got)
	if want := unhex(t, "3001880b00000001ffffffff"); !bytes.Equal(got, want) {
		t.Fatalf("Encode = % X, want % X", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		pkt  string
		want error
	}{
		{"short", "3081880b0000", ErrTruncated},
		{"seq missing", "3001880b00001a2b0000", ErrTruncated},
		{"payload longer than data", "3001880b00051a2b00000001ff03c0", ErrTruncated},
		{"version 0", "3080880b00001a2b00000001", ErrInvalid},
		{"reserved flag in byte 1", "3009880b00001a2b00000001", ErrInvalid},
		{"protocol IPv4", "300108000000" + "1a2b00000001", ErrInvalid},
		{"checksum bit", "b001880b00001a2b00000001", ErrInvalid},
		{"routing bit", "7001880b00001a2b00000001", ErrInvalid},
		{"key clear", "1001880b00001a2b00000001", ErrInvalid},
		{"strict source route", "3801880b00001a2b00000001", ErrInvalid},
		{"recursion", "3101880b00001a2b00000001", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse(unhex(t, tt.pkt))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	// Trailing bytes after the payload (e.g. link padding) are trimmed.
	_, payload, err := Parse(unhex(t, "3001880b00021a2b00000001aabbccdd"))
	if err != nil || !bytes.Equal(payload, []byte{0xAA, 0xBB}) {
		t.Fatalf("padding: %v % X", err, payload)
	}
}

func TestParseAllocs(t *testing.T) {
	good := unhex(t, goldenData)
	bad := unhex(t, "3081880b00ff1a2b0000000500000007")
	f := Fields{CallID: 0x1A2B, PayloadLen: 8, Seq: 5, HasSeq: true, Ack: 7, HasAck: true}
	var hdr [HeaderLen]byte
	n := testing.AllocsPerRun(1000, func() {
		if _, _, err := Parse(good); err != nil {
			t.Fatal(err)
		}
		if _, _, err := Parse(bad); err == nil {
			t.Fatal("no error")
		}
		f.Encode(hdr[:f.Len()])
	})
	if n != 0 {
		t.Fatalf("allocs = %v", n)
	}
}

func TestSeqAfter(t *testing.T) {
	tests := []struct {
		a, b uint32
		want bool
	}{
		{1, 0, true},
		{0, 1, false},
		{5, 5, false},
		{0, 0xFFFFFFFF, true}, // wrap
		{0xFFFFFFFF, 0, false},
		{10, 0xFFFFFFF0, true},
		{0x7FFFFFFF, 0, true},  // largest step forward
		{0x80000000, 0, false}, // 2^31 apart: undefined, false both ways
		{0, 0x80000000, false},
		{0x80000001, 0, false}, // behind by 2^31-1
	}
	for _, tt := range tests {
		if got := SeqAfter(tt.a, tt.b); got != tt.want {
			t.Errorf("SeqAfter(%#x, %#x) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(unhex(f, goldenData))
	f.Add(unhex(f, goldenAckOnly))
	f.Add(unhex(f, "3001880b00001a2b00000001"))         // data with empty payload
	f.Add(unhex(f, "2001880b00001a2b"))                 // neither S nor A: 8-byte header
	f.Add(unhex(f, "3081880b00001a2b000000"))           // S and A, cut inside the sequence
	f.Add(unhex(f, "3001880bffff1a2b00000001"))         // payload length 65535, no data
	f.Add(unhex(f, "3181880b00001a2b0000000100000002")) // recursion bits set
	f.Add(unhex(f, "3001"))                             // two bytes only
	f.Fuzz(func(t *testing.T, b []byte) {
		h, payload, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrInvalid) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if len(h) != h.Len() || len(payload) != int(h.PayloadLen()) || len(h)+len(payload) > len(b) {
			t.Fatalf("lengths: header %d/%d payload %d/%d of %d", len(h), h.Len(), len(payload), h.PayloadLen(), len(b))
		}
		// A valid header re-encodes to the same bytes.
		f := Fields{CallID: h.CallID(), PayloadLen: h.PayloadLen(), Seq: h.Seq(), HasSeq: h.HasSeq(), Ack: h.Ack(), HasAck: h.HasAck()}
		enc := make([]byte, f.Len())
		f.Encode(enc)
		if !bytes.Equal(enc, h) {
			t.Fatalf("re-encoded % X, parsed % X", enc, []byte(h))
		}
	})
}

func BenchmarkParse(b *testing.B) {
	pkt := append(unhex(b, goldenData[:32]), make([]byte, 1400)...)
	put16(pkt[payloadLenOffset:], 1400)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Parse(pkt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFieldsEncode(b *testing.B) {
	var hdr [HeaderLen]byte
	f := Fields{CallID: 0x1A2B, PayloadLen: 1400, HasSeq: true, Ack: 7, HasAck: true}
	b.ReportAllocs()
	for b.Loop() {
		f.Seq++
		f.Encode(hdr[:])
	}
}
