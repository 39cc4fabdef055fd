// SPDX-License-Identifier: MIT

package gre

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// nsShared is what the fast paths of one network namespace share: the netlink
// sockets and, for fastRecheck, whether the namespace filters. A server with
// a thousand calls then holds three netlink sockets, not three thousand, and
// dumps the firewall and IPsec tables once a second, not a thousand times.
type nsShared struct {
	key [2]uint64 // device and inode of the namespace

	mu            sync.Mutex // guards everything below
	refs          int
	rt, nft, xfrm *nlSock // nft and xfrm are nil where the kernel lacks them
	tables        int     // /proc/net/ip_tables_names of the namespace, or -1
	checked       time.Time
	filters       bool
	buf           [nlReplyBytes]byte
}

var nsShares struct {
	sync.Mutex
	m map[[2]uint64]*nsShared
}

// joinNamespace returns the calling thread's namespace's nsShared, opening
// its sockets if it is the first; nil if it has no netlink.
func joinNamespace() *nsShared {
	var st unix.Stat_t
	if unix.Stat("/proc/thread-self/ns/net", &st) != nil {
		return nil
	}
	key := [2]uint64{st.Dev, st.Ino}
	nsShares.Lock()
	defer nsShares.Unlock()
	if s := nsShares.m[key]; s != nil {
		s.mu.Lock()
		s.refs++
		s.mu.Unlock()
		return s
	}
	s := &nsShared{key: key, refs: 1}
	var err error
	if s.rt, err = openNetlink(unix.NETLINK_ROUTE, s.buf[:]); err != nil {
		return nil
	}
	s.nft, _ = openNetlink(unix.NETLINK_NETFILTER, s.buf[:])
	s.xfrm, _ = openNetlink(unix.NETLINK_XFRM, s.buf[:])
	s.tables = openTablesNames()
	if nsShares.m == nil {
		nsShares.m = map[[2]uint64]*nsShared{}
	}
	nsShares.m[key] = s
	return s
}

// leave drops one reference; the last closes the sockets.
func (s *nsShared) leave() {
	nsShares.Lock()
	defer nsShares.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refs--; s.refs > 0 {
		return
	}
	delete(nsShares.m, s.key)
	s.rt.close()
	s.nft.close()
	s.xfrm.close()
	if s.tables >= 0 {
		unix.Close(s.tables)
	}
}

// filteredLocked is filtered() for the namespace, re-read at most once per fastRecheck.
// Precondition: s.mu held.
func (s *nsShared) filteredLocked(now time.Time) bool {
	if now.Sub(s.checked) >= fastRecheck || now.Before(s.checked) {
		s.filters, s.checked = filtered(s.tables, s.nft, s.xfrm), now
	}
	return s.filters
}
