// SPDX-License-Identifier: MIT

package lossylink_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pptp-go/pptp/gre"
	"github.com/pptp-go/pptp/internal/lossylink"
	"github.com/pptp-go/pptp/internal/nstest"
	"github.com/pptp-go/pptp/mppe"
	"github.com/pptp-go/pptp/netif"
	"github.com/pptp-go/pptp/netstack"
	"github.com/pptp-go/pptp/ppp"
	"github.com/pptp-go/pptp/ppp/auth"
	"github.com/pptp-go/pptp/session"
	"golang.zx2c4.com/wireguard/tun"
)

const (
	testUser, testPassword = "alice", "correct horse"
	serverIP               = "10.99.0.1"
	clientIP               = "10.99.0.2"
	transferPort           = 5001
)

// endpoint is one side of the tunnel: a session.PPP whose tun.Device is either a user-space
// stack built once IPCP gave it its address, or (kernel mode) a real TUN device in a network
// namespace, configured by netif.Apply inside it, so that Linux's own TCP runs the transfer.
type endpoint struct {
	name string
	ns   string // kernel mode: the namespace of the TUN device
	sess *session.PPP
	link *gre.Link
	tnet chan *netstack.Stack // user-space mode: the stack, once up
	up   chan struct{}        // closed when the network layer is configured
	errc chan error
}

func newEndpoint(t *testing.T, name, ns string, pc gre.PacketConn, local, peer uint16, holdFor time.Duration, ec ppp.Config) *endpoint {
	ep := &endpoint{name: name, ns: ns, tnet: make(chan *netstack.Stack, 1), up: make(chan struct{}), errc: make(chan error, 1)}
	ec.Debug = os.Getenv("LOSSY_DEBUG") != ""
	ec.Logf = func(format string, args ...any) { t.Logf("%s: ppp: %s", name, fmt.Sprintf(format, args...)) }
	ep.link = gre.NewLinkOn(pc, gre.LinkConfig{LocalCallID: local, PeerCallID: peer, Reorder: gre.ReorderConfig{Timeout: holdFor}})
	cfg := session.PPPConfig{
		Engine: ec,
		IfName: name,
		Logf: func(format string, args ...any) {
			t.Logf("%s: %s", name, fmt.Sprintf(format, args...))
		},
	}
	if ns == "" {
		lazy := session.NewLazyDevice()
		cfg.Dev = lazy
		cfg.Configure = func(p ppp.LinkParams) (func() error, error) {
			tnet, err := netstack.New(p.Local, p.DNS, p.MTU)
			if err != nil {
				return nil, err
			}
			lazy.Set(tnet)
			ep.tnet <- tnet
			close(ep.up)
			return func() error { return nil }, nil
		}
	} else {
		err := nstest.In(ns, func() (err error) {
			cfg.Dev, cfg.IfName, err = netif.CreateTUN(name, 0)
			return err
		})
		if err != nil {
			t.Fatalf("%s: TUN in %s: %v", name, ns, err)
		}
		cfg.Configure = func(p ppp.LinkParams) (undo func() error, err error) {
			err = nstest.In(ns, func() (err error) {
				undo, err = netif.Apply(netif.Config{IfName: cfg.IfName, Local: p.Local, Peer: p.Peer, MTU: p.MTU})
				return err
			})
			if err == nil {
				close(ep.up)
			}
			return undo, err
		}
	}
	ep.sess = session.NewPPP(ep.link, cfg)
	return ep
}

type transferCase struct {
	name      string
	loss, ro  float64
	stateless bool
	size      int
	holdFor   time.Duration // GRE reorder timeout (0 = pptp-linux's 300 ms)
	// kernel runs the transfer between Linux TCP sockets in two namespaces, through real TUN
	// devices, instead of between two user-space stacks (root only).
	kernel  bool
	timeout time.Duration // for the whole case, default 120 s
}

type transferResult struct {
	elapsed        time.Duration
	resetRequests  uint64 // CCP Reset-Requests the server's receiver asked for
	decryptErrors  uint64 // MPPE packets the server discarded (loss of sync, gaps)
	lost, reorders uint64
	answersLost    int64
}

// runTransfer brings a client and a server session up over a lossy pair, sends size random
// bytes from the client's stack to a listener on the server's and checks their SHA-256.
func runTransfer(t *testing.T, tc transferCase) transferResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmp.Or(tc.timeout, 120*time.Second))
	defer cancel()
	var answersLost atomic.Int64 // client→server reset answers lost
	cfg := lossylink.Config{Loss: tc.loss, Reorder: tc.ro, Seed: 7, QueueLen: 4096,
		Lost: func(p []byte) {
			if !tc.stateless && isResetAnswer(p, 0x2222) {
				answersLost.Add(1)
			}
		}}
	a, b := lossylink.Pair(cfg)
	policy := ppp.MPPEPolicy{Require: true, Allow128: true, Stateful: !tc.stateless, Stateless: tc.stateless}
	var cns, sns string
	if tc.kernel {
		nstest.RequireRoot(t)
		pair := nstest.NewPair(t, "lsy")
		cns, sns = pair.B, pair.A
	}
	client := newEndpoint(t, "lossyc0", cns, a, 0x1111, 0x2222, tc.holdFor, ppp.Config{
		User: testUser, Password: testPassword, MPPE: policy,
		Refuse: auth.AllMethods.Remove(auth.MSCHAPv2),
	})
	server := newEndpoint(t, "lossys0", sns, b, 0x2222, 0x1111, tc.holdFor, ppp.Config{
		Server: true, Name: "pptpd",
		Require: auth.MethodSet(0).Add(auth.MSCHAPv2),
		Secret: func(user string) (string, bool) {
			return testPassword, user == testUser
		},
		MPPE:    policy,
		LocalIP: netip.MustParseAddr(serverIP), PeerIP: netip.MustParseAddr(clientIP),
	})
	for _, ep := range []*endpoint{client, server} {
		go func() { ep.errc <- ep.sess.Run(ctx) }()
	}
	defer func() {
		for _, ep := range []*endpoint{client, server} {
			ep.sess.Close()
		}
		for _, ep := range []*endpoint{client, server} {
			select {
			case err := <-ep.errc:
				if err != nil && !errors.Is(err, context.Canceled) {
					t.Logf("%s: Run: %v", ep.name, err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("%s: Run did not return after Close", ep.name)
			}
		}
	}()

	for _, ep := range []*endpoint{client, server} {
		select {
		case <-ep.up:
		case err := <-ep.errc:
			t.Fatalf("%s: link ended before IPCP: %v", ep.name, err)
		case <-ctx.Done():
			t.Fatalf("%s: no IPCP within the deadline", ep.name)
		}
	}
	params := client.sess.Params()
	if params == nil || params.MPPE == nil || params.MPPE.Stateless != tc.stateless || params.MPPE.Bits != 128 {
		t.Fatalf("negotiated %+v, want MPPE-128 stateless=%v", params, tc.stateless)
	}

	srvAddr := netip.AddrPortFrom(netip.MustParseAddr(serverIP), transferPort)
	var ln net.Listener
	var err error
	var dial func() (net.Conn, error)
	if tc.kernel {
		ln, err = nstest.Listen(sns, srvAddr.String())
		dial = func() (net.Conn, error) { return nstest.Dial(cns, srvAddr.String(), 10*time.Second) }
	} else {
		cnet, snet := <-client.tnet, <-server.tnet
		ln, err = snet.ListenTCP("tcp", srvAddr)
		dial = func() (net.Conn, error) { return cnet.DialContext(ctx, "tcp", srvAddr.String()) }
	}
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type rx struct {
		sum [32]byte
		n   int64
		err error
	}
	got := make(chan rx, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- rx{err: err}
			return
		}
		defer c.Close()
		h := sha256.New()
		n, err := io.Copy(h, c)
		var r rx
		copy(r.sum[:], h.Sum(nil))
		r.n, r.err = n, err
		got <- r
	}()

	data := make([]byte, tc.size)
	rng := rand.NewChaCha8([32]byte{1})
	rng.Read(data)
	want := sha256.Sum256(data)

	start := time.Now()
	conn, err := dial()
	if err != nil {
		t.Fatalf("dial through the tunnel: %v", err)
	}
	writeErr := make(chan error, 1)
	go func() {
		_, err := io.Copy(conn, bytes.NewReader(data))
		if err == nil {
			err = conn.Close()
		}
		writeErr <- err
	}()
	if os.Getenv("LOSSY_DEBUG") != "" {
		go func() {
			for ctx.Err() == nil {
				time.Sleep(2 * time.Second)
				ss, cs := server.sess.Stats(), client.sess.Stats()
				t.Logf("monitor: server rx %d ip (%d bad), %d discards, tx %d; client rx %d ip (%d bad), %d discards, tx %d dropped %d; server GRE accepted %d; client GRE accepted %d; A→B sent %d",
					ss.RxPackets.Load(), ss.RxBadIP.Load(), ss.RxDecryptErrors.Load(), ss.TxPackets.Load(), cs.RxPackets.Load(), cs.RxBadIP.Load(), cs.RxDecryptErrors.Load(), cs.TxPackets.Load(), cs.TxDropped.Load(),
					server.link.Stats().RxAccepted.Load(), client.link.Stats().RxAccepted.Load(), a.TxStats().Sent.Load())
			}
		}()
	}
	var r rx
	select {
	case r = <-got:
	case <-ctx.Done():
		if os.Getenv("LOSSY_DEBUG") != "" {
			buf := make([]byte, 1<<20)
			t.Logf("goroutines at the stall:\n%s", buf[:runtime.Stack(buf, true)])
		}
		conn.Close()
		ss := server.sess.Stats()
		t.Fatalf("transfer stalled: server received %d packets, %d MPPE discards, %d Reset-Requests asked\nlink A→B %s\nlink B→A %s\nclient GRE:\n%v\nserver GRE:\n%v",
			ss.RxPackets.Load(), ss.RxDecryptErrors.Load(), server.sess.ResetRequests(), statsString(a.TxStats()), statsString(b.TxStats()),
			client.link.Stats(), server.link.Stats())
	}
	elapsed := time.Since(start)
	if tc.kernel {
		// What Linux TCP went through: under stateful MPPE every loss also discards the
		// rest of the flight, and most of the time goes to retransmission timeouts.
		out, _ := nstest.Output(cns, "nstat", "-az", "TcpExtTCPTimeouts", "TcpExtTCPSackRecovery", "TcpExtTCPLossProbes", "TcpRetransSegs")
		t.Logf("client TCP counters:\n%s", out)
	}
	if err := <-writeErr; err != nil {
		t.Errorf("sender: %v", err)
	}
	if r.err != nil || r.n != int64(tc.size) || r.sum != want {
		t.Fatalf("received %d bytes (err %v), sha256 match %v; sent %d", r.n, r.err, r.sum == want, tc.size)
	}
	ss := server.sess.Stats()
	return transferResult{
		elapsed:       elapsed,
		resetRequests: server.sess.ResetRequests(),
		decryptErrors: ss.RxDecryptErrors.Load(),
		answersLost:   answersLost.Load(),
		lost:          a.TxStats().Lost.Load(),
		reorders:      a.TxStats().Reordered.Load(),
	}
}

func statsString(s *lossylink.Stats) string {
	return fmt.Sprintf("sent %d lost %d reordered %d delivered %d", s.Sent.Load(), s.Lost.Load(), s.Reordered.Load(), s.Delivered.Load())
}

func TestTransferOverLossyLink(t *testing.T) {
	size := 20 << 20
	if testing.Short() {
		size = 2 << 20
	}
	// The GRE reorder timeout is 10 ms instead of pptp-linux's 300 ms: on this zero-latency
	// link every loss would otherwise hold the receive side for 300 ms (3.5 Mbit/s measured).
	const hold = 10 * time.Millisecond
	cases := []transferCase{
		{name: "stateful/no-loss"},
		{name: "stateless/1%loss+1%reorder", loss: 0.01, ro: 0.01, stateless: true, holdFor: hold},
		// Every loss also discards the rest of the flight until the CCP reset: 20 MiB in 4-5 s
		// measured between the two user-space stacks.
		{name: "stateful/1%loss+1%reorder", loss: 0.01, ro: 0.01, holdFor: hold},
		// 20 MiB in 26-77 s measured (each retransmission timeout costs Linux 200+ ms).
		{name: "kernel/stateful/1%loss+1%reorder", loss: 0.01, ro: 0.01, holdFor: hold, kernel: true, timeout: 300 * time.Second},
		{name: "kernel/stateless/1%loss+1%reorder", loss: 0.01, ro: 0.01, holdFor: hold, kernel: true, stateless: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.size == 0 || tc.size > size {
				tc.size = size
			}
			r := runTransfer(t, tc)
			mbps := float64(tc.size) * 8 / r.elapsed.Seconds() / 1e6
			t.Logf("%.0f MiB in %v (%.1f Mbit/s); client→server GRE lost %d, reordered %d; server MPPE discards %d, CCP Reset-Requests %d, reset answers lost %d",
				float64(tc.size)/(1<<20), r.elapsed.Round(time.Millisecond), mbps, r.lost, r.reorders, r.decryptErrors, r.resetRequests, r.answersLost)
			switch {
			case tc.loss == 0 && (r.resetRequests != 0 || r.decryptErrors != 0):
				t.Errorf("no loss yet %d Reset-Requests, %d discards", r.resetRequests, r.decryptErrors)
			case tc.loss > 0 && !tc.stateless && r.resetRequests == 0:
				t.Errorf("stateful MPPE under loss asked for no Reset-Request")
			case tc.stateless && r.resetRequests != 0:
				t.Errorf("stateless MPPE asked for %d Reset-Requests", r.resetRequests)
			}
		})
	}
}

// isResetAnswer reports whether p is a GRE packet to callID carrying stateful MPPE data with
// the flushed bit on a count that is not a flag packet's: the first packet after a CCP
// Reset-Request.
func isResetAnswer(p []byte, callID uint16) bool {
	h, frame, err := gre.Parse(p)
	if err != nil || h.CallID() != callID || len(frame) == 0 {
		return false
	}
	proto, info, err := ppp.ParseFrame(frame)
	if err != nil || proto != ppp.ProtoCompressed || len(info) < mppe.HeaderLen {
		return false
	}
	mh := mppe.Header(info)
	return mh.Flags()&mppe.FlagFlushed != 0 && mh.Count()&0xff != 0xff
}

// failingTUN is a tun.Device whose reads fail: the TUN went away under the session.
type failingTUN struct{}

func (f failingTUN) File() *os.File { return nil }
func (f failingTUN) Read([][]byte, []int, int) (int, error) {
	return 0, errors.New("netlink: no buffer space available")
}
func (f failingTUN) Write(bufs [][]byte, _ int) (int, error) { return len(bufs), nil }
func (f failingTUN) MTU() (int, error)                       { return 1400, nil }
func (f failingTUN) Name() (string, error)                   { return "failing0", nil }
func (f failingTUN) Events() <-chan tun.Event                { return nil }
func (f failingTUN) Close() error                            { return nil }
func (f failingTUN) BatchSize() int                          { return 1 }

// A session whose TUN can no longer be read ends with that error instead of staying up
// with no traffic towards the peer (found at 1000 server sessions: a dead netlink listener
// handed ENOBUFS to the device's Read).
func TestTUNReadErrorEndsSession(t *testing.T) {
	a, b := lossylink.Pair(lossylink.Config{})
	policy := ppp.MPPEPolicy{Require: true, Allow128: true, Stateless: true}
	client := newEndpoint(t, "client", "", a, 0x1111, 0x2222, 0, ppp.Config{
		User: testUser, Password: testPassword, MPPE: policy,
	})
	srvLink := gre.NewLinkOn(b, gre.LinkConfig{LocalCallID: 0x2222, PeerCallID: 0x1111})
	server := session.NewPPP(srvLink, session.PPPConfig{
		Engine: ppp.Config{
			Server: true, Name: "pptpd", Require: auth.MethodSet(0).Add(auth.MSCHAPv2),
			Secret: func(user string) (string, bool) { return testPassword, user == testUser },
			MPPE:   policy, LocalIP: netip.MustParseAddr(serverIP), PeerIP: netip.MustParseAddr(clientIP),
		},
		Dev:       failingTUN{},
		IfName:    "failing0",
		Configure: func(ppp.LinkParams) (func() error, error) { return func() error { return nil }, nil },
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() { client.errc <- client.sess.Run(ctx) }()
	serr := make(chan error, 1)
	go func() { serr <- server.Run(ctx) }()
	select {
	case err := <-serr:
		if err == nil || !strings.Contains(err.Error(), "TUN read: netlink: no buffer space available") {
			t.Fatalf("server Run = %v, want the TUN read error", err)
		}
	case <-ctx.Done():
		t.Fatal("the session stayed up with a TUN that cannot be read")
	}
	select {
	case err := <-client.errc:
		if err == nil || !strings.Contains(err.Error(), "TUN device failed") {
			t.Errorf("client's Run = %v, want the server's reason (TUN device failed)", err)
		}
	case <-ctx.Done():
		t.Fatal("the client did not learn that the server closed the link")
	}
}
