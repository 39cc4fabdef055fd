// SPDX-License-Identifier: MIT

package main

// The server side: building and starting pptpd in its namespace, asking it how it is, cleaning up.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pptp-go/pptp/internal/nstest"
	"github.com/pptp-go/pptp/internal/radtest"
)

var tunReadRE = regexp.MustCompile(`(?m)^pptpd: (pptpd\d+): TUN read: .*$`)

// tunReadErrors returns the server's "pptpdN: TUN read: …" log lines by interface: that
// session's TUN reader (session.datapath.RoutineReadFromTUN) has stopped.
func (b *bench) tunReadErrors() map[string]string {
	m := map[string]string{}
	data, _ := os.ReadFile(b.srvLog)
	for _, sm := range tunReadRE.FindAllSubmatch(data, -1) {
		m[string(sm[1])] = strings.TrimPrefix(string(sm[0]), "pptpd: ")
	}
	return m
}

// serverIf is the server's interface for a client's address.
func (b *bench) serverIf(c *client) string {
	out, _ := exec.Command("ip", "-n", b.nsA, "-o", "route", "get", c.params.Local.String()).Output()
	f := strings.Fields(string(out))
	if i := slices.Index(f, "dev"); i >= 0 && i+1 < len(f) {
		return f[i+1]
	}
	return ""
}

// buildServer builds ./cmd/pptpd (static, as `make build` does) unless -pptpd names one.
func (b *bench) buildServer() error {
	if b.o.pptpdPath != "" {
		p, err := filepath.Abs(b.o.pptpdPath)
		b.o.pptpdPath = p
		return err
	}
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(gomod)) == "" || strings.TrimSpace(string(gomod)) == os.DevNull {
		return errors.New("cannot find the module root (run from inside the repository, or give -pptpd)")
	}
	b.o.pptpdPath = filepath.Join(b.dir, "pptpd")
	cmd := exec.Command("go", "build", "-trimpath", "-o", b.o.pptpdPath, "./cmd/pptpd")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building pptpd: %v\n%s", err, out)
	}
	return nil
}

// setupNamespaces creates A (server, 198.18.77.1) and B (clients, .2) joined by a veth pair.
func (b *bench) setupNamespaces() error {
	id := fmt.Sprintf("scalebench%d", os.Getpid())
	b.nsA, b.nsB = id+"a", id+"b"
	b.addrA = vethNet + ".1"
	va, vb := fmt.Sprintf("sb%da", os.Getpid()), fmt.Sprintf("sb%db", os.Getpid())
	for _, c := range [][]string{
		{"netns", "add", b.nsA}, {"netns", "add", b.nsB},
		{"-n", b.nsA, "link", "set", "lo", "up"}, {"-n", b.nsB, "link", "set", "lo", "up"},
		{"link", "add", va, "netns", b.nsA, "type", "veth", "peer", "name", vb, "netns", b.nsB},
		{"-n", b.nsA, "addr", "add", vethNet + ".1/24", "dev", va}, {"-n", b.nsA, "link", "set", va, "up"},
		{"-n", b.nsB, "addr", "add", vethNet + ".2/24", "dev", vb}, {"-n", b.nsB, "link", "set", vb, "up"},
	} {
		if out, err := exec.Command("ip", c...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(c, " "), err, out)
		}
	}
	return nil
}

// poolList is a remoteip list with n addresses from 10.128.0.1 on, 250 per /24 (poptop's
// syntax allows a range in one octet only).
func poolList(n int) string {
	var parts []string
	for k := 0; n > 0; k++ {
		m := min(n, 250)
		parts = append(parts, fmt.Sprintf("10.%d.%d.1-%d", 128+k/256, k%256, m))
		n -= m
	}
	return strings.Join(parts, ",")
}

func (b *bench) startServer(ctx context.Context) error {
	write := func(name, content string) (string, error) {
		p := filepath.Join(b.dir, name)
		return p, os.WriteFile(p, []byte(content), 0o600)
	}
	extra := ""
	if b.o.radius {
		rc, err := b.startRadius(ctx)
		if err != nil {
			return err
		}
		extra = "plugin radius.so\nradius-config-file " + rc + "\n"
	}
	opts, err := write("pptpd-options", "name pptpd\nrequire-mschap-v2\nrequire-mppe-128\n"+extra)
	if err != nil {
		return err
	}
	egress := ""
	if b.o.egress {
		egress = "egress netstack\n"
		if err := b.startEcho(); err != nil {
			return err
		}
	}
	conf, err := write("pptpd.conf", fmt.Sprintf("option %s\nlocalip %s\nremoteip %s\nconnections %d\n%s",
		opts, serverLocal, poolList(b.o.n+b.o.spare), b.o.n+b.o.spare, egress))
	if err != nil {
		return err
	}
	var sec strings.Builder
	for i := range b.o.n {
		fmt.Fprintf(&sec, "user%d * pass%d *\n", i, i)
	}
	for i := range b.o.spare {
		fmt.Fprintf(&sec, "spare%d * spare%d *\n", i, i)
	}
	secrets, err := write("chap-secrets", sec.String())
	if err != nil {
		return err
	}
	b.srvLog = filepath.Join(b.dir, "pptpd.log")
	logf, err := os.Create(b.srvLog)
	if err != nil {
		return err
	}
	defer logf.Close()
	// Started directly (not through `ip netns exec`, which would leave its own process
	// between us and pptpd): the child joins namespace A from a thread switched into it.
	b.srv = exec.Command(b.o.pptpdPath, "--fg", "--conf", conf, "--chap-secrets", secrets,
		"--pidfile", filepath.Join(b.dir, "pptpd.pid"))
	b.srv.Stdout, b.srv.Stderr = logf, logf
	// Not the host's /etc/ppp: no ip-up per session, no host options.
	b.srv.Env = append(os.Environ(), "PPTP_GO_PPPDIR="+b.dir)
	// Its own process group: a Ctrl-C on the terminal reaches us, and we stop the server
	// after the clients have gone.
	b.srv.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := nstest.In(b.nsA, b.srv.Start); err != nil {
		b.srv = nil
		return fmt.Errorf("starting pptpd: %w", err)
	}
	b.srvErr = make(chan error, 1)
	go func() { b.srvErr <- b.srv.Wait() }()
	ok := nstest.WaitFor(10*time.Second, func() bool {
		out, _ := nstest.Output(b.nsA, "ss", "-Hltn", "sport = :1723")
		return strings.Contains(out, "1723") || ctx.Err() != nil
	})
	if !ok || ctx.Err() != nil {
		return errors.New("pptpd is not listening on port 1723")
	}
	return nil
}

var statusRE = regexp.MustCompile(`status: (\d+) connections, (\d+) goroutines`)

// serverStatus asks pptpd (SIGUSR1) for its connection and goroutine counts; -1 when it
// did not answer within 3 s.
func (b *bench) serverStatus(ctx context.Context) (goroutines, active int) {
	goroutines, active = -1, -1
	if b.srv == nil {
		return
	}
	st, err := os.Stat(b.srvLog)
	if err != nil {
		return
	}
	from := st.Size()
	if b.srv.Process.Signal(syscall.SIGUSR1) != nil {
		return
	}
	nstest.WaitFor(3*time.Second, func() bool {
		f, err := os.Open(b.srvLog)
		if err != nil {
			return false
		}
		defer f.Close()
		if _, err := f.Seek(from, 0); err != nil {
			return false
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if m := statusRE.FindStringSubmatch(sc.Text()); m != nil {
				active, _ = strconv.Atoi(m[1])
				goroutines, _ = strconv.Atoi(m[2])
				return true
			}
		}
		return ctx.Err() != nil
	})
	return
}

var ifaceRE = regexp.MustCompile(`(?m)^\d+: pptpd\d+[:@]`)

func (b *bench) countIfaces() int {
	out, err := exec.Command("ip", "-n", b.nsA, "-o", "link", "show").Output()
	if err != nil {
		return -1
	}
	return len(ifaceRE.FindAll(out, -1))
}

// cleanup stops pptpd (SIGTERM, then SIGKILL after 15 s) and deletes the namespaces (with
// them the veth pair and any TUN device left).
func (b *bench) cleanup() {
	b.cleanOnce.Do(func() {
		if b.srv != nil && b.srv.Process != nil {
			b.srv.Process.Signal(syscall.SIGTERM)
			select {
			case <-b.srvErr:
			case <-time.After(15 * time.Second):
				fmt.Fprintln(os.Stderr, "scalebench: pptpd did not exit within 15 s of SIGTERM; killing it")
				b.srv.Process.Kill()
				<-b.srvErr
			}
		}
		if b.rad != nil && b.rad.Process != nil {
			b.rad.Process.Signal(syscall.SIGTERM)
			b.rad.Wait()
		}
		for _, ns := range []string{b.nsA, b.nsB, b.nsR} {
			if ns != "" {
				if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
					fmt.Fprintf(os.Stderr, "scalebench: ip netns del %s: %v: %s", ns, err, out)
				}
			}
		}
		if b.dir != "" {
			if b.o.keep {
				fmt.Fprintf(os.Stderr, "scalebench: kept %s\n", b.dir)
			} else {
				os.RemoveAll(b.dir)
			}
		}
	})
}

func (b *bench) tailLog(n int) {
	data, err := os.ReadFile(b.srvLog)
	if err != nil {
		return
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	fmt.Fprintf(os.Stderr, "scalebench: last lines of pptpd's log:\n  %s\n",
		strings.Join(lines[max(0, len(lines)-n):], "\n  "))
}

// startRadius starts FreeRADIUS (multi-threaded, not in debug mode) in a third namespace
// joined to the server's by a veth pair, with user%d/pass%d in its users file, and writes
// the radiusclient.conf for pptpd.
func (b *bench) startRadius(ctx context.Context) (string, error) {
	if _, err := exec.LookPath("freeradius"); err != nil {
		return "", errors.New("-radius: freeradius is not installed (apt-get install freeradius)")
	}
	b.nsR = fmt.Sprintf("scalebench%dr", os.Getpid())
	vr, va := fmt.Sprintf("sb%dr", os.Getpid()), fmt.Sprintf("sb%dq", os.Getpid())
	for _, c := range [][]string{
		{"netns", "add", b.nsR}, {"-n", b.nsR, "link", "set", "lo", "up"},
		{"link", "add", va, "netns", b.nsA, "type", "veth", "peer", "name", vr, "netns", b.nsR},
		{"-n", b.nsA, "addr", "add", "203.0.113.1/30", "dev", va}, {"-n", b.nsA, "link", "set", va, "up"},
		{"-n", b.nsR, "addr", "add", "203.0.113.2/30", "dev", vr}, {"-n", b.nsR, "link", "set", vr, "up"},
	} {
		if out, err := exec.Command("ip", c...).CombinedOutput(); err != nil {
			return "", fmt.Errorf("ip %s: %v: %s", strings.Join(c, " "), err, out)
		}
	}
	var users strings.Builder
	for i := range b.o.n {
		fmt.Fprintf(&users, "user%d\tCleartext-Password := \"pass%d\"\n", i, i)
	}
	for i := range b.o.spare {
		fmt.Fprintf(&users, "spare%d\tCleartext-Password := \"spare%d\"\n", i, i)
	}
	dir := filepath.Join(b.dir, "freeradius")
	if err := radtest.WriteConfig(dir, radtest.Options{Users: users.String()}); err != nil {
		return "", err
	}
	logf, err := os.Create(filepath.Join(b.dir, "freeradius.log"))
	if err != nil {
		return "", err
	}
	defer logf.Close()
	b.rad = nstest.Cmd(context.Background(), b.nsR, "freeradius", radtest.Args(dir, false)...)
	b.rad.Stdout, b.rad.Stderr = logf, logf
	if err := b.rad.Start(); err != nil {
		return "", err
	}
	if !nstest.WaitFor(20*time.Second, func() bool {
		out, _ := nstest.Output(b.nsR, "ss", "-Hlun", "sport = :1812")
		return strings.Contains(out, "1812") || ctx.Err() != nil
	}) {
		return "", errors.New("FreeRADIUS is not listening on port 1812")
	}
	return radtest.WriteRadiusclientConf(b.dir, []string{"203.0.113.2"}, "nas-identifier scalebench\n")
}

// echoAddr is where the sessions' TCP flows go with -egress: serverLocal on the server
// namespace's loopback, so that pptpd, re-originating each flow, reaches an echo server.
const echoAddr = serverLocal + ":7"

func (b *bench) startEcho() error {
	if out, err := exec.Command("ip", "-n", b.nsA, "addr", "add", serverLocal+"/32", "dev", "lo").CombinedOutput(); err != nil {
		return fmt.Errorf("echo server address: %v: %s", err, out)
	}
	ln, err := nstest.Listen(b.nsA, echoAddr)
	if err != nil {
		return err
	}
	nstest.Serve(ln, func(c net.Conn) { io.Copy(c, c); c.Close() })
	return nil
}
