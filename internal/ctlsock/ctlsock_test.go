// SPDX-License-Identifier: MIT

package ctlsock

import (
	"bufio"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseRequest(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Request
		err  string
	}{
		{"status", Request{Verb: "status"}, ""},
		{"kick alice", Request{Verb: "kick", Target: "alice"}, ""},
		{"kick 10.99.0.100", Request{Verb: "kick", Target: "10.99.0.100"}, ""},
		{"", Request{}, "empty"},
		{"status now", Request{}, "no argument"},
		{"kick", Request{}, "needs"},
		{"kick ", Request{}, "needs"},
		{"kick a b", Request{}, "one user"},
		{"kick  a", Request{}, "one user"},
		{"GET / HTTP/1.1", Request{}, `unknown request "GET"`},
		{"status\r", Request{}, "0x0d"},
		{"kick \x00", Request{}, "0x00"},
		{"kick caf\xc3\xa9", Request{}, "0xc3"},
		{"kick " + strings.Repeat("a", MaxRequest), Request{}, "longer"},
	} {
		got, err := ParseRequest([]byte(tc.in))
		if tc.err == "" {
			if err != nil || got != tc.want {
				t.Errorf("ParseRequest(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("ParseRequest(%q) error %v, want one containing %q", tc.in, err, tc.err)
		}
	}
}

// FuzzParseRequest: no input panics; what parses is one of the two verbs, and printing it
// back gives the same line.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{"status", "kick alice", "kick 10.0.0.1", "kick", "status x", "\x00", "kick a b"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRequest(b)
		if err != nil {
			return
		}
		line := r.Verb
		switch r.Verb {
		case "status":
		case "kick":
			if r.Target == "" || strings.ContainsAny(r.Target, " \n") {
				t.Fatalf("kick target %q", r.Target)
			}
			line += " " + r.Target
		default:
			t.Fatalf("verb %q", r.Verb)
		}
		if line != string(b) {
			t.Fatalf("%q parsed as %+v", b, r)
		}
	})
}

func listen(t *testing.T) (*Server, string, *int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "run", "x.sock")
	calls := new(int)
	s, err := Listen(path, func(r Request) (any, error) {
		*calls++
		if r.Verb == "kick" {
			return nil, errors.New("no session of " + r.Target)
		}
		return map[string]int{"sessions": 2}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path, calls
}

func TestServeQuery(t *testing.T) {
	s, path, _ := listen(t)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket %v mode %v, want a 0600 socket", err, fi.Mode())
	}
	if di, _ := os.Stat(filepath.Dir(path)); di.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", di.Mode().Perm())
	}
	res, err := Query(path, "status")
	if err != nil || string(res) != `{"sessions":2}` {
		t.Fatalf("status: %s, %v", res, err)
	}
	if _, err := Query(path, "kick bob"); err == nil || err.Error() != "no session of bob" {
		t.Errorf("kick bob: %v", err)
	}
	s.Close()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left after Close: %v", err)
	}
	if _, err := Query(path, "status"); !errors.Is(err, ErrNotRunning) {
		t.Errorf("query after Close: %v, want ErrNotRunning", err)
	}
}

// TestGarbage: a request that is not the protocol gets an error line and the connection is
// closed; the handler never sees it and the server goes on answering.
func TestGarbage(t *testing.T) {
	_, path, calls := listen(t)
	for _, junk := range []string{"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n", "GET / HTTP/1.0\r\n\r\n", strings.Repeat("A", 4096), "status"} {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte(junk))
		if junk == "status" {
			c.(*net.UnixConn).CloseWrite() // no newline: EOF ends the request
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(c)
		line, err := br.ReadBytes('\n')
		var rep Reply
		if err != nil || json.Unmarshal(line, &rep) != nil || rep.Error == "" {
			t.Errorf("%q: reply %q, %v; want an error line", junk, line, err)
		}
		if _, err := br.ReadByte(); err == nil {
			t.Errorf("%q: connection still open after the error", junk)
		}
		c.Close()
	}
	if *calls != 0 {
		t.Errorf("the handler saw %d garbage requests", *calls)
	}
	if _, err := Query(path, "status"); err != nil {
		t.Errorf("status after garbage: %v", err)
	}
}

// TestSilentClient: a client that sends nothing is cut off after ioTimeout.
func TestSilentClient(t *testing.T) {
	_, path, _ := listen(t)
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(ioTimeout + 3*time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	if !strings.Contains(line, "no request within") {
		t.Errorf("silent client got %q", line)
	}
}

// TestStaleSocket: the socket of a process that died is reported as gone and removed by
// Query, and replaced by Listen; a live one is not taken over.
func TestStaleSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close() // the file stays, nobody listens: a crashed process's socket
	if _, err := Query(path, "status"); !errors.Is(err, ErrGone) {
		t.Fatalf("query of a dead socket: %v, want ErrGone", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale socket not removed: %v", err)
	}
	ln, _ = net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	ln.SetUnlinkOnClose(false)
	ln.Close()
	s, err := Listen(path, func(Request) (any, error) { return 1, nil })
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	defer s.Close()
	if _, err := Listen(path, func(Request) (any, error) { return 2, nil }); !errors.Is(err, ErrInUse) {
		t.Errorf("second Listen: %v, want ErrInUse", err)
	}
	if res, err := Query(path, "status"); err != nil || string(res) != "1" {
		t.Errorf("the first server lost its socket: %s, %v", res, err)
	}
}
