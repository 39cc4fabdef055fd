// SPDX-License-Identifier: MIT

package hdlc

import (
	"bytes"
	"testing"
)

var (
	syncLCP  = []byte{0xFF, 0x03, 0xC0, 0x21, 0x01, 0x01, 0x00, 0x08, 0x05, 0x06, 0x12, 0x34} // ConfReq magic… (length 8)
	syncLCPc = []byte{0xC0, 0x21, 0x09, 0x02, 0x00, 0x08, 0xAA, 0xBB, 0xCC, 0xDD}             // Echo-Request, ACFC
	syncIPv4 = append([]byte{0x21, 0x45, 0x00, 0x00, 0x18}, make([]byte, 20)...)              // PFC, 24-byte packet
	syncMPPE = []byte{0x00, 0xFD, 0x90, 0x01, 0xDE, 0xAD, 0xBE, 0xEF}                         // unsized ciphertext
)

func splitAll(s *SyncSplitter, reads ...[]byte) [][]byte {
	var out [][]byte
	for _, r := range reads {
		s.Split(r, func(f []byte) { out = append(out, append([]byte(nil), f...)) })
	}
	return out
}

func TestSyncSplitterConcatenated(t *testing.T) {
	var s SyncSplitter
	// One read carrying four frames: the sized ones are cut out, the unsized one takes the rest.
	read := bytes.Join([][]byte{syncLCP, syncLCPc, syncIPv4, syncMPPE}, nil)
	got := splitAll(&s, read)
	want := [][]byte{syncLCP, syncLCPc, syncIPv4, syncMPPE}
	if len(got) != len(want) {
		t.Fatalf("got %d frames, want %d: %x", len(got), len(want), got)
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("frame %d = %x, want %x", i, got[i], want[i])
		}
	}
	if s.Unsized != 1 || s.Frames != 4 {
		t.Errorf("Frames %d Unsized %d, want 4 and 1", s.Frames, s.Unsized)
	}
}

func TestSyncSplitterAcrossReads(t *testing.T) {
	var s SyncSplitter
	got := splitAll(&s, syncIPv4[:7], syncIPv4[7:], syncLCPc)
	if len(got) != 2 || !bytes.Equal(got[0], syncIPv4) || !bytes.Equal(got[1], syncLCPc) {
		t.Fatalf("got %x", got)
	}
}

func FuzzSyncSplitter(f *testing.F) {
	f.Add(syncLCP, 3)
	f.Add(syncIPv4, 1)
	f.Add([]byte{0xFF, 0x03, 0xC0, 0x21, 0x01, 0x01, 0xFF, 0xFF}, 2) // length far beyond the data
	f.Add([]byte{0xFF}, 1)                                           // lone address byte
	f.Fuzz(func(t *testing.T, data []byte, chunk int) {
		if chunk <= 0 {
			chunk = 1
		}
		var s SyncSplitter
		total := 0
		for i := 0; i < len(data); i += chunk {
			end := min(i+chunk, len(data))
			s.Split(data[i:end], func(f []byte) {
				if len(f) == 0 {
					t.Fatal("empty frame")
				}
				total += len(f)
			})
		}
		if total+len(s.pending) != len(data) {
			t.Fatalf("bytes lost or invented: %d emitted + %d pending != %d", total, len(s.pending), len(data))
		}
	})
}
