// SPDX-License-Identifier: MIT

package aaa

import (
	"errors"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2866"

	"github.com/pptp-go/pptp/ppp"
	"github.com/pptp-go/pptp/session"
)

// fakeCall records how the session was ended.
type fakeCall struct {
	mu     sync.Mutex
	causes []error
	stats  session.DataStats
}

func (f *fakeCall) Close(cause error) {
	f.mu.Lock()
	f.causes = append(f.causes, cause)
	f.mu.Unlock()
}
func (f *fakeCall) Stats() *session.DataStats { return &f.stats }

func (f *fakeCall) closed() []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]error(nil), f.causes...)
}

// newTestSess is a session whose Access-Accept gave reply, with its accounting records
// collected as the packets they become.
func newTestSess(reply *Reply) (*sess, *fakeCall, func() []*radius.Packet) {
	var mu sync.Mutex
	var recs []*record
	r := &RADIUS{cfg: &Config{}, logf: func(string, ...any) {}, sessions: map[string]*sess{},
		queue: func(rec *record) { mu.Lock(); recs = append(recs, rec); mu.Unlock() }}
	fc := &fakeCall{}
	s := &sess{r: r, call: fc, reply: reply, nas: nasInfo{sessID: "S1", username: "alice", ifname: "pptpd0"}}
	packets := func() []*radius.Packet {
		mu.Lock()
		defer mu.Unlock()
		var out []*radius.Packet
		for _, rec := range recs {
			p, _ := rec.build([]byte("s"))
			out = append(out, p)
		}
		return out
	}
	return s, fc, packets
}

func status(p *radius.Packet) rfc2866.AcctStatusType { return rfc2866.AcctStatusType_Get(p) }

func TestSessionTimeoutAndInterim(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, fc, packets := newTestSess(&Reply{SessionTimeout: 10 * time.Second, Interim: 3 * time.Second})
		s.Up(ppp.LinkParams{Peer: netip.MustParseAddr("10.0.0.5")})
		fc.stats.RxBytes.Store(5<<32 + 7) // past 4 GiB: Gigawords
		time.Sleep(10*time.Second - time.Nanosecond)
		synctest.Wait()
		if c := fc.closed(); len(c) != 0 {
			t.Fatalf("closed before the Session-Timeout: %v", c)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if c := fc.closed(); len(c) != 1 || !errors.Is(c[0], ErrSessionTimeout) {
			t.Fatalf("closed with %v, want one ErrSessionTimeout", c)
		}
		s.Down(ErrSessionTimeout, false)
		time.Sleep(time.Minute) // no timer may fire after Down
		synctest.Wait()
		ps := packets()
		var kinds []rfc2866.AcctStatusType
		for _, p := range ps {
			kinds = append(kinds, status(p))
		}
		want := []rfc2866.AcctStatusType{rfc2866.AcctStatusType_Value_Start, rfc2866.AcctStatusType_Value_InterimUpdate,
			rfc2866.AcctStatusType_Value_InterimUpdate, rfc2866.AcctStatusType_Value_InterimUpdate, rfc2866.AcctStatusType_Value_Stop}
		if len(kinds) != len(want) {
			t.Fatalf("records %v, want %v", kinds, want)
		}
		for i := range want {
			if kinds[i] != want[i] {
				t.Fatalf("records %v, want %v", kinds, want)
			}
		}
		stop := ps[len(ps)-1]
		if rfc2866.AcctTerminateCause_Get(stop) != rfc2866.AcctTerminateCause_Value_SessionTimeout ||
			rfc2866.AcctSessionTime_Get(stop) != 10 || rfc2866.AcctInputOctets_Get(stop) != 7 {
			t.Errorf("Stop: cause %v, time %v, input octets %v", rfc2866.AcctTerminateCause_Get(stop), rfc2866.AcctSessionTime_Get(stop), rfc2866.AcctInputOctets_Get(stop))
		}
		if g, _ := stop.Lookup(52); len(g) != 4 || g[3] != 5 { // Acct-Input-Gigawords
			t.Errorf("Acct-Input-Gigawords %x, want 5", g)
		}
	})
}

func TestIdleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, fc, _ := newTestSess(&Reply{IdleTimeout: 8 * time.Second})
		s.Up(ppp.LinkParams{})
		// Traffic for 20 s keeps it alive; then 8 s of silence end it (checked every 2 s).
		for range 10 {
			fc.stats.RxPackets.Add(1)
			time.Sleep(2 * time.Second)
			synctest.Wait()
		}
		if c := fc.closed(); len(c) != 0 {
			t.Fatalf("closed while busy: %v", c)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if c := fc.closed(); len(c) != 1 || !errors.Is(c[0], ErrIdleTimeout) {
			t.Fatalf("closed with %v, want ErrIdleTimeout after 8-10 s idle", c)
		}
	})
}

// The Terminate-Cause says why the session ended.
func TestTerminateCause(t *testing.T) {
	for _, c := range []struct {
		err      error
		shutdown bool
		want     rfc2866.AcctTerminateCause
	}{
		{errors.Join(ppp.ErrPeerTerminated, errors.New("peer terminated the link")), false, rfc2866.AcctTerminateCause_Value_UserRequest},
		{errors.New("control connection lost"), false, rfc2866.AcctTerminateCause_Value_LostCarrier},
		{nil, true, rfc2866.AcctTerminateCause_Value_NASReboot},
		{ErrAdminReset, false, rfc2866.AcctTerminateCause_Value_AdminReset},
		{ErrIdleTimeout, false, rfc2866.AcctTerminateCause_Value_IdleTimeout},
	} {
		s, _, packets := newTestSess(&Reply{})
		s.Up(ppp.LinkParams{})
		s.Down(c.err, c.shutdown)
		ps := packets()
		if got := rfc2866.AcctTerminateCause_Get(ps[len(ps)-1]); got != c.want {
			t.Errorf("Down(%v, %v): cause %v, want %v", c.err, c.shutdown, got, c.want)
		}
	}
}
