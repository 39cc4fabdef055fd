// SPDX-License-Identifier: MIT

package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/pptp-go/pptp"
	"github.com/pptp-go/pptp/ppp"
	"github.com/pptp-go/pptp/pppconf"
)

// scriptTimeout bounds ip-up and ip-down; pppd waits for neither, but a script that
// never ends must not keep a session's teardown from finishing.
const scriptTimeout = 30 * time.Second

// linkScripts runs pppd's ip-up when a link comes up and ip-down before its interface
// configuration is removed, with pppd's arguments (interface, tty, speed, local address,
// remote address, ipparam) and environment, so /etc/ppp/ip-up.d and ip-down.d scripts
// written for pppd run unchanged. Missing scripts are skipped; one that is not executable
// gets a warning. ip-down waits for ip-up to finish first, as pppd does.
type linkScripts struct {
	dir     string // pppconf.PPPDir
	log     *logger
	ipparam string
	server  bool // PEERNAME is the client's authenticated name
	v6      bool // ipv6-up and ipv6-down, with link-local addresses

	mu      sync.Mutex
	args    []string      // set when the link came up
	upDone  chan struct{} // closed when ip-up has ended; nil if not run
	upSince time.Time
	p       ppp.LinkParams
}

func newLinkScripts(log *logger, server bool, ipparam string) *linkScripts {
	return &linkScripts{dir: pppconf.PPPDir, log: log, server: server, ipparam: ipparam}
}

// newIPv6Scripts is newLinkScripts for pppd's ipv6-up and ipv6-down: the same arguments
// with the link-local addresses in place of the IPv4 ones.
func newIPv6Scripts(log *logger, server bool, ipparam string) *linkScripts {
	s := newLinkScripts(log, server, ipparam)
	s.v6 = true
	return s
}

// up6Params is up for a client tunnel's IPv6.
func (s *linkScripts) up6Params(p pptp.Params) {
	s.up(p.Interface, ppp.LinkParams{Local: p.Local6, Peer: p.Peer6, AuthUser: p.User})
}

// upParams is up for a client tunnel.
func (s *linkScripts) upParams(p pptp.Params) {
	s.up(p.Interface, ppp.LinkParams{Local: p.Local, Peer: p.Peer, DNS: p.DNS, MTU: p.MTU, AuthUser: p.User})
}

// up starts ip-up for ifname (in the background: the link is already usable).
func (s *linkScripts) up(ifname string, p ppp.LinkParams) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.args = []string{ifname, "/dev/null", "38400", p.Local.String(), p.Peer.String(), s.ipparam}
	s.p, s.upSince = p, time.Now()
	done := make(chan struct{})
	s.upDone = done
	up := "ip-up"
	if s.v6 {
		up = "ipv6-up"
	}
	go func() {
		defer close(done)
		s.run(up)
	}()
}

// down runs ip-down if ip-up ran, after ip-up has ended; it returns when ip-down has.
func (s *linkScripts) down() {
	s.mu.Lock()
	done := s.upDone
	s.upDone = nil
	s.mu.Unlock()
	if done == nil {
		return
	}
	select {
	case <-done:
	case <-time.After(scriptTimeout):
	}
	if s.v6 {
		s.run("ipv6-down")
		return
	}
	s.run("ip-down")
}

func (s *linkScripts) run(name string) {
	path := filepath.Join(s.dir, name)
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err == nil && fi.Mode()&0o111 == 0 {
		err = errors.New("not executable")
	}
	if err != nil {
		s.log.Warnf("%s: %v; not run", path, err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	s.mu.Lock()
	cmd := exec.CommandContext(ctx, path, s.args...)
	cmd.Env = append(os.Environ(), s.environ(name)...)
	s.mu.Unlock()
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	if len(out) > 0 {
		s.log.Debugf("%s: %s", name, out)
	}
	if err != nil {
		s.log.Warnf("%s %v: %v", path, s.args, err)
	}
}

// environ is pppd's environment for the scripts. Precondition: s.mu held.
func (s *linkScripts) environ(name string) []string {
	a := s.args
	local, remote := "IPLOCAL=", "IPREMOTE="
	if s.v6 {
		local, remote = "LLLOCAL=", "LLREMOTE=" // pppd's names in ipv6-up's environment
	}
	env := []string{"IFNAME=" + a[0], "DEVICE=" + a[1], "SPEED=" + a[2], local + a[3], remote + a[4],
		"PPPD_PID=" + strconv.Itoa(os.Getpid()), "ORIG_UID=" + strconv.Itoa(os.Getuid())}
	if s.server && s.p.AuthUser != "" {
		env = append(env, "PEERNAME="+s.p.AuthUser)
	}
	if !s.server && !s.v6 { // a server's LinkParams.DNS are what it offers, not the peer's
		for i, d := range s.p.DNS {
			if i < 2 {
				env = append(env, fmt.Sprintf("DNS%d=%s", i+1, d))
			}
		}
		if len(s.p.DNS) > 0 {
			env = append(env, "USEPEERDNS=1")
		}
	}
	if name == "ip-down" || name == "ipv6-down" {
		env = append(env, "CONNECT_TIME="+strconv.Itoa(int(time.Since(s.upSince).Seconds())))
	}
	return env
}
