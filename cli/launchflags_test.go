// SPDX-License-Identifier: MIT

package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLaunchFlagsGoToPPPD(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("s3cret\n"), 0o600)
	a, err := ParsePPTPArgs([]string{"vpn.example", "--launch-pppd", "--novj", "--nobsdcomp", "--nodefaultroute",
		"--require-mppe-128", "--noencrypt", "--mtu", "1400", "--user", "alice", "--password-file", pw,
		"--socks", "127.0.0.1:1080", "--", "noauth"})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Warnings) != 0 {
		t.Errorf("launch mode warns about built-in flags: %q", a.Warnings)
	}
	words, password, warns, err := a.LaunchFlags()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"novj", "nobsdcomp", "nodefaultroute", "require-mppe-128", "nomppe", "mtu", "1400", "user", "alice"}
	if !slices.Equal(words, want) {
		t.Errorf("pppd words %q, want %q", words, want)
	}
	if password != "s3cret" {
		t.Errorf("password %q", password)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "--socks") {
		t.Errorf("warnings %q, want one naming --socks", warns)
	}
	if slices.Contains(words, "s3cret") {
		t.Errorf("the password is on pppd's command line")
	}
	// pty mode: pppd started us and has its own options; the flags are still only noted.
	a, err = ParsePPTPArgs([]string{"vpn.example", "--nolaunchpppd", "--novj"})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Warnings) != 1 || !strings.Contains(a.Warnings[0], "--novj") {
		t.Errorf("pty mode warnings %q", a.Warnings)
	}
}

func TestPasswordPipe(t *testing.T) {
	r, err := passwordPipe("pw")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b := make([]byte, 8)
	n, _ := r.Read(b)
	if string(b[:n]) != "pw" {
		t.Errorf("read %q", b[:n])
	}
}

func TestIsStatusCommand(t *testing.T) {
	for args, want := range map[string]bool{
		"status": true, "status pptp0": true, "status --all --json": true, "status --json pptp1": true,
		"status --user alice": false, "status pptp0 pptp1": false, "vpn status": false, "": false,
	} {
		if got := isStatusCommand(strings.Fields(args)); got != want {
			t.Errorf("isStatusCommand(%q) = %v", args, got)
		}
	}
}
