// SPDX-License-Identifier: MIT

package interop

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pptp-go/pptp/internal/nstest"
)

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
		return strings.Contains(slog, "local  LL address "+m[2]) && strings.Contains(slog, "remote LL address "+m[1])
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
