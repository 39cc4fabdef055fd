// SPDX-License-Identifier: MIT

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pptpd reads chap-secrets again when it changes: a removed user is refused and an added
// one accepted on the next connection; a broken file keeps the last good secrets; a user
// whose address column is "-" is refused; other address columns are warned about.
func TestLiveSecrets(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "chap-secrets")
	var out strings.Builder
	log := &logger{w: &out, prefix: "pptpd: "}
	at := time.Now()
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		at = at.Add(time.Second) // a new modification time, however fast the test runs
		if err := os.Chtimes(path, at, at); err != nil {
			t.Fatal(err)
		}
	}
	write("alice pptpd apw *\ncarol pptpd cpw -\ndave pptpd dpw 10.0.0.9\n")
	l, err := newLiveSecrets(path, log)
	if err != nil {
		t.Fatal(err)
	}
	lookup := l.ForServer("pptpd")
	check := func(user, want string, ok bool) {
		t.Helper()
		if got, gotOK := lookup(user); got != want || gotOK != ok {
			t.Errorf("%s: %q %v, want %q %v", user, got, gotOK, want, ok)
		}
	}
	check("alice", "apw", true)
	check("carol", "", false)
	check("dave", "dpw", true)
	if !strings.Contains(out.String(), "chap-secrets:3: the address column (10.0.0.9) is not applied") {
		t.Errorf("no warning for dave's address:\n%s", out.String())
	}

	write("erin pptpd epw *\n")
	check("alice", "", false)
	check("erin", "epw", true)

	write("broken pptpd\n")
	check("erin", "epw", true)
	check("erin", "epw", true)
	if n := strings.Count(out.String(), "keeping the secrets read before"); n != 1 {
		t.Errorf("broken file reported %d times, want once:\n%s", n, out.String())
	}
	if strings.Contains(out.String(), "apw") || strings.Contains(out.String(), "epw") {
		t.Errorf("a secret reached the log:\n%s", out.String())
	}
}

// "debug" in pptpd.conf or in the options file is -d: more log lines and PPP traces.
func TestServerConfigDebug(t *testing.T) {
	for _, c := range []struct {
		conf, opts string
		args       []string
		log, ppp   bool
	}{
		{"", "", nil, false, false},
		{"debug\n", "", nil, true, true},
		{"", "debug\n", nil, false, true},
		{"", "", []string{"-d"}, true, true},
	} {
		dir := t.TempDir()
		opts, conf, secrets := filepath.Join(dir, "opts"), filepath.Join(dir, "conf"), filepath.Join(dir, "cs")
		os.WriteFile(opts, []byte("name pptpd\n"+c.opts), 0o600)
		os.WriteFile(conf, []byte("option "+opts+"\nlocalip 10.9.0.1\nremoteip 10.9.0.2-3\n"+c.conf), 0o600)
		os.WriteFile(secrets, []byte("u pptpd p *\n"), 0o600)
		a, err := ParsePPTPDArgs(append([]string{"--conf", conf, "--chap-secrets", secrets}, c.args...))
		if err != nil {
			t.Fatal(err)
		}
		log := &logger{w: &strings.Builder{}, prefix: "pptpd: ", debug: a.Debug}
		cfg, _, _, _, err := serverConfig(a, log)
		if err != nil {
			t.Fatal(err)
		}
		if log.debug != c.log || cfg.PPP.Debug != c.ppp {
			t.Errorf("conf %q opts %q args %q: log debug %v, PPP debug %v; want %v, %v", c.conf, c.opts, c.args, log.debug, cfg.PPP.Debug, c.log, c.ppp)
		}
	}
}
