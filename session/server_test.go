// SPDX-License-Identifier: MIT

package session

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pptp-go/pptp/control"
)

// failingListener fails Accept with errs in turn, then reports itself closed.
type failingListener struct {
	errs    []error
	accepts int
	at      []time.Duration
	start   time.Time
}

func (l *failingListener) Accept() (net.Conn, error) {
	l.accepts++
	l.at = append(l.at, time.Since(l.start))
	if len(l.errs) > 0 {
		err := l.errs[0]
		l.errs = l.errs[1:]
		return nil, err
	}
	return nil, net.ErrClosed
}
func (l *failingListener) Close() error   { return nil }
func (l *failingListener) Addr() net.Addr { return &net.TCPAddr{} }

// Out of descriptors, Accept fails; the server must wait and accept again, not stop (a
// client opening connections must not be able to end the server).
func TestServeSurvivesAcceptErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs []string
		srv, err := NewServer(ServerConfig{Pool: &Pool{}, Logf: func(f string, a ...any) {
			logs = append(logs, f)
		}})
		if err != nil {
			t.Fatal(err)
		}
		emfile := &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
		ln := &failingListener{errs: []error{emfile, emfile, emfile, emfile}, start: time.Now()}
		err = srv.Serve(context.Background(), ln)
		if !errors.Is(err, net.ErrClosed) || ln.accepts != 5 {
			t.Fatalf("Serve = %v after %d accepts, want net.ErrClosed after 5", err, ln.accepts)
		}
		// Backing off 5, 10, 20, 40 ms.
		want := []time.Duration{0, 5 * time.Millisecond, 15 * time.Millisecond, 35 * time.Millisecond, 75 * time.Millisecond}
		for i, at := range ln.at {
			if at != want[i] {
				t.Fatalf("accept %d at %v, want %v", i, at, want[i])
			}
		}
		if len(logs) != 1 || !strings.Contains(logs[0], "accept") {
			t.Fatalf("logged %q, want one line", logs)
		}
	})
}

// closeConn is a net.Conn that only records Close.
type closeConn struct {
	net.Conn
	closed bool
}

func (c *closeConn) Close() error { c.closed = true; return nil }

// connListener hands out conns, then reports itself closed.
type connListener struct {
	failingListener
	conns []net.Conn
}

func (l *connListener) Accept() (net.Conn, error) {
	if len(l.conns) == 0 {
		return nil, net.ErrClosed
	}
	c := l.conns[0]
	l.conns = l.conns[1:]
	return c, nil
}

// With as many control connections open as the limit, new ones are closed at once and
// logged once, and the server goes on accepting.
func TestServeClosesConnectionsBeyondLimit(t *testing.T) {
	var logs []string
	srv, err := NewServer(ServerConfig{Pool: &Pool{}, Connections: 3, Logf: func(f string, a ...any) {
		logs = append(logs, f)
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv.active.Store(srv.connLimit()) // as if that many clients were connected
	a, b := &closeConn{}, &closeConn{}
	if err := srv.Serve(context.Background(), &connListener{conns: []net.Conn{a, b}}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Serve = %v", err)
	}
	if !a.closed || !b.closed || len(logs) != 1 || !strings.Contains(logs[0], "control connections open") {
		t.Fatalf("closed %v %v, logs %q", a.closed, b.closed, logs)
	}
	if srv.connLimit() != 22 {
		t.Fatalf("limit %d for 3 calls", srv.connLimit())
	}
}

// The server's links drop data packets 4096 or more ahead unless told otherwise, and every
// per-source limit has its default.
func TestServerDefaults(t *testing.T) {
	srv, err := NewServer(ServerConfig{Pool: &Pool{}, Connections: 50})
	if err != nil {
		t.Fatal(err)
	}
	if w := srv.cfg.Link.Reorder.MissingWindow; w != DefaultServerMissingWindow {
		t.Fatalf("missing window %d", w)
	}
	if l := srv.cfg.Limits; l.HalfOpen != 8 || l.Calls != 50 || l.FailDelay != time.Second || l.MaxFailDelay != 32*time.Second {
		t.Fatalf("limits %+v", l)
	}
}

// A failed login delays the next attempt from its source (and for its user): 1 s, then
// doubling per failure up to the maximum, counted from the last failure.
func TestFailureDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := Limits{}
		l.setDefaults(10)
		f := failures{limits: &l, m: map[string]*failure{}}
		if d := f.delay("source 192.0.2.9"); d != 0 {
			t.Fatalf("delay %v before any failure", d)
		}
		for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, 32 * time.Second} {
			f.add("source 192.0.2.9")
			if d := f.delay("source 192.0.2.9"); d != want {
				t.Fatalf("after %d failures: delay %v, want %v", i+1, d, want)
			}
		}
		start := time.Now()
		f.wait(context.Background(), "source 192.0.2.9")
		if d := time.Since(start); d != 32*time.Second {
			t.Fatalf("waited %v", d)
		}
		if d := f.delay("source 192.0.2.10"); d != 0 {
			t.Fatalf("another source delayed %v", d)
		}
		time.Sleep(l.FailMemory)
		f.add("user bob") // forgets the stale entries
		if _, ok := f.m["source 192.0.2.9"]; ok {
			t.Fatal("a failure older than FailMemory is still remembered")
		}
	})
}

// The rate-limited log writes its burst, then counts what it drops in its next line.
func TestRateLog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lines []string
		r := rateLog{out: func(f string, a ...any) { lines = append(lines, fmt.Sprintf(f, a...)) }, burst: 3, every: 10 * time.Second}
		for i := range 10 {
			r.logf("line %d", i)
		}
		if len(lines) != 3 {
			t.Fatalf("%d lines", len(lines))
		}
		time.Sleep(10 * time.Second)
		r.logf("later")
		if len(lines) != 5 || lines[3] != "(7 similar lines suppressed)" || lines[4] != "later" {
			t.Fatalf("%q", lines)
		}
	})
}

// addrConn is one end of a pipe that says it comes from addr and records Close.
type addrConn struct {
	net.Conn
	addr   net.Addr
	closed atomic.Bool
}

func (c *addrConn) RemoteAddr() net.Addr { return c.addr }
func (c *addrConn) LocalAddr() net.Addr  { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1723} }
func (c *addrConn) Close() error         { c.closed.Store(true); return c.Conn.Close() }

// One source gets Limits.HalfOpen connections that have not logged in; more from it are
// closed at once (one rate-limited line), while another source is still served.
func TestServeHalfOpenPerSource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var logs []string
		srv, err := NewServer(ServerConfig{Pool: &Pool{}, Limits: Limits{HalfOpen: 3}, Logf: func(f string, a ...any) {
			mu.Lock()
			logs = append(logs, fmt.Sprintf(f, a...))
			mu.Unlock()
		}})
		if err != nil {
			t.Fatal(err)
		}
		var conns []net.Conn
		var ours []*addrConn
		for i := range 6 {
			ip := net.IPv4(192, 0, 2, 7)
			if i == 5 {
				ip = net.IPv4(192, 0, 2, 8)
			}
			a, b := net.Pipe()
			c := &addrConn{Conn: a, addr: &net.TCPAddr{IP: ip, Port: 40000 + i}}
			conns, ours = append(conns, c), append(ours, c)
			defer b.Close()
		}
		go srv.Serve(context.Background(), &connListener{conns: conns})
		synctest.Wait() // every connection accepted; the served ones wait for their SCCRQ
		for i, c := range ours {
			want := i == 3 || i == 4 // the 4th and 5th from 192.0.2.7
			if c.closed.Load() != want {
				t.Errorf("connection %d closed: %v, want %v", i, c.closed.Load(), want)
			}
		}
		mu.Lock()
		joined := strings.Join(logs, "\n")
		mu.Unlock()
		if strings.Count(joined, "not logged in yet") != 2 {
			t.Errorf("log:\n%s", joined)
		}
		time.Sleep(11 * time.Second) // StartTimeout: the silent ones are closed, their slots freed
		synctest.Wait()
		if n := len(srv.halfOpen); n != 0 {
			t.Errorf("%d sources still hold half-open slots", n)
		}
	})
}

// With every Call ID of a half in use, newCallID says so at once instead of looping, and
// finds the last free one when there is one.
func TestNewCallIDBounded(t *testing.T) {
	srv, _ := NewServer(ServerConfig{Pool: &Pool{}})
	for id := 1; id < 0x8000; id++ {
		if id != 0x1234 {
			srv.callIDs.Store(uint16(id), struct{}{})
		}
	}
	id, err := srv.newCallID(false)
	if err != nil || id != 0x1234 {
		t.Fatalf("newCallID = %#x, %v; want the one free ID 0x1234", id, err)
	}
	if _, err := srv.newCallID(false); !errors.Is(err, ErrCallIDs) || !errors.Is(err, control.ErrBusy) {
		t.Fatalf("full space: %v", err)
	}
	if id, err := srv.newCallID(true); err != nil || id&0x8000 == 0 {
		t.Fatalf("muxed half: %#x, %v", id, err)
	}
}

// Calls per source are capped (Limits.Calls); the global limit is only checked before
// login, its slots taken at authentication.
func TestCallLimits(t *testing.T) {
	srv, _ := NewServer(ServerConfig{Pool: &Pool{}, Connections: 3, Limits: Limits{Calls: 2}})
	a, b := netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("192.0.2.8")
	for range 2 {
		if err := srv.takeCall(a); err != nil {
			t.Fatalf("one of two calls from a source refused: %v", err)
		}
	}
	if err := srv.takeCall(a); !errors.Is(err, control.ErrBusy) {
		t.Fatalf("third call from a source: %v", err)
	}
	if err := srv.takeCall(b); err != nil {
		t.Fatalf("another source: %v", err)
	}
	for range 3 {
		if err := srv.takeSlot(); err != nil {
			t.Fatal(err)
		}
	}
	if srv.takeSlot() == nil {
		t.Fatal("a fourth slot of 3")
	}
	srv.putCall(b)
	if err := srv.takeCall(b); !errors.Is(err, control.ErrBusy) {
		t.Fatalf("a call while every slot is taken: %v", err)
	}
	srv.putCall(a)
	if err := srv.takeCall(netip.MustParseAddr("192.0.2.9")); !errors.Is(err, control.ErrBusy) {
		t.Fatal("slots are global")
	}
}
