// SPDX-License-Identifier: MIT

package e2e

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/ipv6"

	"github.com/pptp-go/pptp/internal/nstest"
	"github.com/pptp-go/pptp/ra"
)

// rate sends n random bytes from the client namespace to host in the server namespace and
// returns the rate in Mbit/s once the SHA-256 on both ends agree.
func rate(t *testing.T, b *bed, host string, n int64) float64 {
	t.Helper()
	var ln net.Listener
	err := nstest.In(b.ns.A, func() (err error) { ln, err = net.Listen("tcp", net.JoinHostPort(host, "0")); return })
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan [32]byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(got)
			return
		}
		defer c.Close()
		h := sha256.New()
		io.Copy(h, c)
		got <- [32]byte(h.Sum(nil))
	}()
	var conn net.Conn
	err = nstest.In(b.ns.B, func() (err error) { conn, err = net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second); return })
	if err != nil {
		t.Fatalf("dial %s through the tunnel: %v", host, err)
	}
	conn.SetDeadline(time.Now().Add(90 * time.Second))
	h := sha256.New()
	start := time.Now()
	if _, err := io.Copy(io.MultiWriter(conn, h), io.LimitReader(rand.Reader, n)); err != nil {
		t.Fatalf("sending to %s: %v", host, err)
	}
	conn.Close()
	select {
	case s, ok := <-got:
		if !ok || s != [32]byte(h.Sum(nil)) {
			t.Fatalf("%d bytes to %s arrived corrupted or incomplete", n, host)
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("transfer to %s did not finish", host)
	}
	return float64(n*8) / time.Since(start).Seconds() / 1e6
}

// solicit sends a Router Solicitation on ifname in ns and returns the advertisement that
// answers it, as a host's kernel would see it.
func solicit(t *testing.T, ns, ifname string) ra.Advertisement {
	t.Helper()
	var ad ra.Advertisement
	err := nstest.In(ns, func() error {
		c, err := net.ListenPacket("ip6:ipv6-icmp", "::")
		if err != nil {
			return err
		}
		defer c.Close()
		pc := ipv6.NewPacketConn(c)
		var f ipv6.ICMPFilter
		f.SetAll(true)
		f.Accept(ipv6.ICMPTypeRouterAdvertisement)
		pc.SetICMPFilter(&f)
		pc.SetMulticastHopLimit(255)
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		if err := pc.SetMulticastInterface(ifi); err != nil {
			return err
		}
		buf := make([]byte, 1500)
		deadline := time.Now().Add(8 * time.Second)
		for time.Now().Before(deadline) {
			rs := []byte{ra.TypeRouterSolicitation, 0, 0, 0, 0, 0, 0, 0}
			if _, err := pc.WriteTo(rs, nil, &net.IPAddr{IP: net.IPv6linklocalallrouters, Zone: ifname}); err != nil {
				return err
			}
			c.SetReadDeadline(time.Now().Add(time.Second))
			n, _, _, err := pc.ReadFrom(buf)
			if err != nil {
				continue // rate-limited (one answer per 3 s): ask again
			}
			if ad, err = ra.Parse(buf[:n]); err == nil {
				return nil
			}
		}
		return io.ErrNoProgress
	})
	if err != nil {
		t.Fatalf("router solicitation on %s: %v", ifname, err)
	}
	return ad
}

// TestIPv6OurPair: our pptp against our pptpd with remoteip6 and dns6: IPV6CP, a global
// address from the server's Router Advertisement (the session's /64 and our identifier),
// the IPv6 default route with --defaultroute6, RDNSS in the advertisement, a TCP bulk
// transfer over IPv6 within 0.9× of IPv4's in the same run, and nothing left at exit.
func TestIPv6OurPair(t *testing.T) {
	log := filepath.Join(t.TempDir(), "scripts.log")
	script := "#!/bin/sh\necho \"$(basename $0) $1 $4 $5 LLLOCAL=$LLLOCAL ll=$(ip -6 -o addr show dev $1 scope link | wc -l)\" >> " + log + "\n"
	for _, name := range []string{"ipv6-up", "ipv6-down"} {
		p := filepath.Join(pppDir, name)
		if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(p) })
	}
	b := newBedConf(t, "10.99.0.100-109", "remoteip6 2001:db8:99::/56\ndns6 2001:db8:99::53\n")
	const behind = "2001:db8:99:ff::1" // a host behind the server: its namespace's lo
	if out, err := nstest.Output(b.ns.A, "ip", "-6", "addr", "add", behind+"/128", "dev", "lo"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	c := b.startClient("--user", "alice", "--password", "wonderland", "--require-mppe-128", "--defaultroute6")
	b.waitAddr(c, "pptp0")
	var global, routes string
	if !nstest.WaitFor(10*time.Second, func() bool {
		global, _ = nstest.Output(b.ns.B, "ip", "-6", "-o", "addr", "show", "dev", "pptp0", "scope", "global")
		routes, _ = nstest.Output(b.ns.B, "ip", "-6", "route", "show", "default")
		return strings.Contains(global, "2001:db8:99:1:") && strings.Contains(routes, "dev pptp0")
	}) {
		t.Fatalf("no global address or default route from the RA:\n%s\n%s\nclient:\n%s", global, routes, c.log.String())
	}
	ll, _ := nstest.Output(b.ns.B, "ip", "-6", "-o", "addr", "show", "dev", "pptp0", "scope", "link")
	f := strings.Fields(ll)
	if len(f) < 4 {
		t.Fatalf("link-local: %q", ll)
	}
	id := strings.TrimPrefix(strings.TrimSuffix(f[3], "/128"), "fe80::")
	if !strings.Contains(global, "2001:db8:99:1:"+id+"/64") {
		t.Errorf("global address is not the /64 with our identifier %s:\n%s", id, global)
	}
	ad := solicit(t, b.ns.B, "pptp0")
	if ok, why := ad.Usable(); !ok || ad.Prefix.String() != "2001:db8:99:1::/64" || len(ad.DNS) != 1 || ad.DNS[0] != netip.MustParseAddr("2001:db8:99::53") {
		t.Errorf("advertisement %+v (%s)", ad, why)
	}
	if out, err := nstest.Output(b.ns.B, "ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", behind); err != nil {
		t.Fatalf("ping -6 %s: %v\n%s", behind, err, out)
	}
	// The median of five back-to-back pairs, so that a busy moment of the (shared) machine
	// during one transfer does not decide.
	var ratios []float64
	var v4, v6 float64
	for range 5 {
		a, b6 := rate(t, b, pppLocal, 10<<20), rate(t, b, behind, 10<<20)
		v4, v6 = v4+a/5, v6+b6/5
		ratios = append(ratios, b6/a)
	}
	slices.Sort(ratios)
	t.Logf("TCP through MPPE-128: IPv4 %.0f Mbit/s, IPv6 %.0f Mbit/s on average; median IPv6/IPv4 of 5 pairs %.2f× (%.2f…%.2f)",
		v4, v6, ratios[2], ratios[0], ratios[4])
	if ratios[2] < 0.9 {
		t.Errorf("IPv6 bulk below 0.9× IPv4's: median ratio %.2f", ratios[2])
	}
	b.stop(c)
	// The veth's own autoconfiguration may still be adding routes; ours must be gone.
	if after, _ := nstest.Output(b.ns.B, "ip", "-6", "route", "show", "table", "all"); strings.Contains(after, "pptp0") ||
		strings.Contains(after, "2001:db8") || strings.Contains(after, "default") {
		t.Errorf("client IPv6 routes left behind:\n%s", after)
	}
	if !nstest.WaitFor(5*time.Second, func() bool {
		r, _ := nstest.Output(b.ns.A, "ip", "-6", "route", "show", "2001:db8:99:1::/64")
		return strings.TrimSpace(r) == ""
	}) {
		t.Errorf("the server kept the session's /64 route")
	}
	// ipv6-up and ipv6-down on both ends, each with its link-local address in place.
	peer := "fe80::" + id
	lines := func() string { out, _ := os.ReadFile(log); return string(out) }
	nstest.WaitFor(5*time.Second, func() bool { return strings.Count(lines(), "ipv6-down") == 2 })
	got := lines()
	for _, want := range []string{"ipv6-up pptp0 " + peer + " ", "ipv6-up pptpd0 ", "ipv6-down pptp0 " + peer + " ", "ipv6-down pptpd0 "} {
		if !strings.Contains(got, want) {
			t.Errorf("scripts ran:\n%s\nwant a line %q", got, want)
		}
	}
	if strings.Count(got, "ll=1") != 4 || !strings.Contains(got, "LLLOCAL="+peer) {
		t.Errorf("scripts ran without their link-local address:\n%s", got)
	}
}

// TestIPv6ProxyMode: proxy mode's user-space stack carries IPv6. It takes its address from
// the server's Router Advertisement (no interface, no kernel), and its SOCKS5 and HTTP
// proxies reach a host behind the server by IPv6 literal and by a name that has only an
// AAAA record, resolved through the tunnel.
func TestIPv6ProxyMode(t *testing.T) {
	b := newBedConf(t, "10.99.0.110-119", "remoteip6 2001:db8:99::/56\ndns6 2001:db8:99::53\n")
	const behind = "2001:db8:99:ff::1"
	nstest.Run(t, b.ns.A, "ip", "-6", "addr", "add", behind+"/128", "dev", "lo", "nodad")
	var ln net.Listener
	if err := nstest.In(b.ns.A, func() (err error) { ln, err = net.Listen("tcp6", "["+behind+"]:0"); return }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	nstest.Serve(ln, func(c net.Conn) {
		defer c.Close()
		c.Read(make([]byte, 4096))
		io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello from "+c.RemoteAddr().String()+"\n")
	})
	defer serveDNS(t, b.ns.A, "v6only.test.", netip.MustParseAddr(behind))()
	c := b.startClient("--user", "alice", "--password", "wonderland", "--socks", "127.0.0.1:1080", "--http-proxy", "127.0.0.1:8080")
	if !nstest.WaitFor(15*time.Second, func() bool {
		l := c.log.String()
		return strings.Contains(l, "HTTP proxy listening") && strings.Contains(l, "from the server's advertisement")
	}) {
		t.Fatalf("no proxies or no IPv6 address:\n%s", c.log.String())
	}
	for _, tc := range []struct{ proxy, url []string }{
		{[]string{"--socks5", "127.0.0.1:1080"}, []string{"http://[" + behind + "]:" + port + "/"}},
		{[]string{"--socks5-hostname", "127.0.0.1:1080"}, []string{"http://v6only.test:" + port + "/"}},
		{[]string{"-x", "http://127.0.0.1:8080"}, []string{"http://[" + behind + "]:" + port + "/"}},
		{[]string{"-x", "http://127.0.0.1:8080"}, []string{"http://v6only.test:" + port + "/"}},
	} {
		out, err := nstest.Output(b.ns.B, "curl", append(append([]string{"-s", "--max-time", "10"}, tc.proxy...), tc.url...)...)
		// The server sees the client's SLAAC address in the session's /64.
		if err != nil || !strings.Contains(out, "hello from [2001:db8:99:1:") {
			t.Errorf("curl %v %v: %v %q\n%s", tc.proxy, tc.url, err, out, c.log.String())
		}
	}
	if links, _ := nstest.Output(b.ns.B, "ip", "-o", "link"); strings.Contains(links, "pptp") {
		t.Errorf("proxy mode created an interface:\n%s", links)
	}
	b.stop(c)
}

// TestLibraryListen6: a library tunnel to our pptpd with remoteip6 takes its global
// address from the advertisement; Listen("tcp6") and Listen("tcp") on it are reached over
// IPv6 from the server's namespace, "tcp" over IPv4 too, and "tcp4" not over IPv6.
func TestLibraryListen6(t *testing.T) {
	b := newBedConf(t, "10.99.0.150-159", "remoteip6 2001:db8:97::/56\n")
	_, tun := libDial6(t, b)
	global := tun.Netstack().IPv6Addr()
	if !netip.MustParsePrefix("2001:db8:97::/56").Contains(global) {
		t.Fatalf("global address %v outside the pool", global)
	}
	v4 := tun.Params().Local.String()
	for _, tc := range []struct {
		network, address string
		reach, refuse    []string
	}{
		{"tcp6", ":7020", []string{global.String()}, []string{v4}},
		{"tcp", ":7021", []string{global.String(), v4}, nil},
		{"tcp4", ":7022", []string{v4}, []string{global.String()}},
		{"tcp6", "[" + global.String() + "]:7023", []string{global.String()}, nil},
	} {
		ln, err := tun.Listen(tc.network, tc.address)
		if err != nil {
			t.Fatalf("Listen(%q, %q): %v", tc.network, tc.address, err)
		}
		nstest.Serve(ln, hashEcho)
		_, port, _ := net.SplitHostPort(tc.address)
		for _, host := range tc.reach {
			c, err := nstest.Dial(b.ns.A, net.JoinHostPort(host, port), 5*time.Second)
			if err != nil {
				t.Fatalf("Listen(%q, %q): dial %s: %v", tc.network, tc.address, host, err)
			}
			sendAndCheck(t, c, 256<<10)
		}
		for _, host := range tc.refuse {
			if c, err := nstest.Dial(b.ns.A, net.JoinHostPort(host, port), 2*time.Second); err == nil {
				c.Close()
				t.Errorf("Listen(%q, %q) accepted a connection to %s", tc.network, tc.address, host)
			}
		}
		ln.Close()
	}
	for _, bad := range [][2]string{{"tcp4", "[" + global.String() + "]:7030"}, {"tcp6", v4 + ":7030"}, {"tcp", "10.1.2.3:7030"}, {"unix", ":7030"}} {
		if ln, err := tun.Listen(bad[0], bad[1]); err == nil {
			ln.Close()
			t.Errorf("Listen(%q, %q) succeeded", bad[0], bad[1])
		}
	}
}
