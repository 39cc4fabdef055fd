// SPDX-License-Identifier: MIT

package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// tree reads every file under dir: relative path → contents.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(dir, p)
			m[rel] = string(b)
		}
		return nil
	})
	return m
}

// realPPTPSetup runs Debian's /usr/sbin/pptpsetup with dir mounted over /etc/ppp in a
// private mount namespace, so the host's configuration is never touched.
func realPPTPSetup(t *testing.T, dir string, args ...string) {
	t.Helper()
	script := `mount --bind "$0" /etc/ppp && exec /usr/sbin/pptpsetup "$@"`
	cmd := exec.Command("unshare", append([]string{"-m", "--propagation", "private", "sh", "-c", script, dir}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pptpsetup %v: %v\n%s", args, err, out)
	}
}

func ourSetup(t *testing.T, dir string, stdin string, args ...string) error {
	t.Helper()
	a, err := ParseSetupArgs(args)
	if err != nil {
		return err
	}
	a.pppDir = dir
	return a.Run(strings.NewReader(stdin), new(bytes.Buffer))
}

// TestSetupMatchesPPTPSetup runs the same sequence of --create and --delete through the
// real pptpsetup and through ours and compares every file byte for byte.
func TestSetupMatchesPPTPSetup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (a private mount namespace over /etc/ppp)")
	}
	if _, err := os.Stat("/usr/sbin/pptpsetup"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI: /usr/sbin/pptpsetup missing (pptp-linux is installed by refvm build)")
		}
		t.Skip("pptp-linux's pptpsetup is not installed")
	}
	if _, err := os.Stat("/etc/ppp"); err != nil {
		t.Skip("no /etc/ppp to mount over")
	}
	theirs, ours := t.TempDir(), t.TempDir()
	for _, d := range []string{theirs, ours} {
		os.Mkdir(filepath.Join(d, "peers"), 0o755)
		// A stock chap-secrets, as Debian's ppp package ships it.
		os.WriteFile(filepath.Join(d, "chap-secrets"), []byte("# Secrets for authentication using CHAP\n# client\tserver\tsecret\t\t\tIP addresses\n"), 0o600)
	}
	steps := [][]string{
		{"--create", "work", "--server", "vpn.example.com", "--username", "alice", "--password", "s3cret pass!"},
		{"--create", "office_2", "--server", "192.0.2.7", "--domain", "CORP", "--username", "bob", "--password", "x#y$z", "--encrypt"},
		{"-c", "home", "-s", "10.0.0.1", "-u", "carol", "-p", "pw"},
		{"--delete", "work"},
		{"--create", "work", "--server=vpn2.example.com", "--username=alice", "--password=again", "-e"},
	}
	for _, s := range steps {
		realPPTPSetup(t, theirs, s...)
		if err := ourSetup(t, ours, "", s...); err != nil {
			t.Fatalf("pptp setup %v: %v", s, err)
		}
		want, got := tree(t, theirs), tree(t, ours)
		var names []string
		for n := range want {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if got[n] != want[n] {
				t.Errorf("after %v: %s differs\npptpsetup:\n%q\npptp setup:\n%q", s, n, want[n], got[n])
			}
		}
		if len(got) != len(want) {
			t.Errorf("after %v: pptpsetup left %d files, we %d (%v)", s, len(want), len(got), got)
		}
	}
	st, err := os.Stat(filepath.Join(ours, "chap-secrets"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("chap-secrets mode %v, want 0600 (err %v)", st.Mode().Perm(), err)
	}
	pst, _ := os.Stat(filepath.Join(ours, "peers", "office_2"))
	tst, _ := os.Stat(filepath.Join(theirs, "peers", "office_2"))
	if pst.Mode() != tst.Mode() {
		t.Errorf("peers file mode %v, pptpsetup's %v", pst.Mode(), tst.Mode())
	}
}

func TestSetupPromptAndEscapes(t *testing.T) {
	dir := t.TempDir()
	// A typed password: the line end is not part of it (pptpsetup kept it as \x0a), and
	// bytes pppd would misread are written as \xHH escapes, which pppd decodes.
	if err := ourSetup(t, dir, "a\"b\\c\n", "--create", "t1", "--server", "h", "--username", "u"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "chap-secrets"))
	if want := "\n# added by pptpsetup for t1\nu t1 \"a\\x22b\\x5cc\" *\n"; string(b) != want {
		t.Errorf("chap-secrets = %q, want %q", b, want)
	}
	st, _ := os.Stat(filepath.Join(dir, "chap-secrets"))
	if st.Mode().Perm() != 0o600 {
		t.Errorf("new chap-secrets mode %v, want 0600", st.Mode().Perm())
	}
}

func TestSetupRejects(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--create", "bad-name", "--server", "h", "--username", "u", "--password", "p"},
		{"--create", "ok", "--username", "u", "--password", "p"},
		{"--create", "ok", "--server", "h h", "--username", "u", "--password", "p"},
		{"--create", "ok", "--server", "h", "--password", "p"},
		{"--delete", "missing"},
		{"--server", "h"},
	} {
		if err := ourSetup(t, dir, "", args...); err == nil {
			t.Errorf("pptp setup %v: no error", args)
		}
	}
	if names, _ := os.ReadDir(dir); len(names) != 0 {
		t.Errorf("rejected setups left files: %v", names)
	}
}

func TestIsSetupCommand(t *testing.T) {
	for args, want := range map[string]bool{
		"setup --create x":     true,
		"setup --delete=x":     true,
		"setup -c x":           true,
		"setup --cr x":         true,
		"setup --help":         true,
		"setup":                false, // a host named setup
		"setup --nolaunchpppd": false,
		"vpn --create x":       false,
	} {
		if got := isSetupCommand(strings.Fields(args)); got != want {
			t.Errorf("isSetupCommand(%q) = %v, want %v", args, got, want)
		}
	}
}
