// SPDX-License-Identifier: MIT

package session

import (
	"net/netip"
	"testing"
)

// Two clients of one namespace never hold the same Call ID towards one server: a taken ID
// is skipped, a released one can be had again, and another server's IDs are separate.
func TestClaimCallIDSkipsTakenIDs(t *testing.T) {
	srv := netip.MustParseAddr("192.0.2.77")
	seq := func(ids ...uint16) func() uint16 {
		return func() uint16 { id := ids[0]; ids = ids[1:]; return id }
	}
	id1, c1 := claimCallID(srv, seq(5))
	if id1 != 5 || c1 == nil {
		t.Fatalf("first claim: %d %v", id1, c1)
	}
	id2, c2 := claimCallID(srv, seq(5, 5, 9))
	if id2 != 9 || c2 == nil {
		t.Fatalf("second claim got %d, want 9 (5 is taken)", id2)
	}
	id3, c3 := claimCallID(netip.MustParseAddr("192.0.2.78"), seq(5))
	if id3 != 5 || c3 == nil {
		t.Fatalf("another server's ID 5: got %d", id3)
	}
	c1.Close()
	id4, c4 := claimCallID(srv, seq(5))
	if id4 != 5 || c4 == nil {
		t.Fatalf("released ID 5 not reusable: got %d", id4)
	}
	for _, c := range []interface{ Close() error }{c2, c3, c4} {
		c.Close()
	}
}

func TestOtherClaims(t *testing.T) {
	const procNetUnix = `Num       RefCount Protocol Flags    Type St Inode Path
0000000000000000: 00000002 00000000 00000000 0002 01 31062 @pptp-go/call/192.0.2.7/4242
0000000000000000: 00000002 00000000 00000000 0002 01 31063 @pptp-go/call/192.0.2.77/5
0000000000000000: 00000003 00000000 00000000 0001 03 17906 /run/systemd/journal/stdout
0000000000000000: 00000002 00000000 00000000 0002 01 31064
`
	for _, c := range []struct {
		server string
		ours   uint16
		want   bool
	}{
		{"192.0.2.7", 4242, false}, // only our own claim
		{"192.0.2.7", 1, true},     // someone else's
		{"192.0.2.77", 4242, true}, // another client to .77 (and .7 did not match .77 above)
		{"192.0.2.8", 1, false},
	} {
		if got := otherClaims(procNetUnix, claimPrefix(netip.MustParseAddr(c.server)), c.ours); got != c.want {
			t.Errorf("%s, ours %d: %v, want %v", c.server, c.ours, got, c.want)
		}
	}
}
