// SPDX-License-Identifier: MIT

package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pptp-go/pptp/control"
	"github.com/pptp-go/pptp/gre"
)

// Tunnel is a placed call with its GRE link, before anything runs above it.
type Tunnel struct {
	Call   *control.Call
	Link   *gre.Link
	Server netip.Addr

	idClaim io.Closer // holds our Call ID against other clients of this namespace; nil if given
	watch   *greWatch // why GRE does not pass, while it does not
}

// DialConfig is what a client needs to place a call.
type DialConfig struct {
	Server  string // host name, IPv4 or IPv6 address, optionally with :port ([v6]:port)
	Control control.ClientConfig
	Link    gre.LinkOptions
	Logf    func(format string, args ...any)
}

// resolveTimeout bounds the look-up of the server's name.
const resolveTimeout = 10 * time.Second

// ErrResolve and ErrGRESocket are matched (errors.Is) by Dial's errors from resolving the
// server and from opening the raw GRE socket.
var (
	ErrResolve   = errors.New("cannot resolve the server")
	ErrGRESocket = errors.New("cannot open the GRE socket")
)

// kindError gives err a kind (errors.Is) and keeps its text.
type kindError struct{ kind, err error }

func (k kindError) Error() string   { return k.err.Error() }
func (k kindError) Unwrap() []error { return []error{k.kind, k.err} }

// Dial resolves the server, opens the control connection's TCP to the first of its
// addresses that answers (control.Connect: happy eyeballs over IPv6 and IPv4), then the
// raw GRE socket to that address before any PPTP message (so the server's first GRE
// packets are not answered with ICMP protocol-unreachable), and places the call.
func Dial(ctx context.Context, cfg DialConfig) (*Tunnel, error) {
	rctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	addrs, err := control.ResolveServerAddrs(rctx, cfg.Server)
	cancel()
	if err != nil {
		return nil, kindError{ErrResolve, err}
	}
	tcp, err := control.Connect(ctx, addrs, cfg.Control)
	if err != nil {
		return nil, err
	}
	// GRE goes where the control connection went.
	server := addrOf(tcp.RemoteAddr())
	if len(addrs) > 1 && cfg.Logf != nil {
		cfg.Logf("connected to %v (of %d addresses)", server, len(addrs))
	}
	var claim io.Closer
	if cfg.Control.CallID == 0 {
		cfg.Control.CallID, claim = claimCallID(server, control.RandomCallID)
	}
	release := func() {
		tcp.Close()
		if claim != nil {
			claim.Close()
		}
	}
	gopt := cfg.Link.Socket
	gopt.CallID = cfg.Control.CallID
	conn, err := gre.Dial(server, gopt)
	if err != nil {
		release()
		return nil, kindError{ErrGRESocket, err}
	}
	// The watch listens before the call is placed: the server's first GRE (or an ICMP
	// error for ours) may come right after the Outgoing-Call-Reply.
	watch := watchGRE("server", server, cfg.Control.CallID, true, cfg.Logf)
	cfg.Control.RecvWindow = recvWindow(cfg.Control.RecvWindow, conn, cfg.Logf)
	call, err := control.Client(ctx, tcp, cfg.Control)
	if err != nil {
		watch.stop()
		conn.Close()
		if claim != nil {
			claim.Close()
		}
		return nil, err
	}
	link := newLink(conn, call, cfg.Link, cfg.Logf)
	watch.setLink(link)
	return &Tunnel{Call: call, Link: link, Server: server, idClaim: claim, watch: watch}, nil
}

// addrOf is a TCP address's IP, unmapped, with its zone.
func addrOf(a net.Addr) netip.Addr {
	ap, _ := netip.ParseAddrPort(a.String())
	return ap.Addr().Unmap()
}

// recvWindow is the Packet Recv. Window Size to advertise for conn: the configured one if
// set, else control.DefaultWindow, or what its receive buffer holds if that is less (the
// kernel caps the buffer when we may not force it), said in the log.
func recvWindow(configured uint16, conn gre.CallConn, logf func(string, ...any)) uint16 {
	if configured != 0 {
		return configured
	}
	w := conn.RecvWindow(control.DefaultWindow)
	if w < control.DefaultWindow && logf != nil {
		logf("GRE receive buffer holds only %d full-size packets (net.core.rmem_max caps it without CAP_NET_ADMIN): advertising a window of %d", w, w)
	}
	return w
}

// newLink is the GRE link of a placed call, client or server.
func newLink(conn gre.CallConn, call *control.Call, o gre.LinkOptions, logf func(string, ...any)) *gre.Link {
	return gre.NewLink(conn, o.LinkConfig(call.LocalCallID(), call.PeerCallID(), call.PeerRecvWindow(), logf))
}

// claimCallID picks a random Call ID that no other client in this network namespace uses
// towards server. Our raw GRE sockets tell calls apart by the Call ID in the packet alone,
// so two clients to one server with the same ID (a 2 % chance among 50) would each receive
// the other's packets. The claim is an abstract unix socket named after server and ID: the
// kernel refuses a second bind in the namespace and releases it when the process dies.
// When no socket can be bound at all (no unix sockets?) the ID is just random, as before.
func claimCallID(server netip.Addr, next func() uint16) (uint16, io.Closer) {
	id := next()
	for range 64 {
		c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: claimPrefix(server) + strconv.Itoa(int(id)), Net: "unixgram"})
		if err == nil {
			return id, c
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return id, nil
		}
		id = next()
	}
	return id, nil
}

func claimPrefix(server netip.Addr) string { return "@pptp-go/call/" + server.String() + "/" }

// OtherCallsTo reports whether a client in this network namespace other than the one with
// our Call ID ours holds a call to server (its claim, see claimCallID, is in /proc/net/unix).
// Clients to one server share its host route: the last one removes it.
func OtherCallsTo(server netip.Addr, ours uint16) bool {
	b, err := os.ReadFile("/proc/net/unix")
	if err != nil {
		return false
	}
	return otherClaims(string(b), claimPrefix(server), ours)
}

// otherClaims looks through /proc/net/unix text for sockets named prefix+ID, ID ≠ ours.
func otherClaims(procNetUnix, prefix string, ours uint16) bool {
	for line := range strings.Lines(procNetUnix) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if id, ok := strings.CutPrefix(f[len(f)-1], prefix); ok && id != strconv.Itoa(int(ours)) {
			return true
		}
	}
	return false
}

// ErrCallEnded is wrapped by RunOver when the control call ended under the session.
var ErrCallEnded = errors.New("call ended")

// RunOver runs fn (the upper half: PPP engine or pty bridge) until it returns, ctx ends, or the
// call ends; then it tears everything down in order: fn's own shutdown (through its context),
// the GRE link, and the control call (Call-Clear-Request → Call-Disconnect-Notify → Stop).
func (d *Tunnel) RunOver(ctx context.Context, fn func(ctx context.Context) error) error {
	fctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	res := make(chan error, 1)
	go func() { res <- fn(fctx) }()
	var err error
	select {
	case err = <-res:
	case <-d.Call.Done():
		// The server usually clears the call right after telling PPP why (an MS-CHAP
		// Failure, an LCP Terminate-Request); give that frame a moment to win, because it
		// says more than "call cleared".
		callErr := fmt.Errorf("%w: %w", ErrCallEnded, d.Call.Err())
		var ferr error
		select {
		case ferr = <-res:
		case <-time.After(500 * time.Millisecond):
			// The cause tells fn that this is no local request to close (PPP stops at once).
			cancel(callErr)
			ferr = <-res
		}
		err = ferr
		if err == nil || (errors.Is(err, context.Canceled) && ctx.Err() == nil) {
			err = callErr
		}
	}
	err = d.watch.explain(err)
	d.watch.stop()
	d.Link.Close()
	if cerr := d.Call.Close(); cerr != nil && err == nil && ctx.Err() == nil {
		err = cerr
	}
	if d.idClaim != nil {
		d.idClaim.Close()
	}
	return err
}
