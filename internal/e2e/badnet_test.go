// SPDX-License-Identifier: MIT

package e2e

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pptp-go/pptp/internal/nstest"
)

// The client on a broken network (issue 17): a peer that vanishes, GRE that does not pass.
// Each test has its own namespaces and runs beside the others.

// nft loads an nftables ruleset into ns (a firewall in the server's namespace; it also keeps
// pptpd's GRE on the kernel's IP output path, where the rules apply).
func nft(t *testing.T, ns, rules string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rules.nft")
	if err := os.WriteFile(p, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	nstest.Run(t, ns, "nft", "-f", p)
}

var serverOpts = []string{"require-mschap-v2", "require-mppe-128"}

// waitExit waits for the client to exit within limit and returns its status and how long
// it took from start.
func waitExit(t *testing.T, c *client, start time.Time, limit time.Duration) (int, time.Duration) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(limit):
		t.Fatalf("pptp still running %v after the cut:\n%s", limit, c.log.String())
	}
	return c.exitCode(), time.Since(start)
}

// TestDeadServerControlEcho: with --idle-wait 2 the control connection's Echo-Reply wait
// follows the idle wait (pptp-linux 1.10.0), so a server whose link is cut is given up after
// about 4 s, not 62: exit 15, the message says which keepalive and after how long, and the
// server's own LCP echo drops the vanished client.
func TestDeadServerControlEcho(t *testing.T) {
	t.Parallel()
	b := newBed(t, "10.99.0.100-101", append(serverOpts, "lcp-echo-interval 1", "lcp-echo-failure 3")...)
	c := b.startClient("--user", "alice", "--password", "wonderland", "--idle-wait", "2")
	b.waitAddr(c, "pptp0")
	start := time.Now()
	nstest.Run(t, b.ns.A, "ip", "link", "set", b.ns.DevA, "down")
	code, d := waitExit(t, c, start, 20*time.Second)
	log := c.log.String()
	if code != 15 {
		t.Errorf("exit status %d, want 15 (keepalive gave up):\n%s", code, log)
	}
	if d < 2*time.Second || d > 8*time.Second {
		t.Errorf("gave up after %v, want about 4 s (2 × --idle-wait)", d)
	}
	if !strings.Contains(log, "control connection keepalive: the server sent no Echo-Reply within 2s of our Echo-Request; nothing heard from it for 4s") {
		t.Errorf("message does not say which keepalive gave up after how long:\n%s", log)
	}
	if strings.Contains(log, "on request") {
		t.Errorf("the client claims a request to close:\n%s", log)
	}
	if !nstest.WaitFor(10*time.Second, func() bool {
		return strings.Contains(b.srvLog.String(), "LCP keepalive: the client answered none of 3 Echo-Requests in 3s")
	}) {
		t.Errorf("the server did not drop the vanished client by its LCP echo:\n%s", b.srvLog.String())
	}
	t.Logf("client gave up %v after the cut", d.Round(100*time.Millisecond))
}

// TestDeadServerLCPEcho: with the control keepalive off, the LCP echo finds the dead server.
func TestDeadServerLCPEcho(t *testing.T) {
	t.Parallel()
	b := newBed(t, "10.99.0.100-101")
	c := b.startClient("--user", "alice", "--password", "wonderland", "--idle-wait", "0", "lcp-echo-interval", "1", "lcp-echo-failure", "2")
	b.waitAddr(c, "pptp0")
	start := time.Now()
	nstest.Run(t, b.ns.A, "ip", "link", "set", b.ns.DevA, "down")
	code, d := waitExit(t, c, start, 20*time.Second)
	log := c.log.String()
	if code != 15 {
		t.Errorf("exit status %d, want 15:\n%s", code, log)
	}
	// Two unanswered echoes 1 s apart, given up at the third tick, then at most the
	// Terminate-Request retransmissions (the call is still up as far as TCP knows).
	if d > 10*time.Second {
		t.Errorf("gave up after %v", d)
	}
	if !strings.Contains(log, "LCP keepalive: the server answered none of 2 Echo-Requests in 2s and sent no data (lcp-echo-interval 1, lcp-echo-failure 2)") {
		t.Errorf("message does not say which keepalive gave up:\n%s", log)
	}
	if strings.Contains(log, "on request") {
		t.Errorf("the client claims a request to close:\n%s", log)
	}
}

// TestGREBlocked: a firewall in front of the server drops GRE both ways. The control
// connection and the call succeed; the client says after 10 s that no GRE came and why,
// the server logs the mirror case, and the client exits 8 within the default LCP budget.
func TestGREBlocked(t *testing.T) {
	t.Parallel()
	b := newBed(t, "10.99.0.100-101")
	nft(t, b.ns.A, `table inet fw {
	chain in { type filter hook input priority 0; ip protocol gre drop; }
	chain out { type filter hook output priority 0; ip protocol gre drop; }
}`)
	start := time.Now()
	c := b.startClient("--user", "alice", "--password", "wonderland")
	if !nstest.WaitFor(15*time.Second, func() bool { return strings.Contains(c.log.String(), "warning: no GRE") }) {
		t.Errorf("no warning about the missing GRE within 15 s:\n%s", c.log.String())
	}
	code, d := waitExit(t, c, start, 40*time.Second)
	log := c.log.String()
	if code != 8 {
		t.Errorf("exit status %d, want 8 (GRE does not pass):\n%s", code, log)
	}
	if d > 33*time.Second {
		t.Errorf("gave up after %v, beyond the 30 s LCP budget", d)
	}
	for _, want := range []string{
		"no GRE (IP protocol 47) packets arrived from the server " + b.ns.AddrA,
		"a firewall or a NAT router without a PPTP helper (nf_conntrack_pptp",
		"no agreement with the server after 10 Configure-Requests",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("client message lacks %q:\n%s", want, log)
		}
	}
	srv := b.srvLog.String()
	// Once per call while it waits, and the reason again in the line that ends the session.
	if n := strings.Count(srv, "warning: no GRE (IP protocol 47) packets arrived from the client "+b.ns.AddrB); n != 1 {
		t.Errorf("server warned of the missing GRE %d times, want once per call:\n%s", n, srv)
	}
	t.Logf("client gave up after %v", d.Round(100*time.Millisecond))
}

// greCase runs a client with a 10 s LCP budget against a server namespace with rules and
// returns its log, wanting exit 8.
func greCase(t *testing.T, rules string, extra func(b *bed)) (string, *bed) {
	b := newBed(t, "10.99.0.100-101")
	if extra != nil {
		extra(b)
	}
	if rules != "" {
		nft(t, b.ns.A, rules)
	}
	start := time.Now()
	c := b.startClient("--user", "alice", "--password", "wonderland", "lcp-restart", "1")
	code, d := waitExit(t, c, start, 25*time.Second)
	log := c.log.String()
	if code != 8 {
		t.Errorf("exit status %d, want 8:\n%s", code, log)
	}
	if d > 13*time.Second {
		t.Errorf("gave up after %v, beyond the 10 s LCP budget of lcp-restart 1", d)
	}
	return log, b
}

// TestGREFromOtherAddress: the server's GRE leaves from another address than the control
// connection's (a multi-homed server, a NAT): the client names both.
func TestGREFromOtherAddress(t *testing.T) {
	t.Parallel()
	var other string
	log, _ := greCase(t, "", func(b *bed) {
		other = strings.TrimSuffix(b.ns.AddrA, ".1") + ".3"
		nstest.Run(t, b.ns.A, "ip", "addr", "add", other+"/24", "dev", b.ns.DevA)
		nft(t, b.ns.A, `table ip multihomed {
	chain out {
		type filter hook output priority 0
		ip protocol gre ip saddr set `+other+`
	}
}`)
	})
	if want := "GRE for our call arrives from " + other + ", not from " + strings.TrimSuffix(other, ".3") + ".1, the address of the control connection"; !strings.Contains(log, want) {
		t.Errorf("client message lacks %q:\n%s", want, log)
	}
}

// TestGREProtocolUnreachable: the server's firewall rejects GRE with ICMP
// protocol-unreachable; the client says so and names the host that sent it.
func TestGREProtocolUnreachable(t *testing.T) {
	t.Parallel()
	var addr string
	log, _ := greCase(t, `table inet fw {
	chain in {
		type filter hook input priority 0
		ip protocol gre reject with icmp type prot-unreachable
	}
}`,
		func(b *bed) { addr = b.ns.AddrA })
	if want := "the server itself (" + addr + ") refuses our GRE (IP protocol 47) with ICMP protocol unreachable"; !strings.Contains(log, want) {
		t.Errorf("client message lacks %q:\n%s", want, log)
	}
}

// TestGREOneWay: GRE from the server arrives (its LCP speaks), ours never reaches it.
func TestGREOneWay(t *testing.T) {
	t.Parallel()
	log, b := greCase(t, `table inet fw {
	chain in {
		type filter hook input priority 0
		ip protocol gre drop
	}
}`, nil)
	if want := "GRE arrives from the server " + b.ns.AddrA; !strings.Contains(log, want) || !strings.Contains(log, "never acknowledged our LCP Configure-Requests") {
		t.Errorf("client message lacks %q … never acknowledged:\n%s", want, log)
	}
}

// TestMSSClamping: a host behind the client announces MSS 1460 (a LAN behind a client that
// routes; here the route's advmss), a far host behind the server answers with full-size
// segments, and the server's namespace drops the ICMP "fragmentation needed" (ICMPv6
// "packet too big") that would shrink them to the tunnel's 1400 bytes. With the clamp
// (default, either end) bulk TCP from the far host completes; with it off at both ends the
// connection stalls after the handshake, the classic "some sites hang over PPTP". IPv6
// inside the tunnel likewise, with the session's /64 from the server's advertisement.
func TestMSSClamping(t *testing.T) {
	for _, tc := range []struct {
		name           string
		client, server bool // clamping on
		v6             bool
		wantComplete   bool
	}{
		{"both", true, true, false, true},
		{"server only", false, true, false, true},
		{"client only", true, false, false, true},
		{"off", false, false, false, false},
		{"IPv6 both", true, true, true, true},
		{"IPv6 off", false, false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			conf := ""
			if !tc.server {
				conf = "nomssclamp\n"
			}
			// The far host's network, both ends' addresses on it, and the route's advmss.
			fnet, fsrv, fhost, advmss, flag := "10.98.0.0/24", "10.98.0.1/24", "10.98.0.2", "1460", "-4"
			if tc.v6 {
				conf += "remoteip6 2001:db8:99::/56\n"
				fnet, fsrv, fhost, advmss, flag = "2001:db8:98::/64", "2001:db8:98::1/64", "2001:db8:98::2", "1440", "-6"
			}
			b := newBedConf(t, "10.99.0.100-101", conf)
			far := nstest.New(t, "e2ef")
			fa, ff := "f"+b.ns.DevA, "g"+b.ns.DevA
			nstest.Run(t, b.ns.A, "ip", "link", "add", fa, "type", "veth", "peer", "name", ff, "netns", far)
			nstest.Run(t, b.ns.A, "ip", flag, "addr", "add", fsrv, "dev", fa, "nodad")
			nstest.Run(t, b.ns.A, "ip", "link", "set", fa, "up")
			nstest.Run(t, far, "ip", flag, "addr", "add", fhost+"/"+strings.Split(fsrv, "/")[1], "dev", ff, "nodad")
			nstest.Run(t, far, "ip", "link", "set", ff, "up")
			nstest.Run(t, far, "ip", flag, "route", "add", "default", "via", strings.Split(fsrv, "/")[0])
			// No procps needed.
			nstest.Run(t, b.ns.A, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward; echo 1 > /proc/sys/net/ipv6/conf/all/forwarding")
			nft(t, b.ns.A, `table inet noicmp {
	chain out {
		type filter hook output priority 0
		icmp type destination-unreachable drop
		icmpv6 type packet-too-big drop
	}
}`)
			args := []string{"--user", "alice", "--password", "wonderland", "--route", "10.98.0.0/24"}
			if !tc.client {
				args = append(args, "--nomssclamp")
			}
			c := b.startClient(args...)
			b.waitAddr(c, "pptp0")
			if tc.v6 && !nstest.WaitFor(10*time.Second, func() bool {
				g, _ := nstest.Output(b.ns.B, "ip", "-6", "-o", "addr", "show", "dev", "pptp0", "scope", "global")
				return strings.Contains(g, "2001:db8:99:")
			}) {
				t.Fatalf("no IPv6 address from the server's advertisement:\n%s", c.log.String())
			}
			nstest.Run(t, b.ns.B, "ip", flag, "route", "replace", fnet, "dev", "pptp0", "advmss", advmss)

			var ln net.Listener
			err := nstest.In(far, func() (err error) { ln, err = net.Listen("tcp", net.JoinHostPort(fhost, "0")); return })
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			const n = 4 << 20
			go func() {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(20 * time.Second))
				conn.Write(make([]byte, n))
			}()
			var conn net.Conn
			err = nstest.In(b.ns.B, func() (err error) { conn, err = net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second); return })
			if err != nil {
				t.Fatalf("dial through the tunnel: %v", err)
			}
			defer conn.Close()
			got, stalled := 0, false
			buf := make([]byte, 64<<10)
			for got < n {
				conn.SetReadDeadline(time.Now().Add(4 * time.Second))
				k, err := conn.Read(buf)
				got += k
				if err != nil {
					stalled = true
					break
				}
			}
			switch {
			case tc.wantComplete && stalled:
				t.Errorf("bulk TCP stalled after %d of %d bytes with clamping (client %v, server %v)", got, n, tc.client, tc.server)
			case !tc.wantComplete && !stalled:
				t.Errorf("bulk TCP completed without clamping: the test path does not black-hole full-size segments")
			}
			t.Logf("client clamp %v, server clamp %v: %d of %d bytes, stalled %v", tc.client, tc.server, got, n, stalled)
			b.stop(c)
		})
	}
}
