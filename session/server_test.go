// SPDX-License-Identifier: MIT

package session

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
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
