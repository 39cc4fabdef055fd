// SPDX-License-Identifier: MIT

package session

import (
	"net/netip"
	"testing"

	"github.com/pptp-go/pptp/netstack"
)

// TestLazyDeviceBatch: once the stack is set, the datapath reads it in its batches.
func TestLazyDeviceBatch(t *testing.T) {
	l := NewLazyDevice()
	if n := l.BatchSize(); n != 1 {
		t.Errorf("BatchSize before Set = %d, want 1", n)
	}
	st, err := netstack.New(netip.MustParseAddr("10.64.2.1"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	l.Set(st)
	defer l.Close()
	if n := l.BatchSize(); n != netstack.BatchSize {
		t.Errorf("BatchSize after Set = %d, want the stack's %d", n, netstack.BatchSize)
	}
}
