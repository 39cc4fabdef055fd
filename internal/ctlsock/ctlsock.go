// SPDX-License-Identifier: MIT

// Package ctlsock is the local status socket of pptp and pptpd: a Unix stream socket, mode
// 0600 in a root-only directory, that answers one request line per connection with one
// JSON line. Requests are "status" and "kick TARGET"; anything else gets an error reply and
// the connection is closed, without touching the sessions.
package ctlsock

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// MaxRequest is the longest request line, newline included.
const MaxRequest = 256

// ioTimeout bounds how long one connection may take to send its request and read the reply:
// a client that connects and stays silent must not hold a handler forever.
const ioTimeout = 2 * time.Second

// queryTimeout bounds a Query: longer than a handler may take (pptpd's kick waits up to 8 s
// for the sessions to end).
const queryTimeout = 15 * time.Second

// maxConns is how many connections are served at once; more wait in the listen backlog.
const maxConns = 4

// Request is one parsed request.
type Request struct {
	Verb   string // "status" or "kick"
	Target string // kick: a user name or an address
}

// ParseRequest parses one request line (without its newline): "status" or "kick TARGET",
// words separated by one space, printable ASCII only.
func ParseRequest(line []byte) (Request, error) {
	if len(line) == 0 {
		return Request{}, errors.New("empty request")
	}
	if len(line) >= MaxRequest {
		return Request{}, fmt.Errorf("request longer than %d bytes", MaxRequest-1)
	}
	for _, c := range line {
		if c < 0x21 && c != ' ' || c > 0x7e {
			return Request{}, fmt.Errorf("request has a byte 0x%02x that is not printable ASCII", c)
		}
	}
	verb, arg, hasArg := cutSpace(string(line))
	switch verb {
	case "status":
		if hasArg {
			return Request{}, errors.New("status takes no argument")
		}
		return Request{Verb: verb}, nil
	case "kick":
		if !hasArg || arg == "" {
			return Request{}, errors.New("kick needs a user name or an address")
		}
		if _, _, more := cutSpace(arg); more {
			return Request{}, errors.New("kick takes one user name or address")
		}
		return Request{Verb: verb, Target: arg}, nil
	}
	return Request{}, fmt.Errorf("unknown request %q (want status or kick)", trim(verb))
}

func cutSpace(s string) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func trim(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

// Reply is the one JSON line a request gets.
type Reply struct {
	Error  string          `json:"error,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
}

// Handler answers a parsed request; an error goes back as Reply.Error.
type Handler func(Request) (any, error)

// ErrInUse is Listen's error when a live process answers on the socket.
var ErrInUse = errors.New("in use by a running process")

// Server is a listening status socket.
type Server struct {
	ln   *net.UnixListener
	path string
	h    Handler
	wg   sync.WaitGroup
	sem  chan struct{}
}

// Listen creates the socket at path (its directory made 0700 if missing) with mode 0600 and
// serves it with h until Close. A socket file left by a process that died is replaced; one
// that a live process answers on is not (ErrInUse).
func Listen(path string, h Handler) (*Server, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("%s: %w", path, ErrInUse)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	// Root only: the socket shows addresses and user names, and kick ends sessions. It is
	// bound under a temporary name, made 0600, then renamed into place, so that even in a
	// directory others can enter it is never reachable with the umask's wider mode.
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	os.Remove(tmp)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, err
	}
	ln.SetUnlinkOnClose(false) // Close removes path, the name it has then
	if err := os.Chmod(tmp, 0o600); err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, err
	}
	s := &Server{ln: ln, path: path, h: h, sem: make(chan struct{}, maxConns)}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Path is the socket's file name.
func (s *Server) Path() string { return s.path }

// Close stops serving, removes the socket file and waits for the connections being served.
func (s *Server) Close() error {
	err := s.ln.Close()
	os.Remove(s.path)
	s.wg.Wait()
	return err
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // out of descriptors: try again
			continue
		}
		s.sem <- struct{}{}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-s.sem }()
			s.serveConn(c)
		}()
	}
}

func (s *Server) serveConn(c *net.UnixConn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(ioTimeout))
	var rep Reply
	line, err := readLine(c)
	var req Request
	if err == nil {
		req, err = ParseRequest(line)
	}
	if err == nil {
		var res any
		if res, err = s.h(req); err == nil {
			rep.Result, err = json.Marshal(res)
		}
	}
	if err != nil {
		rep = Reply{Error: err.Error()}
	}
	b, _ := json.Marshal(rep)
	c.SetWriteDeadline(time.Now().Add(ioTimeout)) // the read may have used up the first
	c.Write(append(b, '\n'))
}

// readLine reads one request line of at most MaxRequest bytes, newline included.
func readLine(r io.Reader) ([]byte, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, MaxRequest), MaxRequest)
	line, err := br.ReadSlice('\n')
	switch {
	case err == nil:
		return line[:len(line)-1], nil
	case errors.Is(err, io.EOF) && len(line) == MaxRequest:
		return nil, fmt.Errorf("request longer than %d bytes", MaxRequest-1)
	case errors.Is(err, io.EOF):
		return nil, errors.New("request not terminated by a newline")
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return nil, errors.New("no request within 2 s")
	}
	return nil, err
}

// ErrNotRunning: nothing at the socket's path. ErrGone: a socket file whose process has
// died (the file is removed).
var (
	ErrNotRunning = errors.New("not running")
	ErrGone       = errors.New("has exited (stale socket removed)")
)

// Query sends one request line to the socket at path and returns the reply's result.
func Query(path, request string) (json.RawMessage, error) {
	c, err := net.DialTimeout("unix", path, ioTimeout)
	if err != nil {
		switch {
		case errors.Is(err, os.ErrNotExist):
			return nil, ErrNotRunning
		case errors.Is(err, syscall.ECONNREFUSED):
			// Nobody listens: the process died without removing its socket.
			os.Remove(path)
			return nil, ErrGone
		}
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(queryTimeout))
	if _, err := io.WriteString(c, request+"\n"); err != nil {
		return nil, err
	}
	var rep Reply
	if err := json.NewDecoder(io.LimitReader(c, 16<<20)).Decode(&rep); err != nil {
		return nil, fmt.Errorf("reading the reply: %w", err)
	}
	if rep.Error != "" {
		return nil, errors.New(rep.Error)
	}
	return rep.Result, nil
}
