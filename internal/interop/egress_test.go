// SPDX-License-Identifier: MIT

package interop

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pptp-go/pptp/internal/nstest"
	"github.com/pptp-go/pptp/internal/testdns"
)

// farHost is the address, in a namespace of its own, that only our server's namespace
// reaches: iperf3, DNS and the upstream proxies listen there.
const (
	farHost   = "198.51.100.2"
	farServer = "198.51.100.1"
)

// farNamespace makes the far host's namespace, joined to refvm's by a veth, with a DNS
// server answering far.example.
func farNamespace(t *testing.T) string {
	t.Helper()
	far := nstest.New(t, "egr")
	dev := fmt.Sprintf("eg%d", os.Getpid())
	for _, args := range [][]string{
		{"link", "add", dev + "a", "netns", ns, "type", "veth", "peer", "name", dev + "b", "netns", far},
		{"-n", ns, "addr", "add", farServer + "/24", "dev", dev + "a"},
		{"-n", ns, "link", "set", dev + "a", "up"},
		{"-n", far, "addr", "add", farHost + "/24", "dev", dev + "b"},
		{"-n", far, "link", "set", dev + "b", "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	t.Cleanup(func() { exec.Command("ip", "-n", ns, "link", "del", dev+"a").Run() })
	var pc net.PacketConn
	if err := nstest.In(far, func() (err error) { pc, err = net.ListenPacket("udp4", farHost+":53"); return }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	names := map[string]netip.Addr{"far.example.": netip.MustParseAddr(farHost)}
	go testdns.Serve(pc, names)
	ln, err := nstest.Listen(far, farHost+":53") // DNS through an HTTP proxy goes over TCP
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go testdns.ServeTCP(ln, names)
	return far
}

// daemon starts a program in namespace nsName for the rest of the test.
func daemon(t *testing.T, nsName string, args ...string) *nstest.Buffer {
	t.Helper()
	log := nstest.NewBuffer()
	cmd := nstest.Cmd(context.Background(), nsName, args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", args[0], err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return log
}

// TestDebianClientToNetstackServer: Debian's pptp-linux and pppd (the client VM) against our
// pptpd with "egress netstack": no TUN on the server; the VM's ping, DNS and iperf3 reach a
// host that only the server's namespace can reach, directly, then through Debian's
// dante-server (SOCKS5) and tinyproxy (HTTP CONNECT), whose logs show the flows.
func TestDebianClientToNetstackServer(t *testing.T) {
	for _, bin := range []string{"danted", "tinyproxy", "iperf3"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not installed (scripts/test.sh installs dante-server and tinyproxy)", bin)
		}
	}
	serverStart(t)
	far := farNamespace(t)
	// tinyproxy writes its log as nobody, who cannot enter t.TempDir()'s parent.
	dir, err := os.MkdirTemp("", "egress-proxies")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o777)
	t.Cleanup(func() { os.RemoveAll(dir) })
	daemon(t, far, "iperf3", "-s", "-B", farHost)
	os.WriteFile(filepath.Join(dir, "danted.conf"), []byte(fmt.Sprintf(`logoutput: %s/danted.log
internal: %s port = 1080
external: %s
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody
client pass {
	from: 0.0.0.0/0 to: 0.0.0.0/0
	log: connect error
}
socks pass {
	from: 0.0.0.0/0 to: 0.0.0.0/0
	command: connect udpassociate udpreply
	log: connect error
}
`, dir, farHost, farHost)), 0o644)
	daemon(t, far, "danted", "-f", filepath.Join(dir, "danted.conf"))
	os.WriteFile(filepath.Join(dir, "tinyproxy.conf"), []byte(fmt.Sprintf(`User nobody
Group nogroup
Port 8888
Listen %s
LogFile "%s/tinyproxy.log"
LogLevel Connect
PidFile "%s/tinyproxy.pid"
Allow %s/24
ConnectPort 5201
ConnectPort 53
`, farHost, dir, dir, farServer)), 0o644)
	tiny := daemon(t, far, "tinyproxy", "-d", "-c", filepath.Join(dir, "tinyproxy.conf"))

	for _, tc := range []struct{ name, conf, log string }{
		{"direct", "", ""},
		{"socks5", "egress-proxy socks5://" + farHost + ":1080\n", "danted.log"},
		{"http", "egress-proxy http://" + farHost + ":8888\n", "tinyproxy.log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub := t.TempDir()
			os.WriteFile(filepath.Join(sub, "options"), []byte("name pptpd\nrequire-mschap-v2\nrequire-mppe-128\nms-dns 10.88.0.1\n"), 0o600)
			os.WriteFile(filepath.Join(sub, "pptpd.conf"), []byte("option "+filepath.Join(sub, "options")+
				"\nlocalip 10.88.0.1\nremoteip 10.88.0.100-120\negress netstack\negress-resolver "+farHost+"\n"+tc.conf), 0o600)
			os.WriteFile(filepath.Join(sub, "chap-secrets"), []byte("test * test *\n"), 0o600)
			// No CAP_NET_ADMIN (no TUN, no routes): what is left of root's capabilities
			// once it is out of the bounding set.
			s := start(t, "setpriv", "--bounding-set", "-net_admin", pptpdBin, "--fg", "--debug", "--conf", filepath.Join(sub, "pptpd.conf"),
				"--chap-secrets", filepath.Join(sub, "chap-secrets"), "--listen", "192.0.2.1", "--pidfile", filepath.Join(sub, "pid"))
			time.Sleep(300 * time.Millisecond)
			out, err := run(t, 120*time.Second, "client", "192.0.2.1", "--ping", "3", "--hold", "120", "--detach")
			res := keyValues(out)
			if err != nil || res["link"] != "up" {
				t.Logf("refvm client failed once (%v, link=%s); retrying", err, res["link"])
				run(t, 30*time.Second, "client", "stop")
				out, err = run(t, 120*time.Second, "client", "192.0.2.1", "--ping", "3", "--hold", "120", "--detach")
				res = keyValues(out)
			}
			defer run(t, 30*time.Second, "client", "stop")
			if err != nil || res["link"] != "up" || res["ping"] != "ok" || !strings.Contains(res["mppe"], "128") {
				t.Fatalf("reference client against our netstack server: %v\n%s\nour server:\n%s", err, out, s.log.String())
			}
			if tuns, _ := nstest.Output(ns, "ip", "-o", "link", "show", "type", "tun"); strings.Contains(tuns, "pptpd") {
				t.Errorf("a TUN exists in netstack mode:\n%s", tuns)
			}
			if capEff(t, s.cmd.Process.Pid)&(1<<12) != 0 { // CAP_NET_ADMIN
				t.Error("pptpd runs with CAP_NET_ADMIN")
			}
			vm := func(cmd string) (string, error) { return run(t, 60*time.Second, "exec", "--vm", "client", cmd) }
			if out, err := vm("ip route replace 198.51.100.0/24 dev ppp0"); err != nil {
				t.Fatalf("route in the client VM: %v\n%s", err, out)
			}
			if out, err := vm("ping -c 3 -W 2 " + farHost); err != nil || !strings.Contains(out, " 0% packet loss") {
				t.Errorf("ping %s from the client VM: %v\n%s", farHost, err, out)
			}
			// Direct, echoes are forwarded, not answered by the stack: a host that is not
			// there stays silent. Behind a proxy (no ICMP) the stack answers them.
			silent := farServer[:len(farServer)-1] + "99"
			if out, err := vm("ping -c 2 -W 1 " + silent); (err == nil) != (tc.name != "direct") {
				t.Errorf("ping %s (no such host), egress %s: answered %v\n%s", silent, tc.name, err == nil, out)
			}
			if out, err := vm("busybox nslookup far.example 10.88.0.1"); err != nil || !strings.Contains(out, farHost) {
				t.Errorf("DNS through the ms-dns address: %v\n%s", err, out)
			}
			var iperfOut string
			for i := range 10 { // iperf3 -s serves one test at a time; the previous one may still close
				if iperfOut, err = vm("iperf3 -c " + farHost + " -t 3"); err == nil || !strings.Contains(iperfOut, "busy") || i == 9 {
					break
				}
				time.Sleep(time.Second)
			}
			if err != nil || !strings.Contains(iperfOut, "receiver") {
				t.Fatalf("iperf3 from the client VM to %s: %v\n%s\nour server:\n%s", farHost, err, iperfOut, s.log.String())
			}
			t.Logf("%s: iperf3 VM → %s: %s", tc.name, farHost, iperfSummary(iperfOut))
			if tc.log != "" {
				b, _ := os.ReadFile(filepath.Join(dir, tc.log))
				if tc.name == "http" {
					b = append(b, tiny.String()...) // in the foreground it may log to stderr
				}
				if !strings.Contains(string(b), farHost) {
					t.Errorf("%s shows no flow to %s:\n%s", tc.log, farHost, b)
				}
				t.Logf("%s, last lines:\n%s", tc.log, tail(string(b), 4))
			}
			s.stop(t)
		})
	}
}

// capEff is the effective capability set of process pid (exec keeps the pid through ip
// netns exec and setpriv).
func capEff(t *testing.T, pid int) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no CapEff line")
	return 0
}
