// SPDX-License-Identifier: MIT

package cli

import (
	"bytes"
	"testing"
	"time"
)

// TestOpenPTYRaw: what the master writes reaches the slave unchanged and is not echoed.
func TestOpenPTYRaw(t *testing.T) {
	m, s, err := openPTY()
	if err != nil {
		t.Skipf("no pty here: %v", err)
	}
	defer m.Close()
	defer s.Close()
	frame := []byte{0x7e, 0xff, 0x7d, 0x23, 0xc0, 0x21, '\r', '\n', 0x03, 0x7e}
	if _, err := m.Write(frame); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 64)
	s.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := s.Read(got)
	if err != nil || !bytes.Equal(got[:n], frame) {
		t.Fatalf("slave read %x, %v; want %x", got[:n], err, frame)
	}
	m.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, _ := m.Read(got); n > 0 {
		t.Errorf("the slave echoed %x back to the master", got[:n])
	}
}
