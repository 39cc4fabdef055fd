// SPDX-License-Identifier: MIT

package interop

import (
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pptp-go/pptp/internal/nstest"
	"github.com/pptp-go/pptp/internal/testdns"
)

// TestDebianClientIPv6ToNetstackServer: Debian's pptp-linux and pppd +ipv6 (the client VM)
// against our pptpd with "egress netstack" and remoteip6: no TUN and no Router
// Advertisement socket on the server, so the session's stack advertises. The VM's kernel
// takes a global address in the session's /64 from that advertisement and a default route
// via our link-local address; its ping and iperf3 over IPv6 reach a host only the server's
// namespace reaches (re-originated by the egress; an absent host stays silent, so echoes
// are forwarded, not answered by the stack), and DNS to the dns6 address is redirected to
// the egress resolver.
func TestDebianClientIPv6ToNetstackServer(t *testing.T) {
	if _, err := exec.LookPath("iperf3"); err != nil {
		t.Fatal("iperf3 not installed")
	}
	serverStart(t)
	const (
		behind   = "2001:db8:97:ff::1"
		dns6     = "2001:db8:97::53"
		resolver = "127.0.0.53"
	)
	for _, args := range [][]string{{"-6", "addr", "add", behind + "/128", "dev", "lo", "nodad"}, {"addr", "add", resolver + "/32", "dev", "lo"}} {
		if out, err := nstest.Output(ns, "ip", args...); err != nil && !strings.Contains(out, "exists") {
			t.Fatalf("%v: %s", err, out)
		}
	}
	t.Cleanup(func() {
		nstest.Output(ns, "ip", "-6", "addr", "del", behind+"/128", "dev", "lo")
		nstest.Output(ns, "ip", "addr", "del", resolver+"/32", "dev", "lo")
	})
	var pc net.PacketConn
	if err := nstest.In(ns, func() (err error) { pc, err = net.ListenPacket("udp4", resolver+":53"); return }); err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go testdns.Serve(pc, map[string]netip.Addr{"six.example.": netip.MustParseAddr(behind)})
	daemon(t, ns, "iperf3", "-s", "-B", behind, "-p", "5206")

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "options"), []byte("name pptpd\nrequire-mschap-v2\nrequire-mppe-128\nms-dns 10.88.0.1\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "pptpd.conf"), []byte("option "+filepath.Join(dir, "options")+
		"\nlocalip 10.88.0.1\nremoteip 10.88.0.100-120\negress netstack\negress-resolver "+resolver+
		"\nremoteip6 2001:db8:97::/56\ndns6 "+dns6+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "chap-secrets"), []byte("test * test *\n"), 0o600)
	s := start(t, "setpriv", "--bounding-set", "-net_admin", pptpdBin, "--fg", "--debug", "--conf", filepath.Join(dir, "pptpd.conf"),
		"--chap-secrets", filepath.Join(dir, "chap-secrets"), "--listen", "192.0.2.1", "--pidfile", filepath.Join(dir, "pid"))
	time.Sleep(300 * time.Millisecond)
	args := []string{"client", "192.0.2.1", "--pppd-opt", "+ipv6", "--ping", "2", "--hold", "120", "--detach"}
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
	if tuns, _ := nstest.Output(ns, "ip", "-o", "link", "show", "type", "tun"); strings.Contains(tuns, "pptpd") {
		t.Errorf("a TUN exists in netstack mode:\n%s", tuns)
	}
	vm := func(cmd string) (string, error) { return run(t, 60*time.Second, "exec", "--vm", "client", cmd) }
	m := llLine.FindStringSubmatch(s.log.String())
	if m == nil {
		t.Fatalf("our server did not log IPV6CP opening:\n%s", s.log.String())
	}
	ours, theirs := m[1], m[2]
	want := "2001:db8:97:1:" + strings.TrimPrefix(theirs, "fe80::") + "/64"
	var addrs string
	if !nstest.WaitFor(15*time.Second, func() bool {
		addrs, _ = vm("ip -6 -o addr show dev ppp0 scope global")
		return strings.Contains(addrs, want)
	}) {
		t.Fatalf("VM's ppp0 has no %s from the stack's Router Advertisement:\n%s\nour server:\n%s", want, addrs, s.log.String())
	}
	if routes, _ := vm("ip -6 route show default"); !strings.Contains(routes, "via "+ours+" dev ppp0 proto ra") {
		t.Errorf("VM's default route: %s", routes)
	}
	if out, err := vm("ping -6 -c 3 -W 2 " + behind); err != nil || !strings.Contains(out, " 0% packet loss") {
		t.Errorf("ping %s from the VM: %v\n%s", behind, err, out)
	}
	if out, err := vm("ping -6 -c 2 -W 1 2001:db8:97:ff::99"); err == nil {
		t.Errorf("an absent IPv6 host answered (the stack, not the egress):\n%s", out)
	}
	if out, err := vm("busybox nslookup six.example " + dns6); err != nil || !strings.Contains(out, behind) {
		t.Errorf("DNS through the dns6 address: %v\n%s", err, out)
	}
	iperfOut, err := vm("iperf3 -6 -c " + behind + " -p 5206 -t 3")
	if err != nil || !strings.Contains(iperfOut, "receiver") {
		t.Fatalf("iperf3 from the VM to %s: %v\n%s\nour server:\n%s", behind, err, iperfOut, s.log.String())
	}
	t.Logf("iperf3 VM → [%s] through the egress: %s", behind, iperfSummary(iperfOut))
	if out, err := vm("ping -c 2 -W 2 10.88.0.1"); err != nil {
		t.Errorf("IPv4 beside it: %v\n%s", err, out)
	}
	s.stop(t)
}
