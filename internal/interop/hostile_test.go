// SPDX-License-Identifier: MIT

package interop

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pptp-go/pptp/control"
	"github.com/pptp-go/pptp/gre"
	"github.com/pptp-go/pptp/internal/nstest"
)

// TestHostileSourceDoesNotStopDebianClient: an attacker in a namespace of its own floods our
// pptpd from one address — dozens of silent TCP connections, kept up as the server closes
// them, and calls that never log in, driven over raw GRE: they answer LCP, restart it,
// send CHAP Responses the authenticator ignores and GRE with absurd sequence numbers and
// acks. Meanwhile Debian's pptp-linux + pppd (the refvm client VM) logs in from another
// address and pings through the tunnel. Before the per-source limits the flood filled the
// server's connection limit and the reference client was turned away; the attacker's calls
// would have lived forever.
func TestHostileSourceDoesNotStopDebianClient(t *testing.T) {
	serverStart(t) // the VM network must exist; our server listens on the host side
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "options"), []byte("name pptpd\nrequire-mschap-v2\nrequire-mppe-128\nms-dns 10.88.0.1\n"), 0o600)
	// connections 20: at most 2×20+16 = 56 control connections at once.
	os.WriteFile(filepath.Join(dir, "pptpd.conf"), []byte("option "+filepath.Join(dir, "options")+
		"\nlocalip 10.88.0.1\nremoteip 10.88.0.100-120\nconnections 20\nauth-timeout 15\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "chap-secrets"), []byte("test * test *\n"), 0o600)
	s := start(t, pptpdBin, "--fg", "--debug", "--conf", filepath.Join(dir, "pptpd.conf"),
		"--chap-secrets", filepath.Join(dir, "chap-secrets"), "--listen", "192.0.2.1", "--pidfile", filepath.Join(dir, "pid"))
	time.Sleep(300 * time.Millisecond)

	atk := attackerNamespace(t)
	a := &attacker{t: t, ns: atk, server: netip.MustParseAddr("192.0.2.1"), stop: make(chan struct{})}
	a.start(4, 70)
	time.Sleep(3 * time.Second) // the flood is established before the client comes
	out, err := run(t, 120*time.Second, "client", "192.0.2.1", "--ping", "5")
	res := keyValues(out)
	t.Logf("refvm client during the attack: link=%s mppe=%s ping=%s; attacker: %d TCP connections opened, %d calls placed, %d GRE packets sent",
		res["link"], res["mppe"], res["ping"], a.dials.Load(), a.calls.Load(), a.greSent.Load())
	if err != nil || res["link"] != "up" || res["ping"] != "ok" {
		a.halt()
		t.Fatalf("reference client under attack: %v\n%s\nour server:\n%s", err, out, tail(s.log.String(), 80))
	}
	// The attacker's calls never authenticate: each ends at the pre-auth deadline (15 s) or
	// earlier (LCP restarts); none lives on.
	time.Sleep(16 * time.Second)
	a.halt()
	log := s.log.String()
	if a.calls.Load() == 0 {
		t.Fatalf("the attacker placed no call; our server:\n%s", tail(log, 60))
	}
	ended := strings.Count(log, "authentication not done within") + strings.Count(log, "before authentication")
	if ended == 0 {
		t.Errorf("no attacker call ended by the pre-auth limits; our server:\n%s", tail(log, 80))
	}
	if !strings.Contains(log, "connections not logged in yet") {
		t.Errorf("the per-source limit never refused the flood; our server:\n%s", tail(log, 80))
	}
	if strings.Contains(log, "control connections open: closing new ones") {
		t.Errorf("the global connection limit was reached: one source crowded out the others")
	}
	t.Logf("attacker calls ended by the pre-auth limits: %d; server lines: %d", ended, strings.Count(log, "\n"))
	s.stop(t)
}

// attackerNamespace makes a namespace joined to refpptp by a veth pair (198.19.250.0/30),
// removed with it at the end of the test.
func attackerNamespace(t *testing.T) string {
	atk := nstest.New(t, "atk")
	here := fmt.Sprintf("ak%d", os.Getpid()%100000)
	there := here + "r"
	for _, args := range [][]string{
		{"link", "add", here, "netns", atk, "type", "veth", "peer", "name", there, "netns", ns},
		{"-n", atk, "addr", "add", "198.19.250.2/30", "dev", here},
		{"-n", atk, "link", "set", here, "up"},
		{"-n", ns, "addr", "add", "198.19.250.1/30", "dev", there},
		{"-n", ns, "link", "set", there, "up"},
		{"-n", atk, "route", "add", "192.0.2.0/24", "via", "198.19.250.1"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	t.Cleanup(func() { exec.Command("ip", "-n", ns, "link", "del", there).Run() })
	return atk
}

type attacker struct {
	t                     *testing.T
	ns                    string
	server                netip.Addr
	stop                  chan struct{}
	wg                    sync.WaitGroup
	dials, calls, greSent atomic.Int64
	fd                    int
}

func (a *attacker) halt() {
	select {
	case <-a.stop:
	default:
		close(a.stop)
		a.wg.Wait() // the GRE reader sees stop within its receive timeout
		syscall.Close(a.fd)
	}
}

func (a *attacker) stopped() bool {
	select {
	case <-a.stop:
		return true
	default:
		return false
	}
}

// start runs talkers calls that never log in and keeps silent TCP connections open.
func (a *attacker) start(talkers, silent int) {
	t := a.t
	t.Cleanup(a.halt)
	err := nstest.In(a.ns, func() error {
		var err error
		a.fd, err = syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_GRE)
		if err != nil {
			return err
		}
		// Closing the socket does not wake a blocked recvfrom; with no packet left to come
		// (the server ended every call) halt would wait forever. readGRE polls instead.
		tv := syscall.Timeval{Usec: 200000}
		return syscall.SetsockoptTimeval(a.fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
	})
	if err != nil {
		t.Fatalf("raw GRE socket: %v", err)
	}
	calls := &sync.Map{} // our Call ID → *talker
	a.wg.Add(1)
	go a.readGRE(calls)
	for i := range talkers {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			for !a.stopped() {
				a.talk(uint16(0x7000+i), calls)
			}
		}()
		time.Sleep(50 * time.Millisecond)
	}
	for range silent {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			for !a.stopped() {
				c, err := nstest.Dial(a.ns, a.server.String()+":1723", 2*time.Second)
				if err != nil {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				a.dials.Add(1)
				// Silent: wait for the server to close it (or the end of the attack).
				done := make(chan struct{})
				go func() {
					select {
					case <-a.stop:
						c.Close()
					case <-done:
					}
				}()
				c.Read(make([]byte, 1))
				close(done)
				c.Close()
				time.Sleep(50 * time.Millisecond)
			}
		}()
	}
}

// talker is one of the attacker's calls.
type talker struct {
	a        *attacker
	serverID uint16
	seq      atomic.Uint32
	lcpID    atomic.Uint32
}

// talk places one call and drives it until the server ends it.
func (a *attacker) talk(myID uint16, calls *sync.Map) {
	c, err := nstest.Dial(a.ns, a.server.String()+":1723", 2*time.Second)
	if err != nil {
		time.Sleep(200 * time.Millisecond)
		return
	}
	defer c.Close()
	a.dials.Add(1)
	rq := control.SCCRQ(make([]byte, control.SCCRQLen))
	rq.Init()
	rq.SetProtocolVersion(control.ProtocolVersion)
	rq.SetFramingCapabilities(control.FramingAsync)
	rq.SetBearerCapabilities(control.BearerAnalog)
	rq.SetHostName("attacker")
	oc := control.OCRQ(make([]byte, control.OCRQLen))
	oc.Init()
	oc.SetCallID(myID)
	oc.SetMaximumBPS(100000000)
	oc.SetBearerType(control.BearerAnalog)
	oc.SetFramingType(control.FramingAsync)
	oc.SetRecvWindow(64)
	buf := make([]byte, 4096)
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Write(rq); err != nil {
		return
	}
	if _, err := control.ReadMessage(c, buf); err != nil {
		return
	}
	if _, err := c.Write(oc); err != nil {
		return
	}
	m, err := control.ReadMessage(c, buf)
	if err != nil || control.Header(m).ControlType() != control.TypeOCRP || control.OCRP(m).ResultCode() != 1 {
		time.Sleep(200 * time.Millisecond)
		return
	}
	c.SetDeadline(time.Time{})
	tk := &talker{a: a, serverID: control.OCRP(m).CallID()}
	calls.Store(myID, tk)
	defer calls.Delete(myID)
	a.calls.Add(1)
	// Read the control connection until the server closes it; meanwhile inject.
	closed := make(chan struct{})
	go func() {
		for {
			if _, err := control.ReadMessage(c, buf); err != nil {
				close(closed)
				return
			}
		}
	}()
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-closed:
			return
		case <-a.stop:
			return
		case <-tick.C:
		}
		switch n % 4 {
		case 0: // a fresh LCP Configure-Request: restarts LCP once it is Opened
			id := byte(tk.lcpID.Add(1))
			tk.sendPPP(0xC021, []byte{1, id, 0, 10, 5, 6, 0xA0, 0xB0, 0xC0, id}, 0, false)
		case 1: // a CHAP Response with an Identifier never used
			resp := make([]byte, 4+1+49+8)
			resp[0], resp[1] = 2, 0xEE
			binary.BigEndian.PutUint16(resp[2:], uint16(len(resp)))
			resp[4] = 49
			copy(resp[54:], "attacker")
			tk.sendPPP(0xC223, resp, 0, false)
		case 2: // an ack far beyond anything the server sent
			tk.sendPPP(0xC021, []byte{9, 1, 0, 8, 0, 0, 0, 0}, 0xFFFFFF00, true)
		case 3: // a data packet 2³¹−1 ahead
			tk.sendPPPSeq(0x0021, make([]byte, 40), tk.seq.Load()+0x7FFFFFFF)
		}
	}
}

func (tk *talker) sendPPP(proto uint16, info []byte, ack uint32, hasAck bool) {
	tk.sendFrame(proto, info, tk.seq.Add(1), ack, hasAck)
}

func (tk *talker) sendPPPSeq(proto uint16, info []byte, seq uint32) {
	tk.sendFrame(proto, info, seq, 0, false)
}

func (tk *talker) sendFrame(proto uint16, info []byte, seq, ack uint32, hasAck bool) {
	f := gre.Fields{CallID: tk.serverID, PayloadLen: uint16(4 + len(info)), Seq: seq, HasSeq: true, Ack: ack, HasAck: hasAck}
	b := make([]byte, f.Len()+4+len(info))
	f.Encode(b[:f.Len()])
	p := b[f.Len():]
	p[0], p[1], p[2], p[3] = 0xFF, 0x03, byte(proto>>8), byte(proto)
	copy(p[4:], info)
	sa := &syscall.SockaddrInet4{Addr: tk.a.server.As4()}
	if syscall.Sendto(tk.a.fd, b, 0, sa) == nil {
		tk.a.greSent.Add(1)
	}
}

// readGRE answers the server's LCP Configure-Requests with Configure-Acks (so LCP opens and
// authentication starts), for every talker.
func (a *attacker) readGRE(calls *sync.Map) {
	defer a.wg.Done()
	buf := make([]byte, 65536)
	for !a.stopped() {
		n, _, err := syscall.Recvfrom(a.fd, buf, 0)
		if err != nil {
			if err == syscall.EINTR || err == syscall.EAGAIN {
				continue
			}
			return
		}
		pkt := buf[:n]
		if len(pkt) < 20 {
			continue
		}
		h, payload, err := gre.Parse(pkt[int(pkt[0]&0x0F)*4:])
		if err != nil || len(payload) < 8 {
			continue
		}
		// The server writes our Call ID in its packets.
		v, ok := calls.Load(h.CallID())
		if !ok {
			continue
		}
		tk := v.(*talker)
		ppp := payload
		if ppp[0] == 0xFF && ppp[1] == 0x03 {
			ppp = ppp[2:]
		}
		if len(ppp) >= 6 && ppp[0] == 0xC0 && ppp[1] == 0x21 && ppp[2] == 1 { // LCP Configure-Request
			ack := append([]byte(nil), ppp[2:]...)
			ack[0] = 2
			tk.sendPPP(0xC021, ack, h.Seq(), true)
		}
	}
}
