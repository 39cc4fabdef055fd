// SPDX-License-Identifier: MIT

package cli

import (
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pptp-go/pptp/pppconf"
)

// liveSecrets is pptpd's chap-secrets: read again when the file changes, so that (as with
// pppd, which reads it for every call) adding or removing a user takes effect on the next
// connection without a restart. A file that no longer parses keeps the last good one.
type liveSecrets struct {
	path string
	log  *logger

	mu      sync.Mutex
	s       *pppconf.Secrets
	mtime   time.Time
	size    int64
	lastErr string
}

func newLiveSecrets(path string, log *logger) (*liveSecrets, error) {
	l := &liveSecrets{path: path, log: log}
	if err := l.reload(); err != nil {
		return nil, err
	}
	return l, nil
}

// reload reads the file now. Precondition: l.mu held, or l not shared yet.
func (l *liveSecrets) reload() error {
	fi, err := os.Stat(l.path)
	if err != nil {
		return err
	}
	s, err := pppconf.ReadSecrets(l.path)
	if err != nil {
		return err
	}
	if s.Warning != "" {
		l.log.Warnf("%s", s.Warning)
	}
	for _, w := range s.FileWarnings {
		l.log.Warnf("%s", w)
	}
	for _, e := range s.Entries {
		for _, w := range e.IPs {
			if w = strings.TrimPrefix(w, "!"); w != "*" && w != "-" && !isAddrOrPrefix(w) {
				l.log.Warnf("%s:%d: address %q is neither an IPv4 address nor a prefix: it permits nothing", l.path, e.Line, w)
			}
		}
	}
	l.s, l.mtime, l.size, l.lastErr = s, fi.ModTime(), fi.Size(), ""
	return nil
}

// refresh re-reads the file if it changed since the last read (or always, if force).
func (l *liveSecrets) refresh(force bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !force {
		fi, err := os.Stat(l.path)
		if err == nil && fi.ModTime().Equal(l.mtime) && fi.Size() == l.size {
			return
		}
	}
	if err := l.reload(); err != nil {
		if msg := err.Error(); msg != l.lastErr {
			l.lastErr = msg
			l.log.Warnf("%v; keeping the secrets read before", err)
		}
		return
	}
	l.log.Logf("%s read again: %d entries", l.path, len(l.s.Entries))
}

func isAddrOrPrefix(w string) bool {
	if _, err := netip.ParseAddr(w); err == nil {
		return true
	}
	_, err := netip.ParsePrefix(w)
	return err == nil
}

// PermitAddress applies the address column of user's entry for our name server, as pppd
// does: the server assigns only a pool address the column permits.
func (l *liveSecrets) PermitAddress(server string) func(user string, a netip.Addr) bool {
	return func(user string, a netip.Addr) bool {
		l.mu.Lock()
		e, ok := l.s.Lookup(user, server)
		l.mu.Unlock()
		return !ok || e.Permits(a)
	}
}

// ForServer is the PPP engine's secret lookup for our name server. A user whose address
// column is "-" (no address allowed) is refused, as pppd refuses such a peer its network.
func (l *liveSecrets) ForServer(server string) func(user string) (string, bool) {
	return func(user string) (string, bool) {
		l.refresh(false)
		l.mu.Lock()
		e, ok := l.s.Lookup(user, server)
		l.mu.Unlock()
		if ok && e.Err != nil {
			l.log.Warnf("user %q: %v: refused", user, e.Err)
			return "", false
		}
		if ok && len(e.IPs) == 1 && e.IPs[0] == "-" {
			l.log.Logf("user %q: chap-secrets allows no address (-): refused", user)
			return "", false
		}
		return e.Secret, ok
	}
}
