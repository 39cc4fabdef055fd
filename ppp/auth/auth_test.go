// SPDX-License-Identifier: MIT

package auth

import (
	"bytes"
	"testing"

	"github.com/pptp-go/pptp/internal/testhex"
)

var unhex = testhex.Bytes

func TestMethodConfigData(t *testing.T) {
	for _, tc := range []struct {
		m     Method
		proto uint16
		data  string
	}{
		{PAP, 0xC023, "C023"}, {CHAPMD5, 0xC223, "C22305"},
		{MSCHAPv1, 0xC223, "C22380"}, {MSCHAPv2, 0xC223, "C22381"},
	} {
		if got := tc.m.Protocol(); got != tc.proto {
			t.Errorf("%v.Protocol() = %#x", tc.m, got)
		}
		d := tc.m.ConfigData()
		if want := unhex(t, tc.data); !bytes.Equal(d, want) {
			t.Errorf("%v.ConfigData() = %x, want %x", tc.m, d, want)
		}
		if m, ok := ParseConfigData(d); !ok || m != tc.m {
			t.Errorf("ParseConfigData(%x) = %v, %v", d, m, ok)
		}
	}
	if None.ConfigData() != nil || None.Protocol() != 0 {
		t.Error("None has config data")
	}
	for _, bad := range []string{"", "C0", "C02300", "C223", "C22306", "C22327", "C227", "C2230580"} {
		if m, ok := ParseConfigData(unhex(t, bad)); ok {
			t.Errorf("ParseConfigData(%s) = %v, want false", bad, m)
		}
	}
}

func TestMethodSet(t *testing.T) {
	var s MethodSet
	if s.Preferred(nil) != None || s.String() != "(none)" {
		t.Errorf("empty set: %v %q", s.Preferred(nil), s)
	}
	s = s.Add(PAP).Add(CHAPMD5)
	if !s.Has(PAP) || !s.Has(CHAPMD5) || s.Has(MSCHAPv2) || s.Has(Method(200)) {
		t.Errorf("Has wrong for %v", s)
	}
	if got := s.Preferred(nil); got != CHAPMD5 {
		t.Errorf("Preferred = %v", got)
	}
	if got := s.Preferred([]Method{PAP, CHAPMD5}); got != PAP {
		t.Errorf("Preferred(PAP first) = %v", got)
	}
	if got := AllMethods.Preferred(nil); got != MSCHAPv2 {
		t.Errorf("AllMethods.Preferred = %v", got)
	}
	if got := AllMethods.Remove(MSCHAPv2).Preferred(nil); got != MSCHAPv1 {
		t.Errorf("without v2 Preferred = %v", got)
	}
	if got := AllMethods.String(); got != "MS-CHAPv2,MS-CHAPv1,CHAP-MD5,PAP" {
		t.Errorf("String = %q", got)
	}
	if s.Add(Method(9)) != s {
		t.Error("Add of an invalid method changed the set")
	}
}

func TestNewNone(t *testing.T) {
	if NewPeer(None, "u", "p") != nil || NewAuthenticator(None, "n", nil, nil) != nil {
		t.Error("exchange for None")
	}
}
