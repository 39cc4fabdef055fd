// SPDX-License-Identifier: MIT

package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pptp-go/pptp/internal/nstest"
)

// v6Only takes the veth's IPv4 addresses away and gives both ends a ULA instead (no
// duplicate address detection, so usable at once): the namespaces are joined by IPv6
// alone, and the client dials the server's IPv6 address.
func v6Only(t *testing.T) func(*nstest.Pair) {
	return func(p *nstest.Pair) {
		prefix := fmt.Sprintf("fd00:%x:1::", os.Getpid()&0xffff)
		for i, c := range [][2]string{{p.A, p.DevA}, {p.B, p.DevB}} {
			nstest.Run(t, c[0], "ip", "-4", "addr", "flush", "dev", c[1])
			nstest.Run(t, c[0], "ip", "-6", "addr", "add", fmt.Sprintf("%s%d/64", prefix, i+1), "dev", c[1], "nodad")
		}
		p.AddrA, p.AddrB = prefix+"1", prefix+"2"
	}
}

// TestPPTPOverIPv6: our pptp to our pptpd where the two namespaces share no IPv4 at all:
// the control connection and GRE go over IPv6 (the server's default listen takes both
// families), the link comes up, IPv4 and IPv6 (remoteip6, the server's RA) both pass inside
// the tunnel, the server logs and `pptpd status` show the client's IPv6 address, and at
// exit the host route to the server and the interface are gone.
func TestPPTPOverIPv6(t *testing.T) {
	t.Setenv("PPTP_GO_RUNDIR", t.TempDir())
	b := newBedPrep(t, v6Only(t), "10.99.0.100-109", "remoteip6 2001:db8:99::/56\n")
	if out, _ := nstest.Output(b.ns.B, "ip", "-4", "addr", "show", "dev", b.ns.DevB); strings.Contains(out, "inet ") {
		t.Fatalf("the veth still has IPv4:\n%s", out)
	}
	const behind = "2001:db8:99:ff::1" // a host behind the server: its namespace's lo
	nstest.Run(t, b.ns.A, "ip", "-6", "addr", "add", behind+"/128", "dev", "lo")
	c := b.startClient("--user", "alice", "--password", "wonderland", "--require-mppe-128", "--defaultroute6")
	if addr := b.waitAddr(c, "pptp0"); addr != "10.99.0.100" {
		t.Errorf("address %q, want 10.99.0.100", addr)
	}
	hostRoute := func() string {
		out, _ := nstest.Output(b.ns.B, "ip", "-6", "route", "show", b.ns.AddrA)
		return strings.TrimSpace(out)
	}
	if r := hostRoute(); !strings.Contains(r, "proto 77") || !strings.Contains(r, "dev "+b.ns.DevB) {
		t.Errorf("host route to the server %s: %q; client log:\n%s", b.ns.AddrA, r, c.log.String())
	}
	if out, err := nstest.Output(b.ns.B, "ping", "-c", "3", "-i", "0.2", "-W", "2", pppLocal); err != nil {
		t.Fatalf("IPv4 ping inside the tunnel: %v\n%s", err, out)
	}
	if !nstest.WaitFor(10*time.Second, func() bool {
		r, _ := nstest.Output(b.ns.B, "ip", "-6", "route", "show", "default")
		return strings.Contains(r, "dev pptp0")
	}) {
		t.Fatalf("no IPv6 default route into the tunnel from the RA; client log:\n%s", c.log.String())
	}
	if out, err := nstest.Output(b.ns.B, "ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", behind); err != nil {
		t.Fatalf("IPv6 ping inside the tunnel: %v\n%s", err, out)
	}
	// The control connection and GRE really ran over IPv6: the TCP socket is v6, and GRE
	// counts in both directions on the veth with no IPv4 to carry it.
	if out, _ := nstest.Output(b.ns.B, "ss", "-Htn", "dst", "["+b.ns.AddrA+"]:1723"); !strings.Contains(out, b.ns.AddrA) {
		t.Errorf("no TCP connection to [%s]:1723: %q", b.ns.AddrA, out)
	}
	if !strings.Contains(b.srvLog.String(), b.ns.AddrB) {
		t.Errorf("the server log does not name the client's IPv6 address %s:\n%s", b.ns.AddrB, b.srvLog.String())
	}
	out, errOut, code := runStatus(t, pptpdBin, "status")
	if code != 0 || !strings.Contains(out, b.ns.AddrB) {
		t.Errorf("pptpd status (exit %d, %s) does not show the client %s:\n%s", code, errOut, b.ns.AddrB, out)
	}
	transfer(t, b, 4<<20)
	b.stop(c)
	if r := hostRoute(); r != "" {
		t.Errorf("host route left after exit: %q", r)
	}
	if out, _ := nstest.Output(b.ns.B, "ip", "link", "show", "pptp0"); !strings.Contains(out, "does not exist") {
		t.Errorf("pptp0 still exists after exit: %s", out)
	}
	if after, _ := nstest.Output(b.ns.B, "ip", "-6", "route", "show", "table", "all"); strings.Contains(after, "pptp0") || strings.Contains(after, "proto 77") {
		t.Errorf("client IPv6 routes left behind:\n%s", after)
	}
}

// TestPPTPLinkLocalServerNeedsZone: a link-local server address without its zone is
// refused with a message that says so, before anything is sent.
func TestPPTPLinkLocalServerNeedsZone(t *testing.T) {
	b := newBedPrep(t, v6Only(t), "10.99.0.100-109", "")
	c := &client{log: nstest.NewBuffer(), done: make(chan struct{})}
	c.cmd = nstest.Cmd(t.Context(), b.ns.B, pptpBin, "fe80::1", "--user", "alice", "--password", "wonderland")
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.err = c.cmd.Wait(); close(c.done) }()
	if code := c.exitCode(); code == 0 || !strings.Contains(c.log.String(), "link-local IPv6 address needs its zone") {
		t.Errorf("exit %d:\n%s", code, c.log.String())
	}
}
