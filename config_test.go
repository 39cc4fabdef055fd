// SPDX-License-Identifier: MIT

package pptp

import (
	"strings"
	"testing"

	"github.com/pptp-go/pptp/ppp"
	"github.com/pptp-go/pptp/ppp/auth"
)

// TestZeroConfigIsSafe: the zero Config asks for MS-CHAPv2 alone and requires 128-bit MPPE.
func TestZeroConfigIsSafe(t *testing.T) {
	e, err := (&Config{Server: "s", User: "u", Password: "p"}).engineConfig()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []auth.Method{auth.PAP, auth.CHAPMD5, auth.MSCHAPv1} {
		if !e.Refuse.Has(m) {
			t.Errorf("%v not refused", m)
		}
	}
	if e.Refuse.Has(auth.MSCHAPv2) {
		t.Error("MS-CHAPv2 refused")
	}
	if want := (ppp.MPPEPolicy{Require: true, Allow128: true, Stateless: true}); e.MPPE != want {
		t.Errorf("MPPE %+v, want %+v", e.MPPE, want)
	}
	if e.User != "u" || e.Password != "p" || e.MRU != DefaultMTU || e.MTU != DefaultMTU || e.EchoInterval == 0 || e.EchoFailure == 0 {
		t.Errorf("engine config %+v", e)
	}
}

func TestConfigChoices(t *testing.T) {
	for _, tc := range []struct {
		cfg    Config
		mppe   ppp.MPPEPolicy
		refuse auth.MethodSet
	}{
		{Config{Encryption: RequireMPPE}, ppp.MPPEPolicy{Require: true, Allow40: true, Allow128: true, Stateless: true}, auth.AllMethods.Remove(auth.MSCHAPv2)},
		{Config{Encryption: AllowMPPE, Auth: MSCHAPv2 | PAP}, ppp.MPPEPolicy{Allow40: true, Allow128: true, Stateless: true}, auth.AllMethods.Remove(auth.MSCHAPv2).Remove(auth.PAP)},
		{Config{Encryption: NoEncryption, Auth: CHAPMD5}, ppp.MPPEPolicy{}, auth.AllMethods.Remove(auth.CHAPMD5)},
		{Config{Auth: MSCHAPv1, MTU: 1200}, ppp.MPPEPolicy{Require: true, Allow128: true, Stateless: true}, auth.AllMethods.Remove(auth.MSCHAPv1)},
	} {
		tc.cfg.Server, tc.cfg.User, tc.cfg.Password = "s", "u", "p"
		e, err := tc.cfg.engineConfig()
		if err != nil {
			t.Errorf("%+v: %v", tc.cfg, err)
			continue
		}
		if e.MPPE != tc.mppe || e.Refuse != tc.refuse {
			t.Errorf("%+v: MPPE %+v refuse %v, want %+v %v", tc.cfg, e.MPPE, e.Refuse, tc.mppe, tc.refuse)
		}
		if tc.cfg.MTU != 0 && (e.MTU != uint16(tc.cfg.MTU) || e.MRU != uint16(tc.cfg.MTU)) {
			t.Errorf("MTU %d: engine MTU %d MRU %d", tc.cfg.MTU, e.MTU, e.MRU)
		}
	}
}

// TestConfigErrors: each bad field is named.
func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg   Config
		field string
	}{
		{Config{User: "u", Password: "p"}, "Config.Server"},
		{Config{Server: "s", Password: "p"}, "Config.User"},
		{Config{Server: "s", User: "u"}, "Config.Password"},
		{Config{Server: "s", User: "u", Password: "p", Auth: 1 << 6}, "Config.Auth"},
		{Config{Server: "s", User: "u", Password: "p", Auth: PAP | CHAPMD5}, "Config.Auth"},
		{Config{Server: "s", User: "u", Password: "p", Encryption: numEncryption}, "Config.Encryption"},
		{Config{Server: "s", User: "u", Password: "p", MTU: 575}, "Config.MTU"},
		{Config{Server: "s", User: "u", Password: "p", MTU: 1501}, "Config.MTU"},
		{Config{Server: "s", PPP: &ppp.Config{Server: true, User: "x"}}, "Config.PPP.Server"},
		{Config{Server: "s", PPP: &ppp.Config{}}, "Config.PPP.User"},
	} {
		if _, err := tc.cfg.engineConfig(); err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%+v: %v, want an error naming %s", tc.cfg, err, tc.field)
		}
	}
	// PAP is allowed when no MPPE is demanded, and a whole engine config skips the checks.
	if _, err := (&Config{Server: "s", User: "u", Password: "p", Auth: PAP, Encryption: AllowMPPE}).engineConfig(); err != nil {
		t.Errorf("PAP with optional MPPE: %v", err)
	}
	if _, err := (&Config{Server: "s", PPP: &ppp.Config{User: "x"}}).engineConfig(); err != nil {
		t.Errorf("with PPP: %v", err)
	}
}

func TestNames(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{AuthMethods(0).String(), "MS-CHAPv2 (default)"},
		{(MSCHAPv2 | PAP).String(), "MS-CHAPv2|PAP"},
		{(CHAPMD5 | 1<<6).String(), "CHAP-MD5|0x40"},
		{Encryption(0).String(), "RequireMPPE128"},
		{AllowMPPE.String(), "AllowMPPE"},
		{Encryption(7).String(), "Encryption(7)"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
