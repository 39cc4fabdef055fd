// SPDX-License-Identifier: MIT

package cli

import (
	"errors"
	"net/netip"
	"strings"
	"sync"

	"github.com/pptp-go/pptp/ppp"
	"github.com/pptp-go/pptp/ppp/auth"
	"github.com/pptp-go/pptp/session"
)

// MetricsSnapshot is what pptpd's metrics show, read at each scrape.
type MetricsSnapshot struct {
	SessionsUp, SessionsStarting int
	SetUps                       uint64            // sessions whose PPP came up
	AuthFailures                 map[string]uint64 // by reason: every one of AuthFailureReasons
	Totals                       session.Counters  // every session's, ended or live
}

// AuthFailureReasons are the reasons of MetricsSnapshot.AuthFailures, present from the start
// so that a rate() sees the first failure.
var AuthFailureReasons = []string{"bad_password", "unknown_user", "timeout", "other"}

// MetricsExporter serves pptpd.conf's "metrics" address; internal/promexp sets it when
// cmd/pptpd imports it, so the Prometheus library is linked into pptpd only, not into pptp.
var MetricsExporter func(addr netip.AddrPort, snapshot func() MetricsSnapshot, logf func(string, ...any)) (stop func(), err error)

// serverMetrics counts the authentication failures of ended sessions and reads the rest
// from the server's session table.
type serverMetrics struct {
	srv *session.Server // set once the server exists, before serving

	mu       sync.Mutex
	authFail map[string]uint64
}

func newServerMetrics() *serverMetrics {
	return &serverMetrics{authFail: map[string]uint64{}}
}

// authFailureReason names why a session's authentication failed ("" if it did not).
func authFailureReason(err error) string {
	if !errors.Is(err, ppp.ErrAuthFailed) {
		return ""
	}
	var te *auth.TimeoutError
	msg := err.Error()
	switch {
	case errors.As(err, &te):
		return "timeout"
	case strings.Contains(msg, "no secret"):
		return "unknown_user"
	case strings.Contains(msg, "failed authentication"), strings.Contains(msg, "wrong password"):
		return "bad_password"
	}
	return "other"
}

// authFailed counts a call whose client failed to authenticate (ServerConfig.AuthFailed).
func (m *serverMetrics) authFailed(_ netip.Addr, _ string, err error) {
	if r := authFailureReason(err); r != "" {
		m.mu.Lock()
		m.authFail[r]++
		m.mu.Unlock()
	}
}

func (m *serverMetrics) snapshot() MetricsSnapshot {
	var s MetricsSnapshot
	for _, i := range m.srv.Sessions() {
		if i.Up {
			s.SessionsUp++
		} else {
			s.SessionsStarting++
		}
	}
	s.Totals, s.SetUps = m.srv.Totals()
	s.AuthFailures = make(map[string]uint64, len(AuthFailureReasons))
	m.mu.Lock()
	for _, r := range AuthFailureReasons {
		s.AuthFailures[r] = m.authFail[r]
	}
	m.mu.Unlock()
	return s
}
