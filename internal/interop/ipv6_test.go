// SPDX-License-Identifier: MIT

package interop

import (
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pptp-go/pptp/internal/nstest"
)

var pppdLL = regexp.MustCompile(`local  LL address (\S+)\s.*remote LL address (\S+)`)

// sameAddr reports whether m[i] (when there) is the IPv6 address want.
func sameAddr(m []string, i int, want string) bool {
	if len(m) <= i {
		return false
	}
	a, err := netip.ParseAddr(m[i])
	return err == nil && a == netip.MustParseAddr(want)
}

var llLine = regexp.MustCompile(`IPV6CP opened: local LL address (fe80::[0-9a-f:]+), remote LL address (fe80::[0-9a-f:]+)`)

// linkLocalOf returns ifname's IPv6 link-local address and its peer ("" if none).
func linkLocalOf(ifname string) (local, peer string) {
	out, _ := nstest.Output(ns, "ip", "-6", "-o", "addr", "show", "dev", ifname, "scope", "link")
	f := strings.Fields(out)
	for i := 0; i+1 < len(f); i++ {
		switch f[i] {
		case "inet6":
			local = f[i+1]
		case "peer":
			peer = strings.TrimSuffix(f[i+1], "/128")
		}
	}
	return local, peer
}

// TestClientIPv6ToDebianPptpd: Debian's pppd opens IPV6CP (+ipv6 is its default); our client
// answers it, both ends take the negotiated identifiers as link-local addresses, the
// server answers ping -6 ff02::1%pptp0 and its own link-local address, IPv4 and IPv6 run at
// once, ipv6-up and ipv6-down run as pppd runs them, and nothing is left at exit.
func TestClientIPv6ToDebianPptpd(t *testing.T) {
	serverStart(t)
	dir := os.Getenv("PPTP_GO_PPPDIR")
	rec := filepath.Join(t.TempDir(), "scripts")
	for _, name := range []string{"ipv6-up", "ipv6-down"} {
		script := "#!/bin/sh\necho \"" + name + " $* LLLOCAL=$LLLOCAL LLREMOTE=$LLREMOTE\" >> " + rec + "\n"
		os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755)
		t.Cleanup(func() { os.Remove(filepath.Join(dir, name)) })
	}
	c := start(t, pptpBin, "192.0.2.2", "--user", "test", "--password", "test", "--debug")
	var local, peer string
	if !nstest.WaitFor(20*time.Second, func() bool {
		local, peer = linkLocalOf("pptp0")
		return addrOf("pptp0") != "" && local != "" || c.exited()
	}) || c.exited() {
		t.Fatalf("no IPv6 link-local address on pptp0:\n%s\nserver:\n%s", c.log.String(), serverLog(t))
	}
	m := llLine.FindStringSubmatch(c.log.String())
	if m == nil {
		t.Fatalf("client did not log IPV6CP opening:\n%s", c.log.String())
	}
	if local != m[1]+"/128" && local != m[1] || peer != m[2] {
		t.Errorf("pptp0 has %s peer %s; IPV6CP agreed %s, %s", local, peer, m[1], m[2])
	}
	var slog string
	if !nstest.WaitFor(10*time.Second, func() bool {
		slog = serverLog(t) // syslog inside the VM may lag
		// pppd writes the groups with leading zeros (fe80::9919:015a:…): compare addresses.
		return sameAddr(pppdLL.FindStringSubmatch(slog), 1, m[2]) && sameAddr(pppdLL.FindStringSubmatch(slog), 2, m[1])
	}) {
		t.Errorf("server pppd's LL addresses differ from ours (%s, %s):\n%s", m[1], m[2], tail(slog, 30))
	}
	vm, _ := run(t, 20*time.Second, "exec", "ip -6 -o addr show dev ppp0")
	if !strings.Contains(vm, m[2]) || !strings.Contains(vm, "peer "+m[1]) {
		t.Errorf("server VM's ppp0: %s", vm)
	}
	if !strings.Contains(c.log.String(), "<ifaceid ") {
		t.Errorf("debug log does not name the interface identifier")
	}
	out, err := nstest.Output(ns, "ping", "-6", "-c", "3", "-W", "2", "ff02::1%pptp0")
	if err != nil || !strings.Contains(out, "from "+m[2]+"%pptp0") {
		t.Fatalf("ping -6 ff02::1%%pptp0: %v\n%s", err, out)
	}
	// IPv4 and IPv6 at once.
	var wg sync.WaitGroup
	var out4, out6 string
	var err4, err6 error
	wg.Add(2)
	go func() {
		defer wg.Done()
		out4, err4 = nstest.Output(ns, "ping", "-c", "20", "-i", "0.1", "-s", "1300", "-W", "2", "10.99.0.1")
	}()
	go func() {
		defer wg.Done()
		out6, err6 = nstest.Output(ns, "ping", "-6", "-c", "20", "-i", "0.1", "-s", "1300", "-W", "2", m[2]+"%pptp0")
	}()
	wg.Wait()
	if err4 != nil || err6 != nil {
		t.Fatalf("concurrent pings: IPv4 %v\n%s\nIPv6 %v\n%s", err4, out4, err6, out6)
	}
	t.Logf("IPv4 and IPv6 at once: %s | %s", lastLine(out4), lastLine(out6))
	if code := c.stop(t); code != 0 {
		t.Errorf("exit status %d after SIGINT", code)
	}
	if l, _ := linkLocalOf("pptp0"); l != "" {
		t.Errorf("pptp0 still has %s", l)
	}
	b, _ := os.ReadFile(rec)
	want := []string{"ipv6-up pptp0 /dev/null 38400 " + m[1] + " " + m[2] + "  LLLOCAL=" + m[1] + " LLREMOTE=" + m[2],
		"ipv6-down pptp0 /dev/null 38400 " + m[1] + " " + m[2] + "  LLLOCAL=" + m[1] + " LLREMOTE=" + m[2]}
	if got := strings.Split(strings.TrimSpace(string(b)), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("scripts ran:\n%s\nwant:\n%s", b, strings.Join(want, "\n"))
	}
}

// TestClientNoIPv6ToDebianPptpd: --noipv6 Protocol-Rejects IPV6CP as before; IPv4 works.
func TestClientNoIPv6ToDebianPptpd(t *testing.T) {
	serverStart(t)
	c := start(t, pptpBin, "192.0.2.2", "--user", "test", "--password", "test", "--noipv6", "--debug")
	if !nstest.WaitFor(20*time.Second, func() bool { return addrOf("pptp0") != "" || c.exited() }) || c.exited() {
		t.Fatalf("no link:\n%s", c.log.String())
	}
	if out, err := nstest.Output(ns, "ping", "-c", "3", "-i", "0.3", "-W", "2", "10.99.0.1"); err != nil {
		t.Fatalf("ping: %v\n%s", err, out)
	}
	if l, _ := linkLocalOf("pptp0"); l != "" {
		t.Errorf("pptp0 has %s with --noipv6", l)
	}
	if log := c.log.String(); !strings.Contains(log, "rejecting unsupported protocol IPV6CP") {
		t.Errorf("IPV6CP not Protocol-Rejected:\n%s", log)
	}
	c.stop(t)
}

// TestDebianClientIPv6ToOurServer: pptp-linux + pppd +ipv6 in the client VM against our
// pptpd with remoteip6 and dns6: IPV6CP opens, link-local ping both ways, the VM's kernel
// takes a global address of its session's /64 from our Router Advertisement (with our
// default route) and pings a host behind the server; all of it is gone after the call.
func TestDebianClientIPv6ToOurServer(t *testing.T) {
	serverStart(t) // the VM network must exist; our server listens on the host side
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "options"), []byte("name pptpd\nrequire-mschap-v2\nrequire-mppe-128\nms-dns 10.88.0.1\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "pptpd.conf"), []byte("option "+filepath.Join(dir, "options")+
		"\nlocalip 10.88.0.1\nremoteip 10.88.0.100-120\nremoteip6 2001:db8:99::/56\ndns6 2001:db8:99::53\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "chap-secrets"), []byte("test * test *\n"), 0o600)
	// A host behind the server: an address of the server's namespace.
	const behind = "2001:db8:99:ff::1"
	if out, err := nstest.Output(ns, "ip", "-6", "addr", "add", behind+"/128", "dev", "lo"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	t.Cleanup(func() { nstest.Output(ns, "ip", "-6", "addr", "del", behind+"/128", "dev", "lo") })
	s := start(t, pptpdBin, "--fg", "--debug", "--conf", filepath.Join(dir, "pptpd.conf"),
		"--chap-secrets", filepath.Join(dir, "chap-secrets"), "--listen", "192.0.2.1", "--pidfile", filepath.Join(dir, "pid"))
	time.Sleep(300 * time.Millisecond)
	args := []string{"client", "192.0.2.1", "--pppd-opt", "+ipv6", "--ping", "2", "--hold", "60", "--detach"}
	out, err := run(t, 120*time.Second, args...)
	res := keyValues(out)
	if err != nil || res["link"] != "up" {
		t.Logf("refvm client failed once (%v, link=%s); retrying", err, res["link"])
		run(t, 30*time.Second, "client", "stop")
		out, err = run(t, 120*time.Second, args...)
		res = keyValues(out)
	}
	defer run(t, 30*time.Second, "client", "stop")
	if err != nil || res["link"] != "up" {
		t.Fatalf("reference client: %v\n%s\nour server:\n%s", err, out, s.log.String())
	}
	vm := func(cmd string) (string, error) { return run(t, 60*time.Second, "exec", "--vm", "client", cmd) }
	var ours, theirs string
	if !nstest.WaitFor(10*time.Second, func() bool {
		ours, theirs = linkLocalOf("pptpd0")
		return ours != "" && theirs != ""
	}) {
		t.Fatalf("no link-local address on pptpd0; our server:\n%s", s.log.String())
	}
	ours = strings.TrimSuffix(ours, "/128")
	if m := llLine.FindStringSubmatch(s.log.String()); m == nil || m[1] != ours || m[2] != theirs {
		t.Errorf("pptpd0 has %s peer %s; the server logged %v", ours, theirs, m)
	}
	if out, err := vm("ip -6 -o addr show dev ppp0 scope link"); err != nil || !strings.Contains(out, theirs) || !strings.Contains(out, "peer "+ours) {
		t.Errorf("VM's ppp0 link-local: %v\n%s", err, out)
	}
	if out, err := vm("ping -6 -c 3 -W 2 " + ours + "%ppp0"); err != nil || !strings.Contains(out, " 0% packet loss") {
		t.Errorf("ping from the VM to our link-local address: %v\n%s", err, out)
	}
	if out, err := nstest.Output(ns, "ping", "-6", "-c", "3", "-W", "2", theirs+"%pptpd0"); err != nil {
		t.Errorf("ping from the server to the VM's link-local address: %v\n%s", err, out)
	}
	// SLAAC from our RA: the session's /64 (the first after the kept-back ::/64), the VM's
	// interface identifier, our default route.
	want := "2001:db8:99:1:" + strings.TrimPrefix(theirs, "fe80::") + "/64"
	var addrs string
	if !nstest.WaitFor(10*time.Second, func() bool {
		addrs, _ = vm("ip -6 -o addr show dev ppp0 scope global")
		return strings.Contains(addrs, want)
	}) {
		t.Fatalf("VM's ppp0 has no %s from our Router Advertisement:\n%s\nour server:\n%s", want, addrs, s.log.String())
	}
	if routes, _ := vm("ip -6 route show default"); !strings.Contains(routes, "via "+ours+" dev ppp0 proto ra") {
		t.Errorf("VM's default route: %s", routes)
	}
	if out, err := vm("ping -6 -c 3 -W 2 " + behind); err != nil || !strings.Contains(out, " 0% packet loss") {
		t.Errorf("ping %s from the VM: %v\n%s", behind, err, out)
	}
	if out, err := vm("ping -c 2 -W 2 10.88.0.1"); err != nil {
		t.Errorf("IPv4 beside it: %v\n%s", err, out)
	}
	run(t, 30*time.Second, "client", "stop")
	if !nstest.WaitFor(10*time.Second, func() bool {
		r, _ := nstest.Output(ns, "ip", "-6", "route", "show", "2001:db8:99:1::/64")
		return strings.TrimSpace(r) == ""
	}) {
		t.Errorf("the session's /64 route outlived it")
	}
	s.stop(t)
}
