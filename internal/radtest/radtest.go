// SPDX-License-Identifier: MIT

// Package radtest runs Debian's FreeRADIUS 3.2 for tests, in a network namespace of its
// own, with a configuration the test writes (users file, one client entry for any
// address, PAP/CHAP/MS-CHAP, a detail file for accounting) and nothing from /etc. Link
// joins its namespace to another one with a veth pair.
package radtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pptp-go/pptp/internal/nstest"
)

// Secret is the shared secret of every client.
const Secret = "radtest-secret"

// Options shape the server.
type Options struct {
	Users string // the users file (FreeRADIUS "files" module syntax)
	// NoMPPE stops rlm_mschap from sending MS-MPPE keys (the users file may send its own).
	NoMPPE bool
}

// Server is one FreeRADIUS process in namespace NS.
type Server struct {
	NS  string
	Dir string
	t   testing.TB

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	Log  *nstest.Buffer
}

var links atomic.Int32

// Start writes the configuration and starts FreeRADIUS; it is stopped at the end of the
// test. It skips the test when FreeRADIUS is not installed.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	if _, err := exec.LookPath("freeradius"); err != nil {
		t.Skip("freeradius is not installed (apt-get install freeradius freeradius-utils)")
	}
	s := &Server{NS: nstest.New(t, "rad"), Dir: t.TempDir(), t: t}
	if err := WriteConfig(s.Dir, o); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	s.Restart()
	return s
}

// Restart starts FreeRADIUS again (after Stop) and waits until it answers.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	s.Log = nstest.NewBuffer()
	cmd := nstest.Cmd(context.Background(), s.NS, "freeradius", Args(s.Dir, true)...)
	cmd.Stdout, cmd.Stderr = s.Log, s.Log
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	done := s.done
	go func() { cmd.Wait(); close(done) }()
	if !nstest.WaitFor(20*time.Second, func() bool { return strings.Contains(s.Log.String(), "Ready to process requests") }) {
		s.t.Fatalf("FreeRADIUS did not start:\n%s", s.Log.String())
	}
}

// WriteConfig writes a FreeRADIUS configuration with o's users into dir (for programs
// that are not tests; Start does it for tests).
func WriteConfig(dir string, o Options) error {
	for _, d := range []string{"log", "acct", "run"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return err
		}
	}
	mppe := "yes"
	if o.NoMPPE {
		mppe = "no"
	}
	conf := strings.NewReplacer("@DIR@", dir, "@SECRET@", Secret, "@MPPE@", mppe).Replace(radiusdConf)
	if err := os.WriteFile(filepath.Join(dir, "radiusd.conf"), []byte(conf), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "users"), []byte(o.Users), 0o600)
}

// Args is freeradius's command line for the configuration in dir: debug (-X: one thread,
// every packet logged) for tests, or multi-threaded with only errors logged (benchmarks).
func Args(dir string, debug bool) []string {
	if debug {
		return []string{"-f", "-X", "-d", dir, "-n", "radiusd"}
	}
	return []string{"-f", "-l", "stdout", "-d", dir, "-n", "radiusd"}
}

// Stop ends FreeRADIUS (the namespace stays; Restart brings it back).
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Link joins namespace ns to the server's with a veth pair on a /30 of 203.0.113.0/24
// (one per link, 64 per test process) and returns ns's address and the server's.
func (s *Server) Link(ns string) (nasAddr, radiusAddr string) {
	s.t.Helper()
	n := int(links.Add(1) - 1) // process-wide: a namespace may be linked to several servers
	nasAddr, radiusAddr = fmt.Sprintf("203.0.113.%d", 4*n+1), fmt.Sprintf("203.0.113.%d", 4*n+2)
	a, b := fmt.Sprintf("r%da%d", os.Getpid()%100000, n), fmt.Sprintf("r%db%d", os.Getpid()%100000, n)
	for _, args := range [][]string{
		{"link", "add", a, "netns", ns, "type", "veth", "peer", "name", b, "netns", s.NS},
		{"-n", ns, "addr", "add", nasAddr + "/30", "dev", a},
		{"-n", s.NS, "addr", "add", radiusAddr + "/30", "dev", b},
		{"-n", ns, "link", "set", a, "up"},
		{"-n", s.NS, "link", "set", b, "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			s.t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	s.t.Cleanup(func() { exec.Command("ip", "-n", ns, "link", "del", a).Run() })
	return nasAddr, radiusAddr
}

// Detail returns the accounting detail file(s) written so far.
func (s *Server) Detail() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "acct", "detail"))
	return string(b)
}

// Record is one accounting record of the detail file: attribute → value (quotes removed).
type Record map[string]string

// Records parses the detail file.
func (s *Server) Records() []Record {
	var out []Record
	var cur Record
	for _, l := range strings.Split(s.Detail(), "\n") {
		if strings.TrimSpace(l) == "" {
			if cur != nil {
				out = append(out, cur)
				cur = nil
			}
			continue
		}
		if l[0] != '\t' && l[0] != ' ' {
			cur = Record{}
			continue
		}
		if k, v, ok := strings.Cut(strings.TrimSpace(l), " = "); ok && cur != nil {
			cur[k] = strings.Trim(v, `"`)
		}
	}
	if cur != nil {
		out = append(out, cur)
	}
	return out
}

// RadiusclientConf writes a radiusclient.conf, its servers file and returns the
// configuration's path. servers are host[:port] of FreeRADIUS instances (their secret is
// Secret); extra lines are appended.
func RadiusclientConf(t testing.TB, dir string, servers []string, extra string) string {
	t.Helper()
	conf, err := WriteRadiusclientConf(dir, servers, extra)
	if err != nil {
		t.Fatal(err)
	}
	return conf
}

// WriteRadiusclientConf is RadiusclientConf for programs that are not tests.
func WriteRadiusclientConf(dir string, servers []string, extra string) (string, error) {
	var auth, acct, secrets []string
	for _, h := range servers {
		auth = append(auth, h+":1812")
		acct = append(acct, h+":1813")
		secrets = append(secrets, h+"\t"+Secret)
	}
	conf := filepath.Join(dir, "radiusclient.conf")
	text := fmt.Sprintf("# written by radtest\nauthserver %s\nacctserver %s\nservers %s\ndictionary /etc/radiusclient/dictionary\nradius_timeout 1\nradius_retries 2\n%s",
		strings.Join(auth, ","), strings.Join(acct, ","), filepath.Join(dir, "servers"), extra)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return "", err
	}
	return conf, os.WriteFile(filepath.Join(dir, "servers"), []byte(strings.Join(secrets, "\n")+"\n"), 0o600)
}

// Radclient runs radclient in the server's namespace against addr (host:port) with the
// request attributes in input (one per line) and returns its output.
func (s *Server) Radclient(addr, code, input string) (string, error) {
	cmd := nstest.Cmd(context.Background(), s.NS, "radclient", "-x", "-r", "1", "-t", "2", addr, code, Secret)
	cmd.Stdin = strings.NewReader(input)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

const radiusdConf = `# written by radtest
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
logdir = @DIR@/log
raddbdir = @DIR@
radacctdir = @DIR@/acct
name = freeradius
confdir = @DIR@
modconfdir = @DIR@
run_dir = @DIR@/run
db_dir = @DIR@
libdir = /usr/lib/freeradius
dictdir = /usr/share/freeradius
pidfile = @DIR@/run/radiusd.pid
max_request_time = 30
cleanup_delay = 5
max_requests = 65536
hostname_lookups = no
log {
	destination = stdout
	auth = yes
}
security {
	allow_core_dumps = no
	max_attributes = 200
	reject_delay = 0
	status_server = yes
}
thread pool {
	start_servers = 4
	max_servers = 16
	min_spare_servers = 2
	max_spare_servers = 8
	max_requests_per_server = 0
}
client any {
	ipaddr = 0.0.0.0/0
	secret = @SECRET@
	require_message_authenticator = yes
}
modules {
	pap {
	}
	chap {
	}
	mschap {
		use_mppe = @MPPE@
		require_encryption = no
		require_strong = no
	}
	files {
		filename = @DIR@/users
	}
	detail {
		filename = @DIR@/acct/detail
		permissions = 0600
		header = "%t"
	}
}
server default {
	listen {
		type = auth
		ipaddr = *
		port = 1812
	}
	listen {
		type = acct
		ipaddr = *
		port = 1813
	}
	authorize {
		files
		mschap
		chap
		pap
	}
	authenticate {
		Auth-Type PAP {
			pap
		}
		Auth-Type CHAP {
			chap
		}
		Auth-Type MS-CHAP {
			mschap
		}
	}
	preacct {
	}
	accounting {
		detail
	}
	# FreeRADIUS 3.2.1 signs replies only when asked to (RFC 3579; 3.2.5 always does).
	post-auth {
		update reply {
			Message-Authenticator := 0x00
		}
		Post-Auth-Type REJECT {
			update reply {
				Message-Authenticator := 0x00
			}
		}
	}
}
`
