// SPDX-License-Identifier: MIT

package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pptp-go/pptp/internal/nstest"
)

// TestIPv6EgressNetstack: our pptpd with "egress netstack" and remoteip6 (no TUN, no
// Router Advertisement socket: the session's stack advertises) against our client in proxy
// mode and the library. The client's stack takes an address in the session's /64 from the
// stack's advertisement; through its SOCKS5 proxy curl reaches an IPv6 and an IPv4 host
// that only the server's namespace reaches; the library dials "tcp6" there and resolves a
// name through the dns6 address, which the egress redirects to its resolver.
func TestIPv6EgressNetstack(t *testing.T) {
	const (
		behind6 = "2001:db8:98:ff::1"
		behind4 = "10.200.0.7"
		dns6    = "2001:db8:98::53"
	)
	b := newBedConf(t, "10.99.0.140-149",
		"egress netstack\negress-resolver 127.0.0.1\nremoteip6 2001:db8:98::/56\ndns6 "+dns6+"\n")
	nstest.Run(t, b.ns.A, "ip", "-6", "addr", "add", behind6+"/128", "dev", "lo", "nodad")
	nstest.Run(t, b.ns.A, "ip", "addr", "add", behind4+"/32", "dev", "lo")
	var ln6, ln4 net.Listener
	if err := nstest.In(b.ns.A, func() (err error) {
		if ln6, err = net.Listen("tcp6", "["+behind6+"]:0"); err != nil {
			return err
		}
		ln4, err = net.Listen("tcp4", behind4+":0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln6.Close()
	defer ln4.Close()
	hello := func(c net.Conn) {
		defer c.Close()
		c.Read(make([]byte, 4096))
		io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello at "+c.LocalAddr().String()+"\n")
	}
	go nstest.Serve(ln6, hello)
	go nstest.Serve(ln4, hello)
	port6 := fmt.Sprint(ln6.Addr().(*net.TCPAddr).Port)
	port4 := fmt.Sprint(ln4.Addr().(*net.TCPAddr).Port)
	defer serveDNS(t, b.ns.A, "v6only.test.", netip.MustParseAddr(behind6))()

	c := b.startClient("--user", "alice", "--password", "wonderland", "--socks", "127.0.0.1:1080")
	if !nstest.WaitFor(15*time.Second, func() bool {
		l := c.log.String()
		return strings.Contains(l, "SOCKS5 proxy listening") && strings.Contains(l, "from the server's advertisement")
	}) {
		t.Fatalf("no proxy or no IPv6 address:\n%s\nserver:\n%s", c.log.String(), b.srvLog.String())
	}
	if l := c.log.String(); !strings.Contains(l, "address 2001:db8:98:1:") {
		t.Errorf("the client's address is not in the session's /64:\n%s", l)
	}
	if !strings.Contains(b.srvLog.String(), "prefix 2001:db8:98:1::/64 (advertised by the session's stack)") {
		t.Errorf("server log has no session /64 on its stack:\n%s", b.srvLog.String())
	}
	for _, tc := range []struct{ proxy, url, want string }{
		{"--socks5", "http://[" + behind6 + "]:" + port6 + "/", "hello at [" + behind6 + "]:" + port6},
		{"--socks5-hostname", "http://v6only.test:" + port6 + "/", "hello at [" + behind6 + "]:" + port6},
		{"--socks5", "http://" + behind4 + ":" + port4 + "/", "hello at " + behind4 + ":" + port4},
	} {
		out, err := nstest.Output(b.ns.B, "curl", "-s", "--max-time", "10", tc.proxy, "127.0.0.1:1080", tc.url)
		if err != nil || !strings.Contains(out, tc.want) {
			t.Errorf("curl %s %s: %v %q\n%s", tc.proxy, tc.url, err, out, c.log.String())
		}
	}
	if links, _ := nstest.Output(b.ns.A, "ip", "-o", "link"); strings.Contains(links, "pptpd") || strings.Contains(links, "ppp") {
		t.Errorf("egress netstack created an interface:\n%s", links)
	}

	// The library, a second session: "tcp6" and the dns6 address.
	ctx, tun := libDial6(t, b)
	conn, err := tun.DialContext(ctx, "tcp6", "["+behind6+"]:"+port6)
	if err != nil {
		t.Fatalf(`DialContext("tcp6"): %v`, err)
	}
	io.WriteString(conn, "GET / HTTP/1.0\r\n\r\n")
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, _ := io.ReadAll(conn)
	conn.Close()
	if !strings.Contains(string(got), "hello at ["+behind6+"]") {
		t.Errorf(`"tcp6" through the library: %q`, got)
	}
	res := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return tun.DialContext(ctx, "udp6", "["+dns6+"]:53")
	}}
	if addrs, err := res.LookupNetIP(ctx, "ip6", "v6only.test"); err != nil || len(addrs) != 1 || addrs[0] != netip.MustParseAddr(behind6) {
		t.Errorf("AAAA through the dns6 address: %v, %v", addrs, err)
	}
	b.stop(c)
}

// TestIPv6EgressUpstreamDante: with "egress-proxy socks5://" the session stack's IPv6 flows
// leave through Debian's dante-server (SOCKS5 address type 4), whose log shows them: the
// library dials "tcp6" to a host only the proxy's namespace reaches.
func TestIPv6EgressUpstreamDante(t *testing.T) {
	if _, err := exec.LookPath("danted"); err != nil {
		t.Fatal("danted not installed (scripts/test.sh installs dante-server)")
	}
	const behind6 = "2001:db8:96:ff::1"
	b := newBedConf(t, "10.99.0.160-169", "egress netstack\negress-proxy socks5://127.0.0.1:1080\nremoteip6 2001:db8:96::/56\n")
	nstest.Run(t, b.ns.A, "ip", "-6", "addr", "add", behind6+"/128", "dev", "lo", "nodad")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "danted.conf"), []byte(`logoutput: `+dir+`/danted.log
internal: 127.0.0.1 port = 1080
external: lo
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: root
client pass {
	from: 0.0.0.0/0 to: 0.0.0.0/0
}
socks pass {
	from: 0.0.0.0/0 to: ::/0
	command: connect
	log: connect
}
`), 0o644)
	dante := exec.Command("ip", "netns", "exec", b.ns.A, "danted", "-f", filepath.Join(dir, "danted.conf"))
	dlog := nstest.NewBuffer()
	dante.Stdout, dante.Stderr = dlog, dlog
	if err := dante.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { dante.Process.Kill(); dante.Wait() }()
	var ln net.Listener
	if err := nstest.In(b.ns.A, func() (err error) { ln, err = net.Listen("tcp6", "["+behind6+"]:0"); return }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	nstest.Serve(ln, hashEcho)
	if !nstest.WaitFor(10*time.Second, func() bool {
		c, err := nstest.Dial(b.ns.A, "127.0.0.1:1080", time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	}) {
		t.Fatalf("danted did not start:\n%s", dlog.String())
	}

	ctx, tun := libDial6(t, b)
	conn, err := tun.DialContext(ctx, "tcp6", ln.Addr().String())
	if err != nil {
		t.Fatalf(`DialContext("tcp6", %s): %v\nserver log:\n%s\ndanted:\n%s`, ln.Addr(), err, b.srvLog.String(), dlog.String())
	}
	sendAndCheck(t, conn, 1<<20)
	logged, _ := os.ReadFile(filepath.Join(dir, "danted.log"))
	if !strings.Contains(string(logged), behind6) {
		t.Errorf("danted's log shows no flow to %s:\n%s%s\nserver log:\n%s", behind6, logged, dlog.String(), b.srvLog.String())
	}
	t.Logf("danted:\n%s", logged)
}
