// SPDX-License-Identifier: MIT

package ra

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

// The byte layout of RFC 4861 §4.2 and §4.6.2/§4.6.4, and RFC 8106 §5.1.
func TestAdvertisementGolden(t *testing.T) {
	a := Advertisement{
		HopLimit: 64, RouterLifetime: 1800 * time.Second,
		Prefix: netip.MustParsePrefix("2001:db8:99:1::/64"), ValidLife: 86400 * time.Second, PreferredLife: 14400 * time.Second,
		MTU: 1400, DNS: []netip.Addr{netip.MustParseAddr("2001:db8::53")}, DNSLife: 1800 * time.Second,
	}
	want := unhex(`86 00 0000  40 00 0708  00000000 00000000
		03 04 40 c0  00015180  00003840  00000000  20010db8009900010000000000000000
		05 01 0000  00000578
		19 03 0000  00000708  20010db8000000000000000000000053`)
	got := a.Append(nil)
	if !bytes.Equal(got, want) {
		t.Fatalf("advertisement\n% x\nwant\n% x", got, want)
	}
	back, err := Parse(got)
	if err != nil || back.Prefix != a.Prefix || back.ValidLife != a.ValidLife || back.PreferredLife != a.PreferredLife ||
		back.MTU != 1400 || len(back.DNS) != 1 || back.DNS[0] != a.DNS[0] || back.RouterLifetime != a.RouterLifetime || back.HopLimit != 64 {
		t.Fatalf("Parse: %+v, %v", back, err)
	}
	if ok, why := back.Usable(); !ok {
		t.Errorf("Usable: %s", why)
	}
}

// A host ignores a prefix it cannot autoconfigure from, and says why.
func TestUsable(t *testing.T) {
	good := Advertisement{Prefix: netip.MustParsePrefix("2001:db8:1:2::/64"), ValidLife: time.Hour, PreferredLife: time.Minute}
	for _, tc := range []struct {
		mod  func(a *Advertisement)
		want string
	}{
		{func(a *Advertisement) { a.Prefix = netip.MustParsePrefix("2001:db8:1::/48") }, "not a /64"},
		{func(a *Advertisement) { a.ValidLife = 0 }, "zero lifetime"},
		{func(a *Advertisement) { a.PreferredLife = 0 }, "zero lifetime"},
		{func(a *Advertisement) { a.PreferredLife = 2 * time.Hour }, "preferred lifetime above"},
		{func(a *Advertisement) { a.Prefix = netip.MustParsePrefix("fe80::/64") }, "not global"},
		{func(a *Advertisement) { a.Prefix = netip.Prefix{} }, "no autonomous prefix"},
	} {
		a := good
		tc.mod(&a)
		// Through the wire and back, as a receiver sees it.
		b, err := Parse(a.Append(nil))
		if err != nil {
			t.Fatal(err)
		}
		if ok, why := b.Usable(); ok || !strings.Contains(why, tc.want) {
			t.Errorf("%+v: usable %v (%s), want %q", a, ok, why, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	base := (&Advertisement{}).Append(nil)
	for name, b := range map[string][]byte{
		"short":           base[:15],
		"solicitation":    append([]byte{133, 0}, base[2:]...),
		"zero length opt": append(bytes.Clone(base), 1, 0, 0, 0, 0, 0, 0, 0),
		"opt past end":    append(bytes.Clone(base), 3, 4, 64, 0xc0),
		"short prefix":    append(bytes.Clone(base), 3, 1, 64, 0xc0, 0, 0, 0, 0),
		"rdnss no addr":   append(bytes.Clone(base), 25, 1, 0, 0, 0, 0, 0, 0),
		"mtu long":        append(bytes.Clone(base), 5, 2, 0, 0, 0, 0, 5, 0x78, 0, 0, 0, 0, 0, 0, 0, 0),
	} {
		if _, err := Parse(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Unknown options are skipped.
	if _, err := Parse(append(bytes.Clone(base), 99, 1, 0, 0, 0, 0, 0, 0)); err != nil {
		t.Errorf("unknown option: %v", err)
	}
}

// FuzzParse: nothing panics, and what parses re-encodes to something that parses the same.
func FuzzParse(f *testing.F) {
	f.Add((&Advertisement{Prefix: netip.MustParsePrefix("2001:db8::/64"), ValidLife: time.Hour, PreferredLife: time.Hour,
		MTU: 1400, DNS: []netip.Addr{netip.MustParseAddr("2001:db8::53")}, DNSLife: time.Hour}).Append(nil))
	f.Add([]byte{134, 0, 0, 0, 64, 0, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0})
	f.Add([]byte{133, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		IsSolicitation(b)
		a, err := Parse(b)
		if err != nil {
			return
		}
		a.Usable()
		if a.RouterLifetime > 9000*time.Second {
			a.RouterLifetime = 9000 * time.Second
		}
		c, err := Parse(a.Append(nil))
		if err != nil {
			t.Fatalf("re-encoded advertisement does not parse: %v", err)
		}
		if c.Prefix != a.Prefix || len(c.DNS) != len(a.DNS) || c.MTU != a.MTU {
			t.Fatalf("round trip %+v -> %+v", a, c)
		}
	})
}
