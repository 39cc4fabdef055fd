// SPDX-License-Identifier: MIT

package session

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pptp-go/pptp/gre"
	"github.com/pptp-go/pptp/ppp"
)

// ErrKicked is why a session ended by Kick ended.
var ErrKicked = errors.New("ended by the administrator (pptpd kick)")

// SessionInfo describes one of the server's sessions now (pptpd status).
type SessionInfo struct {
	IfName             string
	Client             netip.Addr // the control connection's source address
	CallID, PeerCallID uint16     // ours and the client's
	Started            time.Time  // when the call was placed
	Up                 bool       // PPP is up: the fields below are set
	UpSince            time.Time
	User               string
	Local, Peer        netip.Addr // our end and the address the client was given
	Auth, Cipher       string
	Counters
}

// Counters are a session's traffic, or the sum over the server's sessions.
type Counters struct {
	TxBytes, TxPackets, RxBytes, RxPackets uint64 // IP through the tunnels (tx: to clients)
	RxLost, RxReordered                    uint64 // GRE sequence numbers never seen, held out of order
}

func (c *Counters) add(o Counters) {
	c.TxBytes += o.TxBytes
	c.TxPackets += o.TxPackets
	c.RxBytes += o.RxBytes
	c.RxPackets += o.RxPackets
	c.RxLost += o.RxLost
	c.RxReordered += o.RxReordered
}

// liveSession is a session in the server's table; its counters are the datapath's own.
type liveSession struct {
	info   SessionInfo // Counters unset; the fields after Up set once, under the table's lock
	link   *gre.Link
	sess   *PPP
	cancel func()
}

func (l *liveSession) counters() Counters {
	ds, gs := l.sess.Stats(), l.link.Stats()
	return Counters{
		TxBytes: ds.TxBytes.Load(), TxPackets: ds.TxPackets.Load(),
		RxBytes: ds.RxBytes.Load(), RxPackets: ds.RxPackets.Load(),
		RxLost: gs.RxLost.Load(), RxReordered: gs.RxBuffered.Load(),
	}
}

// table is the server's live sessions and the counters of those that ended. A session has
// its interface name only once it authenticated (Assign); until then IfName is "".
type table struct {
	mu     sync.Mutex
	live   map[*liveSession]struct{}
	ended  Counters
	setUps uint64 // sessions whose PPP came up
}

func (tb *table) add(l *liveSession) *liveSession {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if tb.live == nil {
		tb.live = map[*liveSession]struct{}{}
	}
	tb.live[l] = struct{}{}
	return l
}

func (tb *table) named(l *liveSession, ifname string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	l.info.IfName = ifname
}

func (tb *table) up(l *liveSession, p ppp.LinkParams) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.setUps++
	i := &l.info
	i.Up, i.UpSince = true, time.Now()
	i.User, i.Local, i.Peer = p.AuthUser, p.Local, p.Peer
	i.Auth, i.Cipher = p.Auth.String(), Cipher(p)
}

// remove takes the session out and adds its counters to the ended ones in one step, so the
// totals never go back.
func (tb *table) remove(l *liveSession) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.ended.add(l.counters())
	delete(tb.live, l)
}

// Sessions lists the live sessions, by interface name (unnamed ones, not yet
// authenticated, first), then by start.
func (s *Server) Sessions() []SessionInfo {
	s.table.mu.Lock()
	defer s.table.mu.Unlock()
	out := make([]SessionInfo, 0, len(s.table.live))
	for l := range s.table.live {
		i := l.info
		i.Counters = l.counters()
		out = append(out, i)
	}
	slices.SortFunc(out, func(a, b SessionInfo) int {
		if c := strings.Compare(a.IfName, b.IfName); c != 0 {
			return c
		}
		return a.Started.Compare(b.Started)
	})
	return out
}

// Totals are the server's counters since it started: every session's, ended or live, and
// how many sessions came up.
func (s *Server) Totals() (c Counters, setUps uint64) {
	s.table.mu.Lock()
	defer s.table.mu.Unlock()
	c = s.table.ended
	for l := range s.table.live {
		c.add(l.counters())
	}
	return c, s.table.setUps
}

// Kick ends the session whose Call ID (ours) is callID as a shutdown would (LCP
// Terminate-Request, then Call-Disconnect-Notify and the control connection's end); false
// if there is none.
func (s *Server) Kick(callID uint16) bool {
	s.table.mu.Lock()
	var found *liveSession
	for l := range s.table.live {
		if l.info.CallID == callID {
			found = l
		}
	}
	s.table.mu.Unlock()
	if found == nil {
		return false
	}
	found.cancel()
	return true
}
