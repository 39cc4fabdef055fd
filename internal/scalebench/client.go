// SPDX-License-Identifier: MIT

package main

// The client side: sessions opened through the public package, and what is sent through them.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pptp-go/pptp"
	"github.com/pptp-go/pptp/control"
	"github.com/pptp-go/pptp/gre"
	"github.com/pptp-go/pptp/internal/nstest"
	"github.com/pptp-go/pptp/netstack"
	"github.com/pptp-go/pptp/ppp"
	"github.com/pptp-go/pptp/pppconf"
)

// closeAll closes every session that came up, all at once, and returns how many did not
// finish closing within 30 s.
func closeAll(sessions []*client) int {
	var wg sync.WaitGroup
	var stuck atomic.Int64
	for _, c := range sessions {
		if c == nil || c.err != nil {
			continue
		}
		wg.Go(func() {
			go c.t.Close()
			select {
			case <-c.t.Done():
			case <-time.After(30 * time.Second):
				stuck.Add(1)
			}
		})
	}
	wg.Wait()
	return int(stuck.Load())
}

// client is one session opened through the public package.
type client struct {
	start, upAt time.Time
	err         error
	t           *pptp.Tunnel
	params      pptp.Params
	tnet        *netstack.Stack
}

// open dials session i from namespace B and waits until its link is up.
func (b *bench) open(ctx context.Context, i int) *client {
	c := &client{start: time.Now()}
	logf := func(string, ...any) {}
	if b.o.verbose {
		logf = func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "client %d: %s\n", i, fmt.Sprintf(format, args...))
		}
	}
	ec := pppconf.DefaultClientConfig()
	ec.User, ec.Password = fmt.Sprintf("user%d", i), fmt.Sprintf("pass%d", i)
	ec.MPPE = ppp.MPPEPolicy{Require: true, Allow128: true, Stateless: true}
	cfg := pptp.Config{
		Server: b.addrA,
		// Every client shares one source address, and the raw GRE sockets tell calls apart
		// by Call ID only: distinct IDs are a must here (random ones would collide).
		Control: control.ClientConfig{CallID: uint16(i + 1), Logf: logf},
		PPP:     &ec,
		// The IP send path, as the server's calls beyond the first use: a packet socket per
		// client would measure this harness's 1000 sockets, not the server.
		Link: gre.LinkOptions{Socket: gre.Options{BufferBytes: gre.DefaultBufferBytes}},
		Logf: logf,
	}
	dctx, dcancel := context.WithTimeout(ctx, b.o.timeout)
	defer dcancel()
	err := nstest.In(b.nsB, func() (err error) {
		c.t, err = pptp.Dial(dctx, cfg)
		return err
	})
	switch {
	case err == nil:
		c.upAt, c.params, c.tnet = time.Now(), c.t.Params(), c.t.Netstack()
	case ctx.Err() != nil:
		c.err = errInterrupted
	case dctx.Err() != nil:
		c.err = fmt.Errorf("link not up within %v", b.o.timeout)
	default:
		c.err = err
	}
	return c
}

// pingCheck sends one ICMP echo through each checked session (retrying twice) and waits for
// the server's kernel to answer from its end of the link.
func (b *bench) pingCheck(ctx context.Context, sessions []*client, failedIfs map[string]bool, errs *[]string) (checked, failed int) {
	var pick []int
	for i, c := range sessions {
		if c != nil && c.err == nil && c.tnet != nil {
			pick = append(pick, i)
		}
	}
	if b.o.ping > 0 && b.o.ping < len(pick) {
		sample := make([]int, b.o.ping)
		for k := range sample {
			sample[k] = pick[k*len(pick)/b.o.ping]
		}
		pick = sample
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for _, i := range pick {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			err := ping(ctx, sessions[i], uint16(i))
			var ifname string
			if err != nil {
				ifname = b.serverIf(sessions[i])
				err = fmt.Errorf("%w (%s)", err, b.diagnose(sessions[i], ifname))
			}
			mu.Lock()
			defer mu.Unlock()
			checked++
			if err != nil {
				failed++
				failedIfs[ifname] = true
				if len(*errs) < 20 {
					*errs = append(*errs, fmt.Sprintf("session %d ping: %v", i, err))
				}
			}
		})
	}
	wg.Wait()
	return checked, failed
}

// burstAll sends o.burst full-size ICMP echoes back to back through every session that is
// up, 32 sessions at a time, and returns how many went out.
func (b *bench) burstAll(ctx context.Context, sessions []*client) (sent int) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i, c := range sessions {
		if c == nil || c.err != nil || c.tnet == nil || ctx.Err() != nil {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			n := burst(c, uint16(i), b.o.burst)
			mu.Lock()
			sent += n
			mu.Unlock()
		})
	}
	wg.Wait()
	return sent
}

// burstPayload makes 1356-byte IPv4 packets: full size within the tunnel's MTU (1396 less
// the MPPE and PPP headers a peer may add).
const burstPayload = 1328

// burst sends n echoes with identifier id back to back and returns how many went out.
func burst(c *client, id uint16, n int) (sent int) {
	pc, err := c.tnet.DialContext(context.Background(), "ping4", c.params.Peer.String())
	if err != nil {
		return 0
	}
	defer pc.Close()
	req := make([]byte, 8+burstPayload)
	req[0] = 8 // echo request
	binary.BigEndian.PutUint16(req[4:], id)
	for seq := range n {
		binary.BigEndian.PutUint16(req[2:], 0)
		binary.BigEndian.PutUint16(req[6:], uint16(seq))
		binary.BigEndian.PutUint16(req[2:], inetChecksum(req))
		if _, err := pc.Write(req); err != nil {
			break
		}
		sent++
	}
	return sent
}

func ping(ctx context.Context, c *client, seq uint16) error {
	pc, err := c.tnet.DialContext(context.Background(), "ping4", c.params.Peer.String())
	if err != nil {
		return err
	}
	defer pc.Close()
	payload := []byte(fmt.Sprintf("scalebench %s", c.params.Local))
	req := make([]byte, 8+len(payload))
	req[0] = 8 // echo request
	binary.BigEndian.PutUint16(req[6:], seq)
	copy(req[8:], payload)
	binary.BigEndian.PutUint16(req[2:], inetChecksum(req))
	buf := make([]byte, 1500)
	var last error
	for try := 0; try < 3 && ctx.Err() == nil; try++ {
		if _, err := pc.Write(req); err != nil {
			return err
		}
		pc.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := pc.Read(buf)
		if err != nil {
			last = err
			continue
		}
		if n >= 8 && buf[0] == 0 && string(buf[8:n]) == string(payload) {
			return nil
		}
		last = fmt.Errorf("unexpected ICMP reply (type %d, %d bytes)", buf[0], n)
	}
	return fmt.Errorf("no echo reply from %s: %v", c.params.Peer, last)
}

// diagnose describes a session's counters on both ends, for a failed ping.
func (b *bench) diagnose(c *client, ifname string) string {
	ds, gs := c.t.DataStats(), c.t.LinkStats()
	d := fmt.Sprintf("client %s: data tx %d rx %d, decrypt errors %d, unencrypted %d, bad IP %d; GRE tx %d failed %d, rx %d lost %d invalid %d",
		c.params.Local, ds.TxPackets.Load(), ds.RxPackets.Load(), ds.RxDecryptErrors.Load(), ds.RxUnencrypted.Load(),
		ds.RxBadIP.Load(), gs.TxSent.Load(), gs.TxFailed.Load(), gs.RxAccepted.Load(), gs.RxLost.Load(), gs.RxInvalid.Load())
	if ifname != "" {
		// A TUN counts TX when pptpd reads the packet, so TX short of the replies the kernel
		// sent means pptpd stopped reading that TUN.
		st, _ := exec.Command("ip", "-n", b.nsA, "-s", "-o", "link", "show", "dev", ifname).Output()
		d += "; server: " + strings.Join(strings.Fields(string(st)), " ")
	} else {
		d += "; server has no route to it"
	}
	// Every interface and route that names the client's address.
	addrs, _ := exec.Command("ip", "-n", b.nsA, "-o", "-4", "addr", "show").Output()
	peer := "peer " + c.params.Local.String() + "/"
	for _, line := range strings.Split(string(addrs), "\n") {
		if strings.Contains(line, peer) {
			d += "; server address: " + strings.Join(strings.Fields(line), " ")
		}
	}
	routes, _ := exec.Command("ip", "-n", b.nsA, "-4", "route", "show", "table", "all").Output()
	for _, line := range strings.Split(string(routes), "\n") {
		if f := strings.Fields(line); slices.Contains(f, c.params.Local.String()) {
			d += "; server route: " + strings.Join(f, " ")
		}
	}
	return d
}

func inetChecksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// flowCheck sends 4 KiB through one TCP connection per session to the echo server behind
// the server (-egress) and reads it back, 32 sessions at a time.
func (b *bench) flowCheck(ctx context.Context, sessions []*client, errs *[]string) (checked, failed int) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i, c := range sessions {
		if c == nil || c.err != nil {
			continue
		}
		checked++
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			err := echoFlow(ctx, c)
			if err != nil {
				mu.Lock()
				failed++
				if len(*errs) < 20 {
					*errs = append(*errs, fmt.Sprintf("session %d TCP flow: %v", i, err))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return checked, failed
}

func echoFlow(ctx context.Context, c *client) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	conn, err := c.tnet.DialContext(ctx, "tcp", echoAddr)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	msg := make([]byte, 4096)
	for i := range msg {
		msg[i] = byte(i)
	}
	go conn.Write(msg)
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(conn, got); err != nil {
		return err
	}
	if !bytes.Equal(got, msg) {
		return errors.New("echo differs")
	}
	return nil
}
