// SPDX-License-Identifier: MIT

package cli

import (
	"fmt"
	"log/syslog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pptp-go/pptp/pppconf"
)

// pptpd reads chap-secrets again when it changes: a removed user is refused and an added
// one accepted on the next connection; a broken file keeps the last good secrets; a user
// whose address column is "-" is refused; other address columns decide which pool
// addresses the user may get, and words that are not addresses are warned about.
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
	write("alice pptpd apw *\ncarol pptpd cpw -\ndave pptpd dpw 10.0.0.9\nfrank pptpd fpw !10.0.0.3 10.0.0.0/29 bogus\n")
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
	if !strings.Contains(out.String(), `chap-secrets:4: address "bogus" is neither`) || strings.Contains(out.String(), "chap-secrets:3") {
		t.Errorf("warnings:\n%s", out.String())
	}
	permit := l.PermitAddress("pptpd")
	for _, tc := range []struct {
		user, addr string
		want       bool
	}{{"alice", "10.0.0.5", true}, {"dave", "10.0.0.9", true}, {"dave", "10.0.0.8", false},
		{"frank", "10.0.0.2", true}, {"frank", "10.0.0.3", false}, {"frank", "10.0.0.9", false}} {
		if got := permit(tc.user, netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("%s may get %s: %v, want %v", tc.user, tc.addr, got, tc.want)
		}
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
		cfg, _, _, _, _, err := serverConfig(a, log)
		if err != nil {
			t.Fatal(err)
		}
		if log.debug != c.log || cfg.PPP.Debug != c.ppp {
			t.Errorf("conf %q opts %q args %q: log debug %v, PPP debug %v; want %v, %v", c.conf, c.opts, c.args, log.debug, cfg.PPP.Debug, c.log, c.ppp)
		}
	}
}

// The client reads a password from stdin as a whole line, spaces included.
func TestReadPasswordLine(t *testing.T) {
	for in, want := range map[string]string{"pass word\n": "pass word", "pw": "pw", "crlf\r\n": "crlf", "\n": ""} {
		if got, err := readPasswordLine(strings.NewReader(in)); err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
	if _, err := readPasswordLine(strings.NewReader("")); err == nil {
		t.Error("empty stdin gave a password")
	}
}

// The client's chap-secrets lookup: a file that does not parse, or the chosen record's
// unreadable @/file, is an error naming file and line; another record's @/file is not.
func TestFindPasswordSecretsErrors(t *testing.T) {
	dir, log, out := usePPPDir(t)
	o := &pppconf.Options{}
	path := filepath.Join(dir, "chap-secrets")
	for _, c := range []struct{ secrets, user, want, err string }{
		{"carol vpn @/missing/file *\ndemo vpn \"demo secret\" *\n", "demo", "demo secret", ""},
		{"carol vpn @/missing/file *\n", "carol", "", "chap-secrets:1: secret file"},
		{"demo vpn \"unterminated\n", "demo", "", "chap-secrets:1"},
		{"demo vpn\n", "demo", "", "chap-secrets:1"},
	} {
		os.WriteFile(path, []byte(c.secrets), 0o600)
		got, err := findPassword(o, c.user, "vpn", log)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: %q, %v; want an error with %q", c.secrets, got, err, c.err)
			}
		} else if err != nil || got != c.want {
			t.Errorf("%q: %q, %v; want %q", c.secrets, got, err, c.want)
		}
	}
	os.Chmod(path, 0o644)
	os.WriteFile(path, []byte("demo vpn pw *\n"), 0o644)
	if _, err := findPassword(o, "demo", "vpn", log); err != nil || !strings.Contains(out.String(), "accessible by group or others") {
		t.Errorf("no permission warning: %v\n%s", err, out.String())
	}
}

// Without remotename the server's CHAP name is unknown before connecting: a user's records
// are used if they all hold the same secret, and disagreeing records are an error asking
// for remotename.
func TestFindPasswordWithoutRemoteName(t *testing.T) {
	dir, log, out := usePPPDir(t)
	path := filepath.Join(dir, "chap-secrets")
	for _, c := range []struct{ secrets, remotename, want, err string }{
		{"demo pptpd demo-secret *\n", "", "demo-secret", ""},
		{"demo pptpd same *\ndemo other same *\n", "", "same", ""},
		{"demo pptpd one *\ndemo other two *\n", "", "", "set remotename"},
		{"demo pptpd one *\ndemo other two *\n", "other", "two", ""},
		{"demo pptpd one *\n", "other", "", "no password"},
	} {
		os.WriteFile(path, []byte(c.secrets), 0o600)
		got, err := findPassword(&pppconf.Options{RemoteName: c.remotename}, "demo", "198.18.7.1", log)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q remotename %q: %q, %v; want an error with %q", c.secrets, c.remotename, got, err, c.err)
			}
		} else if err != nil || got != c.want {
			t.Errorf("%q remotename %q: %q, %v; want %q", c.secrets, c.remotename, got, err, c.want)
		}
	}
	if strings.Contains(out.String(), "demo-secret") {
		t.Errorf("a secret reached the log:\n%s", out.String())
	}
}

// Syslog lines: pptp as pptp-linux writes them ("<logstring> log[pptp]: ..."), pptpd plain.
func TestSyslogFormat(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, c := range []struct {
		ident, tag, want string
	}{
		{"pptp", "nm-pptp-service-42", " pptp[%d]: nm-pptp-service-42 log[pptp]: hello\n"},
		{"pptpd", "", " pptpd[%d]: hello\n"},
	} {
		w, err := syslog.Dial("unixgram", sock, syslog.LOG_NOTICE|syslog.LOG_DAEMON, c.ident)
		if err != nil {
			t.Fatal(err)
		}
		l := &logger{tag: c.tag, sys: w}
		l.Logf("hello")
		w.Close()
		buf := make([]byte, 512)
		ln.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := ln.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf(c.want, os.Getpid()); !strings.HasSuffix(string(buf[:n]), want) {
			t.Errorf("%s: %q, want it to end in %q", c.ident, buf[:n], want)
		}
	}
}

// usePPPDir points pppconf.PPPDir at a fresh directory for the test and returns it with a
// logger writing to out.
func usePPPDir(t *testing.T) (dir string, log *logger, out *strings.Builder) {
	dir = t.TempDir()
	old := pppconf.PPPDir
	pppconf.PPPDir = dir
	t.Cleanup(func() { pppconf.PPPDir = old })
	out = &strings.Builder{}
	return dir, &logger{w: out, prefix: "pptp: "}, out
}
