// SPDX-License-Identifier: MIT

package pppconf

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPPTPDConfLimits(t *testing.T) {
	c, err := ParsePPTPDConfData("pptpd.conf", []byte("auth-timeout 20\nmax-half-open 0\nmax-calls-per-source 5\nfail-delay 0\nrouted-subnet 192.168.50.0/24, 10.1.0.0/16\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.AuthTimeout != 20*time.Second || c.HalfOpen != -1 || c.CallsPerSource != 5 || c.FailDelay != -1 ||
		len(c.RoutedSubnets) != 2 || c.RoutedSubnets[1] != netip.MustParsePrefix("10.1.0.0/16") {
		t.Fatalf("%+v", c)
	}
	for _, bad := range []string{"auth-timeout 0", "max-half-open -1", "routed-subnet 10.0.0.1", "routed-subnet ::/0"} {
		_, err := ParsePPTPDConfData("pptpd.conf", []byte("# x\n"+bad+"\n"))
		if err == nil || !strings.Contains(err.Error(), "pptpd.conf:2") {
			t.Errorf("%q: %v, want an error naming pptpd.conf:2", bad, err)
		}
	}
}

func TestSecretPermits(t *testing.T) {
	a := netip.MustParseAddr("10.88.0.105")
	for _, tc := range []struct {
		ips  []string
		want bool
	}{
		{nil, true}, {[]string{"*"}, true}, {[]string{"-"}, false},
		{[]string{"10.88.0.105"}, true}, {[]string{"10.88.0.106"}, false},
		{[]string{"10.88.0.0/24"}, true}, {[]string{"!10.88.0.105", "10.88.0.0/24"}, false},
		{[]string{"!10.88.0.1", "*"}, true}, {[]string{"+"}, false},
	} {
		if got := (Secret{IPs: tc.ips}).Permits(a); got != tc.want {
			t.Errorf("%q permits %v: %v, want %v", tc.ips, a, got, tc.want)
		}
	}
}

// A secret's @/file that others can read, or that a stranger owns, is warned about with
// the secrets file's line.
func TestSecretFileWarnings(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("x\n"), 0o644)
	p := filepath.Join(dir, "chap-secrets")
	os.WriteFile(p, []byte("# c\nbob * @"+pw+" *\n"), 0o600)
	s, err := ReadSecrets(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.FileWarnings) != 1 || !strings.Contains(s.FileWarnings[0], p+":2:") || !strings.Contains(s.FileWarnings[0], "mode 0644") {
		t.Fatalf("warnings %q", s.FileWarnings)
	}
	os.Chmod(pw, 0o600)
	if os.Geteuid() == 0 {
		os.Chown(pw, 4242, 4242)
		s, _ = ReadSecrets(p)
		if len(s.FileWarnings) != 1 || !strings.Contains(s.FileWarnings[0], "uid 4242") {
			t.Fatalf("warnings %q", s.FileWarnings)
		}
	}
}
