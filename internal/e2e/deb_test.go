// SPDX-License-Identifier: MIT

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pptp-go/pptp/internal/nstest"
)

// container is a copy of a Debian bookworm root run in private mount and PID namespaces
// (and the server's network namespace): dpkg and the maintainer scripts see only its own
// processes, and every mount goes with it. No systemd runs in it (TestDebPackageSystemd
// boots one): pptpd.service's ExecStart is run as systemd would, with $NOTIFY_SOCKET and
// the unit's sandbox reproduced, which also covers systems where pptpd runs without systemd.
type container struct {
	t    *testing.T
	root string
	init int // host PID of the namespace's PID 1
	cmd  *exec.Cmd
}

func startContainer(t *testing.T, ns, root string) *container {
	c := &container{t: t, root: root}
	script := `mount -t proc proc "$0/proc" && exec chroot "$0" /bin/sleep 100000`
	c.cmd = exec.Command("ip", "netns", "exec", ns, "unshare", "--mount", "--pid", "--fork", "--propagation", "private", "sh", "-c", script, root)
	var stderr bytes.Buffer
	c.cmd.Stderr = &stderr
	c.cmd.WaitDelay = 5 * time.Second // a process holding stderr must not hang the cleanup
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.stop()
		c.cmd.Process.Kill()
		c.cmd.Wait()
	})
	// unshare's child becomes PID 1 once it has chrooted.
	if !nstest.WaitFor(10*time.Second, func() bool {
		kids, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", c.cmd.Process.Pid, c.cmd.Process.Pid))
		f := strings.Fields(string(kids))
		if len(f) == 0 {
			return false
		}
		pid, _ := strconv.Atoi(f[0])
		if r, _ := os.Readlink(fmt.Sprintf("/proc/%d/root", pid)); r == root {
			c.init = pid
			return true
		}
		return false
	}) {
		t.Fatalf("the container did not start: %s", stderr.String())
	}
	return c
}

// stop ends every process in the container: when its PID 1 dies, the kernel kills the rest.
func (c *container) stop() {
	if c.init > 0 {
		syscall.Kill(c.init, syscall.SIGKILL)
	}
}

// command runs inside the container, with its root, mounts, PID and network namespaces.
func (c *container) command(env []string, argv ...string) *exec.Cmd {
	args := append([]string{"-t", strconv.Itoa(c.init), "-m", "-p", "-n", "-r", "-w", "--"}, argv...)
	cmd := exec.Command("nsenter", args...)
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "DEBIAN_FRONTEND=noninteractive"}, env...)
	return cmd
}

func (c *container) run(argv ...string) string {
	c.t.Helper()
	out, err := c.command(nil, argv...).CombinedOutput()
	if err != nil {
		c.t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return string(out)
}

// status is dpkg's two-letter state of each package ("ii", "rc", "un" …).
func (c *container) status(pkgs ...string) map[string]string {
	out, _ := c.command(nil, append([]string{"dpkg-query", "-W", "-f", "${Package} ${db:Status-Abbrev}\n"}, pkgs...)...).Output()
	m := map[string]string{}
	for _, p := range pkgs {
		m[p] = "un"
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			m[f[0]] = f[1][:2]
		}
	}
	return m
}

// ours lists the container's processes named pptp or pptpd (the container's PID namespace
// holds nothing else of that name).
func (c *container) ours() []string {
	out, _ := c.command(nil, "sh", "-c", `cat /proc/[0-9]*/comm`).Output()
	var l []string
	for _, comm := range strings.Fields(string(out)) {
		if comm == "pptp" || comm == "pptpd" {
			l = append(l, comm)
		}
	}
	return l
}

// need fails on CI and skips elsewhere: CI must run every test.
func need(t *testing.T, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("CI: %s (scripts/test.sh installs it)", what)
	}
	t.Skip(what)
}

func have(cmd string) bool { _, err := exec.LookPath(cmd); return err == nil }

// nmPPTPDeb is Debian's network-manager-pptp package file, downloaded once per machine.
func nmPPTPDeb(t *testing.T) string {
	dir := "/var/tmp/pptp-go-test"
	os.MkdirAll(dir, 0o755)
	find := func() string {
		m, _ := filepath.Glob(filepath.Join(dir, "network-manager-pptp_*.deb"))
		if len(m) > 0 {
			return m[0]
		}
		return ""
	}
	if f := find(); f != "" {
		return f
	}
	download := func() ([]byte, error) {
		cmd := exec.Command("apt-get", "download", "network-manager-pptp")
		cmd.Dir = dir
		return cmd.CombinedOutput()
	}
	if out, err := download(); err != nil {
		exec.Command("apt-get", "update", "-qq").Run()
		if out2, err := download(); err != nil {
			t.Fatalf("apt-get download network-manager-pptp: %v\n%s\n%s", err, out, out2)
		}
	}
	if f := find(); f != "" {
		return f
	}
	t.Fatal("network-manager-pptp was not downloaded")
	return ""
}

// TestDebPackage is issue 21's proof: in a fresh copy of a Debian bookworm root that has
// Debian's pptp-linux and pptpd (the refvm guest root, debootstrap minbase) plus the real
// network-manager-pptp, our package replaces both, keeps NetworkManager-pptp's dependency
// satisfied, its pptpd started from the unit's ExecStart reports READY=1 and accepts our
// client, removal stops it, and purge leaves none of its files; user-edited conffiles
// survive a reinstall and a removal, as dpkg keeps them.
func TestDebPackage(t *testing.T) {
	nstest.RequireRoot(t)
	cache := os.Getenv("REFVM_CACHE")
	if cache == "" {
		cache = "/var/tmp/refvm"
	}
	src := filepath.Join(cache, "rootfs")
	_, err := os.Stat(filepath.Join(src, ".refvm-complete"))
	need(t, err == nil, "no Debian bookworm root at "+src+" (refvm build makes it)")
	for _, cmd := range []string{"dpkg-deb", "lintian", "dpkg-checkbuilddeps", "systemd-analyze", "nsenter", "unshare", "apt-get"} {
		need(t, have(cmd), cmd+" is not installed")
	}
	work := t.TempDir()

	// make deb, from the binaries under test.
	deb := buildDeb(t, work)
	version, err := exec.Command("dpkg-deb", "-f", deb, "Version").Output()
	if err != nil {
		t.Fatal(err)
	}
	pkgVersion := strings.TrimSpace(string(version))
	files := debFiles(t, deb)
	checkLintian(t, deb)

	// A private copy: the refvm guests share the original read-only.
	root := filepath.Join(work, "root")
	if out, err := exec.Command("cp", "-a", src, root).CombinedOutput(); err != nil {
		t.Fatalf("copying %s: %v\n%s", src, err, out)
	}
	os.MkdirAll(filepath.Join(root, "dev/net"), 0o755)
	if err := syscall.Mknod(filepath.Join(root, "dev/net/tun"), syscall.S_IFCHR|0o666, 10<<8|200); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{deb, nmPPTPDeb(t)} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(root, "tmp", filepath.Base(f)), b, 0o644)
	}
	inDeb := "/tmp/" + filepath.Base(deb)
	ns := nstest.NewPair(t, "deb")
	c := startContainer(t, ns.A, root)

	// NetworkManager-pptp as a user has it (its GUI dependencies are beyond a minbase root:
	// only the pptp-linux and ppp ones are checked here, by dpkg's own rules).
	c.run("sh", "-c", "dpkg -i --force-depends /tmp/network-manager-pptp_*.deb")
	if s := c.status("pptp-linux", "pptpd"); s["pptp-linux"] != "ii" || s["pptpd"] != "ii" {
		t.Fatalf("the root lacks Debian's pptp-linux and pptpd: %v", s)
	}
	out := c.run("dpkg", "-i", inDeb)
	t.Logf("dpkg -i:\n%s", out)
	s := c.status("pptp-go", "pptp-linux", "pptpd", "network-manager-pptp")
	if s["pptp-go"] != "ii" || s["network-manager-pptp"] != "ii" || s["pptp-linux"][1] == 'i' || s["pptpd"][1] == 'i' {
		t.Errorf("after installing: %v, want pptp-go and network-manager-pptp installed, pptp-linux and pptpd removed", s)
	}
	nmDeps := strings.TrimSpace(c.run("dpkg-query", "-W", "-f", "${Depends}", "network-manager-pptp"))
	var kept []string
	for _, d := range strings.Split(nmDeps, ",") {
		if d = strings.TrimSpace(d); strings.HasPrefix(d, "pptp-linux") || strings.HasPrefix(d, "ppp ") || d == "ppp" {
			kept = append(kept, d)
		}
	}
	if len(kept) == 0 {
		t.Fatalf("network-manager-pptp's Depends has no pptp-linux: %s", nmDeps)
	}
	if out, err := exec.Command("dpkg-checkbuilddeps", "--admindir="+filepath.Join(root, "var/lib/dpkg"), "-d", strings.Join(kept, ", "), "/dev/null").CombinedOutput(); err != nil {
		t.Errorf("network-manager-pptp's %q unmet with pptp-go installed: %s", strings.Join(kept, ", "), out)
	}
	if v, _ := exec.Command(pptpdBin, "--version").Output(); strings.HasSuffix(strings.TrimSpace(string(v)), " dev") {
		t.Logf("binaries built without a version (not by make build): --version not compared")
	} else {
		for _, bin := range []string{"/usr/sbin/pptp", "/usr/sbin/pptpd"} {
			if out := c.run(bin, "--version"); !strings.Contains(out, pkgVersion) {
				t.Errorf("%s --version = %q, want the package version %s", bin, out, pkgVersion)
			}
		}
	}
	// pptpsetup as pptp-linux's users call it, then gone again.
	c.run("pptpsetup", "--create", "office", "--server", "vpn.example.com", "--username", "bob", "--password", "pw", "--encrypt")
	if b, err := os.ReadFile(filepath.Join(root, "etc/ppp/peers/office")); err != nil || !bytes.Contains(b, []byte("pty \"/usr/sbin/pptp vpn.example.com --nolaunchpppd\"")) {
		t.Errorf("pptpsetup --create wrote %q (%v)", b, err)
	}
	c.run("pptpsetup", "--delete", "office")

	// The administrator's edits: the pool in the conffile, a user in chap-secrets.
	conf := filepath.Join(root, "etc/pptpd.conf")
	edited := readFile(t, conf) + "localip " + pppLocal + "\nremoteip 10.99.0.100-109\n"
	os.WriteFile(conf, []byte(edited), 0o644)
	secrets := filepath.Join(root, "etc/ppp/chap-secrets")
	os.WriteFile(secrets, []byte(readFile(t, secrets)+"alice pptpd \"wonderland\" *\n"), 0o600)
	c.run("dpkg", "-i", inDeb) // reinstalling keeps an edited conffile
	if got := readFile(t, conf); got != edited {
		t.Errorf("reinstalling changed the edited /etc/pptpd.conf:\n%s", got)
	}
	verifyUnits(t, root)

	// pptpd as pptpd.service starts it: ExecStart, EnvironmentFile, Type=notify, and the
	// unit's sandbox (capabilities, no new privileges, a read-only system but for
	// ReadWritePaths), so the call below shows the hardening leaves pptpd what it needs.
	argv := append(sandbox(t, root, "pptpd.service"), execStart(t, root)...)
	notify := "pptp-go-deb-" + strconv.Itoa(os.Getpid())
	var ln *net.UnixConn
	if err := nstest.In(ns.A, func() (err error) {
		// Abstract sockets belong to a network namespace: the container's.
		ln, err = net.ListenUnixgram("unixgram", &net.UnixAddr{Name: "\x00" + notify, Net: "unixgram"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srvLog := nstest.NewBuffer()
	srv := c.command([]string{"NOTIFY_SOCKET=@" + notify}, argv...)
	srv.Stdout, srv.Stderr = srvLog, srvLog
	started := time.Now()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	srvDone := make(chan struct{})
	go func() { srv.Wait(); close(srvDone) }()
	t.Cleanup(func() {
		c.stop() // pptpd too, wherever the test stopped
		<-srvDone
		if t.Failed() {
			t.Logf("pptpd log:\n%s", srvLog.String())
		}
	})
	ln.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 512)
	n, err := ln.Read(buf)
	if err != nil || !strings.Contains(string(buf[:n]), "READY=1") {
		t.Fatalf("no READY=1 from pptpd (%q, %v):\n%s", buf[:n], err, srvLog.String())
	}
	t.Logf("pptpd ready %v after start: %q", time.Since(started).Round(time.Millisecond), buf[:n])
	if out, _ := nstest.Output(ns.A, "ss", "-Hltn", "sport = :1723"); !strings.Contains(out, "1723") {
		t.Errorf("READY=1 before listening: %q", out)
	}

	// Our client from the other namespace as pptp@deb.service runs it, on the peers file
	// and chap-secrets record `pptp setup` writes: MS-CHAPv2 + MPPE-128, as the defaults
	// require; SIGHUP (systemctl reload) hangs up and --persist dials again.
	if out, err := exec.Command(pptpBin, "setup", "--create", "deb", "--server", ns.AddrA, "--username", "alice", "--password", "wonderland", "--encrypt").CombinedOutput(); err != nil {
		t.Fatalf("pptp setup: %v\n%s", err, out)
	}
	os.WriteFile(filepath.Join(pppDir, "options"), []byte("holdoff 1\n"), 0o644) // redial at once
	t.Cleanup(func() {
		exec.Command(pptpBin, "setup", "--delete", "deb").Run()
		os.Remove(filepath.Join(pppDir, "options"))
		os.Remove(filepath.Join(pppDir, "chap-secrets"))
		os.Remove(filepath.Join(pppDir, "chap-secrets.bkp"))
	})
	cargv := unitExec(t, root, "pptp@.service", "deb")
	if cargv[0] != "/usr/sbin/pptp" {
		t.Fatalf("pptp@.service runs %v", cargv)
	}
	b := &bed{t: t, ns: ns, srvLog: srvLog}
	// With the unit's capabilities: the host's setpriv, our binary.
	cwrap := setpriv(t, readFile(t, filepath.Join(root, "lib/systemd/system/pptp@.service")))
	cl := startCmd(t, nstest.Cmd(context.Background(), ns.B, cwrap[0], append(append(cwrap[1:], pptpBin), cargv[1:]...)...))
	if addr := b.waitAddr(cl, "pptp0"); addr != "10.99.0.100" {
		t.Errorf("client address %q, want 10.99.0.100", addr)
	}
	if !strings.Contains(cl.log.String(), "MPPE 128-bit") {
		t.Errorf("no MPPE-128 on the link:\n%s", cl.log.String())
	}
	if out, err := nstest.Output(ns.B, "ping", "-c", "3", "-i", "0.2", "-W", "2", pppLocal); err != nil {
		t.Errorf("ping through the tunnel: %v\n%s", err, out)
	}
	cl.cmd.Process.Signal(syscall.SIGHUP)
	if !nstest.WaitFor(20*time.Second, func() bool { return strings.Count(cl.log.String(), "link up on pptp0") >= 2 }) {
		t.Errorf("no second link after SIGHUP:\n%s", cl.log.String())
	}
	b.stop(cl)

	if l := c.ours(); len(l) != 1 || l[0] != "pptpd" {
		t.Errorf("processes of ours in the container while pptpd serves: %v", l)
	}

	// dpkg counts our Provides: NetworkManager-pptp now depends on us.
	if out, err := c.command(nil, "dpkg", "-r", "pptp-go").CombinedOutput(); err == nil || !strings.Contains(string(out), "network-manager-pptp depends on pptp-linux") {
		t.Errorf("dpkg -r pptp-go under network-manager-pptp: %v\n%s", err, out)
	}
	c.run("dpkg", "-r", "network-manager-pptp")

	// Removal stops what runs and keeps the conffiles; purge takes everything.
	c.run("dpkg", "-r", "pptp-go")
	select {
	case <-srvDone:
	case <-time.After(10 * time.Second):
		t.Errorf("pptpd still runs after dpkg -r")
	}
	if l := c.ours(); len(l) > 0 {
		t.Errorf("still running after dpkg -r: %v", l)
	}
	if got, err := os.ReadFile(conf); err != nil || string(got) != edited {
		t.Errorf("dpkg -r did not keep the edited /etc/pptpd.conf (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(root, "usr/sbin/pptpd")); err == nil {
		t.Errorf("/usr/sbin/pptpd left after dpkg -r")
	}
	c.run("dpkg", "--purge", "pptp-go")
	if s := c.status("pptp-go"); s["pptp-go"] != "un" && s["pptp-go"] != "pn" {
		t.Errorf("pptp-go after purge: %v", s)
	}
	for _, f := range files {
		if _, err := os.Lstat(filepath.Join(root, f)); err == nil {
			t.Errorf("%s left after purge", f)
		}
	}
	for _, f := range []string{"run/pptpd.pid", "var/lib/dpkg/info/pptp-go.list", "var/lib/dpkg/info/pptp-go.postrm"} {
		if _, err := os.Lstat(filepath.Join(root, f)); err == nil {
			t.Errorf("/%s left after purge", f)
		}
	}
}

// buildDeb runs make deb's script on the binaries under test.
func buildDeb(t *testing.T, out string) string {
	bin := t.TempDir()
	for _, b := range []string{pptpBin, pptpdBin} {
		data, err := os.ReadFile(b)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(bin, filepath.Base(b)), data, 0o755)
	}
	cmd := exec.Command("../../scripts/deb.sh")
	cmd.Env = append(os.Environ(), "BIN="+bin, "OUT="+out)
	res, err := cmd.Output()
	if err != nil {
		t.Fatalf("scripts/deb.sh: %v", err)
	}
	return strings.TrimSpace(string(res))
}

// debFiles lists the package's files and links (not directories), without the leading "./".
func debFiles(t *testing.T, deb string) []string {
	out, err := exec.Command("dpkg-deb", "--fsys-tarfile", deb).Output()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("tar", "-t")
	cmd.Stdin = bytes.NewReader(out)
	list, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, f := range strings.Split(string(list), "\n") {
		if f != "" && !strings.HasSuffix(f, "/") {
			files = append(files, strings.TrimPrefix(f, "./"))
		}
	}
	if len(files) < 10 {
		t.Fatalf("the package has only %v", files)
	}
	return files
}

// checkLintian fails on any lintian error and logs the rest.
func checkLintian(t *testing.T, deb string) {
	out, err := exec.Command("lintian", "--fail-on", "error", "--display-info", deb).CombinedOutput()
	t.Logf("lintian:\n%s", out)
	if err != nil {
		t.Errorf("lintian: %v", err)
	}
}

// verifyUnits runs systemd-analyze verify on the installed units with the package's
// binaries and man pages where the units name them (a private mount namespace puts the
// root's /usr/sbin over the host's for that one command).
func verifyUnits(t *testing.T, root string) {
	units := t.TempDir()
	for _, u := range []string{"pptpd.service", "pptp@.service"} {
		data, err := os.ReadFile(filepath.Join(root, "lib/systemd/system", u))
		if err != nil {
			t.Fatal(err)
		}
		name := strings.Replace(u, "@.", "@work.", 1) // an instance of the template
		os.WriteFile(filepath.Join(units, name), data, 0o644)
	}
	script := `mount --bind "$0/usr/sbin" /usr/sbin && MANPATH="$0/usr/share/man" exec systemd-analyze verify "$@"`
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", script, root,
		filepath.Join(units, "pptpd.service"), filepath.Join(units, "pptp@work.service"))
	out, err := cmd.CombinedOutput()
	var ours []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "pptp") {
			ours = append(ours, sc.Text())
		}
	}
	if err != nil || len(ours) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// execStart is pptpd.service's command line as systemd builds it: ExecStart with
// $DAEMON_OPTS from the EnvironmentFile when it exists.
func execStart(t *testing.T, root string) []string {
	return unitExec(t, root, "pptpd.service", "")
}

// unitExec is an installed unit's ExecStart as systemd runs it: %i is the instance and
// $DAEMON_OPTS comes from /etc/default/pptpd when that exists.
func unitExec(t *testing.T, root, name, instance string) []string {
	unit := readFile(t, filepath.Join(root, "lib/systemd/system", name))
	var line string
	for _, l := range strings.Split(unit, "\n") {
		if v, ok := strings.CutPrefix(l, "ExecStart="); ok {
			line = v
		}
	}
	if line == "" {
		t.Fatalf("pptpd.service has no ExecStart:\n%s", unit)
	}
	opts := ""
	if env, err := os.ReadFile(filepath.Join(root, "etc/default/pptpd")); err == nil {
		for _, l := range strings.Split(string(env), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), "DAEMON_OPTS="); ok {
				opts = strings.Trim(v, `"'`)
			}
		}
	}
	var argv []string
	for _, w := range strings.Fields(strings.ReplaceAll(line, "%i", instance)) {
		if w == "$DAEMON_OPTS" {
			argv = append(argv, strings.Fields(opts)...)
		} else {
			argv = append(argv, w)
		}
	}
	return argv
}

// TestMakeInstall: make install's script puts everything under DESTDIR+PREFIX, the units
// name the binaries where it put them, and an existing configuration file is kept.
func TestMakeInstall(t *testing.T) {
	bin := t.TempDir()
	for _, b := range []string{pptpBin, pptpdBin} {
		data, err := os.ReadFile(b)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(bin, filepath.Base(b)), data, 0o755)
	}
	dest := t.TempDir()
	os.MkdirAll(filepath.Join(dest, "etc"), 0o755)
	os.WriteFile(filepath.Join(dest, "etc/pptpd.conf"), []byte("# mine\n"), 0o644)
	cmd := exec.Command("../../scripts/install.sh")
	cmd.Env = append(os.Environ(), "BIN="+bin, "DESTDIR="+dest, "PREFIX=/opt/pg")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("install.sh: %v\n%s", err, out)
	}
	for _, f := range []string{"opt/pg/sbin/pptp", "opt/pg/sbin/pptpd", "opt/pg/sbin/pptpsetup",
		"opt/pg/share/man/man8/pptp.8", "opt/pg/share/man/man8/pptpd.8", "opt/pg/share/man/man5/pptpd.conf.5",
		"opt/pg/share/doc/pptp-go/LICENSE", "opt/pg/lib/systemd/system/pptpd.service",
		"opt/pg/lib/systemd/system/pptp@.service", "etc/ppp/pptpd-options"} {
		if _, err := os.Stat(filepath.Join(dest, f)); err != nil {
			t.Errorf("not installed: %v", err)
		}
	}
	if got := readFile(t, filepath.Join(dest, "etc/pptpd.conf")); got != "# mine\n" {
		t.Errorf("install.sh overwrote an existing /etc/pptpd.conf: %q", got)
	}
	if u := readFile(t, filepath.Join(dest, "opt/pg/lib/systemd/system/pptpd.service")); !strings.Contains(u, "ExecStart=/opt/pg/sbin/pptpd --fg") {
		t.Errorf("pptpd.service does not run /opt/pg/sbin/pptpd:\n%s", u)
	}
	// The wrapper names PREFIX's path, not DESTDIR's.
	if w := readFile(t, filepath.Join(dest, "opt/pg/sbin/pptpsetup")); !strings.Contains(w, "exec /opt/pg/sbin/pptp setup") {
		t.Errorf("pptpsetup wrapper:\n%s", w)
	}
	// make install hands PREFIX and DESTDIR to the script.
	if n, err := exec.Command("make", "-C", "../..", "-n", "install", "PREFIX=/opt/pg", "DESTDIR=/x").Output(); err != nil || !strings.Contains(string(n), "DESTDIR='/x' PREFIX='/opt/pg'") {
		t.Errorf("make -n install: %v\n%s", err, n)
	}
}

// sandbox is a command prefix giving a process what the unit's hardening gives it, for
// the directives that decide whether pptpd can work at all: CapabilityBoundingSet and
// NoNewPrivileges (setpriv), ProtectSystem=strict with ReadWritePaths, ProtectHome and
// PrivateTmp (read-only bind mounts and tmpfs in a mount namespace of its own).
func sandbox(t *testing.T, root, name string) []string {
	unit := readFile(t, filepath.Join(root, "lib/systemd/system", name))
	get := func(key string) string {
		for _, l := range strings.Split(unit, "\n") {
			if v, ok := strings.CutPrefix(l, key+"="); ok {
				return v
			}
		}
		return ""
	}
	if get("ProtectSystem") != "strict" || get("ProtectHome") != "yes" || get("PrivateTmp") != "yes" || get("NoNewPrivileges") != "yes" {
		t.Fatalf("%s: the hardening this test reproduces changed:\n%s", name, unit)
	}
	script := `rw=" $1 "; shift
for d in /*; do
	[ -d "$d" ] && [ ! -L "$d" ] || continue
	case "$rw /dev /proc /sys /tmp /home /root " in *" $d "*) continue ;; esac
	mount --bind "$d" "$d" && mount -o remount,bind,ro "$d" || exit 1
done
mount -t tmpfs -o mode=1777 tmpfs /tmp && mount -t tmpfs -o ro tmpfs /home && mount -t tmpfs -o ro tmpfs /root || exit 1
exec "$@"`
	return append([]string{"unshare", "-m", "--propagation", "unchanged", "sh", "-c", script, "sh", get("ReadWritePaths")},
		setpriv(t, unit)...)
}

// setpriv is a command prefix with the unit's CapabilityBoundingSet and NoNewPrivileges.
func setpriv(t *testing.T, unit string) []string {
	var caps []string
	for _, l := range strings.Split(unit, "\n") {
		if v, ok := strings.CutPrefix(l, "CapabilityBoundingSet="); ok {
			for _, c := range strings.Fields(v) {
				caps = append(caps, "+"+strings.ToLower(strings.TrimPrefix(c, "CAP_")))
			}
		}
	}
	if len(caps) == 0 || !strings.Contains(unit, "\nNoNewPrivileges=yes\n") {
		t.Fatalf("no CapabilityBoundingSet or NoNewPrivileges in\n%s", unit)
	}
	return []string{"setpriv", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all," + strings.Join(caps, ","), "--"}
}

// TestVersionScript: the version make build and make deb use follows the git tag, sorts as
// dpkg sorts releases, and marks a dirty tree.
func TestVersionScript(t *testing.T) {
	need(t, have("git") && have("dpkg"), "git and dpkg needed")
	dir := t.TempDir()
	script, err := os.ReadFile("../../scripts/version.sh")
	if err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(dir, "scripts"), 0o755)
	os.WriteFile(filepath.Join(dir, "scripts/version.sh"), script, 0o755)
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	version := func() string {
		out, err := exec.Command(filepath.Join(dir, "scripts/version.sh")).Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("add", ".")
	git("commit", "-qm", "one")
	v0 := version()
	if want := "0.0~git"; !strings.HasPrefix(v0, want) || !strings.HasSuffix(v0, "."+git("rev-parse", "--short=7", "HEAD")) {
		t.Errorf("untagged: %q", v0)
	}
	git("tag", "v1.2.3")
	v1 := version()
	if v1 != "1.2.3" {
		t.Errorf("at v1.2.3: %q", v1)
	}
	os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644)
	git("add", "f")
	git("commit", "-qm", "two")
	v2 := version()
	if want := "1.2.3+git1.g" + git("rev-parse", "--short", "HEAD"); v2 != want {
		t.Errorf("one commit after v1.2.3: %q, want %q", v2, want)
	}
	os.WriteFile(filepath.Join(dir, "f"), []byte("y"), 0o644)
	v3 := version()
	if v3 != v2+"+dirty" {
		t.Errorf("dirty: %q", v3)
	}
	for _, p := range [][2]string{{v0, v1}, {v1, v2}, {v2, v3}} {
		if err := exec.Command("dpkg", "--compare-versions", p[0], "lt", p[1]).Run(); err != nil {
			t.Errorf("dpkg does not sort %q before %q", p[0], p[1])
		}
	}
}

// bootNspawn boots the root's systemd under systemd-nspawn in network namespace ns and
// returns it as a container (commands enter its namespaces); the test's end halts it.
func bootNspawn(t *testing.T, ns, root string) *container {
	log := nstest.NewBuffer()
	cmd := exec.Command("systemd-nspawn", "-q", "-D", root, "--boot", "--register=no", "--keep-unit",
		"--console=pipe", "--network-namespace-path=/run/netns/"+ns,
		// The network namespace is the container's own; nspawn drops CAP_NET_ADMIN unless told.
		"--capability=CAP_NET_ADMIN")
	// This machine's cgroups are v1 (its PID 1 is not systemd): the container gets v1 too.
	cmd.Env = append(os.Environ(), "SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=0")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &container{t: t, root: root, cmd: cmd}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM) // nspawn halts the container in order
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			c.stop()
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("systemd-nspawn:\n%s", log.String())
		}
	})
	if !nstest.WaitFor(20*time.Second, func() bool {
		kids, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid))
		for _, f := range strings.Fields(string(kids)) {
			pid, _ := strconv.Atoi(f)
			// nspawn's child becomes the container's systemd (its root is "/" in there).
			if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) == "systemd" {
				c.init = pid
				return true
			}
		}
		return false
	}) {
		t.Fatalf("systemd-nspawn did not start:\n%s", log.String())
	}
	var state string
	if !nstest.WaitFor(90*time.Second, func() bool {
		out, _ := c.command(nil, "systemctl", "is-system-running").Output()
		state = strings.TrimSpace(string(out))
		return state == "running" || state == "degraded"
	}) {
		t.Fatalf("systemd in the container did not finish booting (%q):\n%s", state, log.String())
	}
	if state == "degraded" {
		out, _ := c.command(nil, "systemctl", "--failed", "--no-pager").Output()
		t.Logf("container boot degraded (not ours):\n%s", out)
	}
	return c
}

// withSystemd adds systemd to a copy of the bookworm root with apt in a chroot; the
// packages are kept in /var/tmp/pptp-go-test/apt for the next run.
func withSystemd(t *testing.T, root string) {
	cache := "/var/tmp/pptp-go-test/apt"
	os.MkdirAll(cache, 0o755)
	archives := filepath.Join(root, "var/cache/apt/archives")
	if out, err := exec.Command("sh", "-c", `cp "$0"/*.deb "$1"/ 2>/dev/null; true`, cache, archives).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// apt resolves the registry's name: the root's resolv.conf points into /run.
	resolv, _ := os.ReadFile("/etc/resolv.conf")
	os.WriteFile(filepath.Join(root, "run/resolv.conf"), resolv, 0o644)
	install := func() ([]byte, error) {
		cmd := exec.Command("chroot", root, "apt-get", "install", "-y", "-q", "--no-install-recommends", "systemd", "systemd-sysv", "dbus")
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C"}
		return cmd.CombinedOutput()
	}
	if out, err := install(); err != nil {
		upd := exec.Command("chroot", root, "apt-get", "update", "-q")
		upd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}
		if uout, uerr := upd.CombinedOutput(); uerr != nil {
			t.Fatalf("apt-get install systemd in the root: %v\n%s\napt-get update: %s", err, out, uout)
		}
		if out, err := install(); err != nil {
			t.Fatalf("apt-get install systemd in the root: %v\n%s", err, out)
		}
	}
	exec.Command("sh", "-c", `cp "$0"/*.deb "$1"/ 2>/dev/null; true`, archives, cache).Run()
	os.Remove(filepath.Join(root, "run/resolv.conf"))
}

// TestDebPackageSystemd is TestDebPackage's proof under a real systemd: the root booted
// with systemd-nspawn in the server's network namespace, pptpd.service enabled and
// started by systemctl (Type=notify: start returns once pptpd said READY=1), its
// hardening in force on the running process, reload, Restart=on-failure, our client
// through it, and dpkg -r stopping the unit, purge removing its enablement link.
func TestDebPackageSystemd(t *testing.T) {
	nstest.RequireRoot(t)
	cache := os.Getenv("REFVM_CACHE")
	if cache == "" {
		cache = "/var/tmp/refvm"
	}
	src := filepath.Join(cache, "rootfs")
	_, err := os.Stat(filepath.Join(src, ".refvm-complete"))
	need(t, err == nil, "no Debian bookworm root at "+src+" (refvm build makes it)")
	for _, cmd := range []string{"dpkg-deb", "systemd-nspawn", "nsenter", "apt-get"} {
		need(t, have(cmd), cmd+" is not installed")
	}
	work := t.TempDir()
	deb := buildDeb(t, work)
	files := debFiles(t, deb)
	nmDeb := nmPPTPDeb(t)
	// A root with systemd and the packages in /var/tmp/debs (nspawn gives /tmp afresh).
	prepare := func(name string) string {
		root := filepath.Join(work, name)
		if out, err := exec.Command("cp", "-a", src, root).CombinedOutput(); err != nil {
			t.Fatalf("copying %s: %v\n%s", src, err, out)
		}
		withSystemd(t, root)
		os.MkdirAll(filepath.Join(root, "var/tmp/debs"), 0o755)
		for _, f := range []string{deb, nmDeb} {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(root, "var/tmp/debs", filepath.Base(f)), b, 0o644)
		}
		return root
	}
	root := prepare("root")
	ns := nstest.NewPair(t, "dsd")
	c := bootNspawn(t, ns.A, root)

	c.run("sh", "-c", "dpkg -i --force-depends /var/tmp/debs/network-manager-pptp_*.deb")
	t.Logf("dpkg -i:\n%s", c.run("dpkg", "-i", "/var/tmp/debs/"+filepath.Base(deb)))
	show := func(props ...string) map[string]string {
		args := []string{"systemctl", "show", "pptpd.service"}
		for _, p := range props {
			args = append(args, "-p", p)
		}
		m := map[string]string{}
		for _, l := range strings.Split(c.run(args...), "\n") {
			if k, v, ok := strings.Cut(l, "="); ok {
				m[k] = v
			}
		}
		return m
	}
	// A fresh install enables nothing: a VPN server is the administrator's choice.
	if s := show("ActiveState", "UnitFileState"); s["ActiveState"] != "inactive" || s["UnitFileState"] != "disabled" {
		t.Errorf("pptpd.service after a fresh install: %v, want inactive and disabled", s)
	}
	conf := filepath.Join(root, "etc/pptpd.conf")
	os.WriteFile(conf, []byte(readFile(t, conf)+"localip "+pppLocal+"\nremoteip 10.99.0.100-109\n"), 0o644)
	secrets := filepath.Join(root, "etc/ppp/chap-secrets")
	os.WriteFile(secrets, []byte(readFile(t, secrets)+"alice pptpd \"wonderland\" *\n"), 0o600)

	start := time.Now()
	c.run("systemctl", "enable", "--now", "pptpd.service")
	s := show("ActiveState", "SubState", "Type", "MainPID", "StatusText", "NRestarts")
	t.Logf("systemctl enable --now pptpd: %v in %v", s, time.Since(start).Round(time.Millisecond))
	if s["ActiveState"] != "active" || s["Type"] != "notify" || !strings.HasPrefix(s["StatusText"], "listening on") {
		t.Fatalf("pptpd.service: %v\n%s", s, c.run("journalctl", "-u", "pptpd", "--no-pager"))
	}
	// The hardening, as the kernel holds it for the running pptpd (inside the container's
	// PID namespace): CAP_NET_BIND_SERVICE (10), CAP_NET_ADMIN (12), CAP_NET_RAW (13).
	st := c.run("cat", "/proc/"+s["MainPID"]+"/status")
	for _, want := range []string{"CapBnd:\t0000000000003400", "NoNewPrivs:\t1"} {
		if !strings.Contains(st, want) {
			t.Errorf("pptpd's /proc status lacks %q:\n%s", want, st)
		}
	}
	if out, _ := c.command(nil, "nsenter", "-t", s["MainPID"], "-m", "sh", "-c", "touch /etc/pptp-go-probe 2>&1; touch /run/pptp-go-probe && echo run-ok").CombinedOutput(); !strings.Contains(string(out), "Read-only file system") || !strings.Contains(string(out), "run-ok") {
		t.Errorf("pptpd's view: /etc should be read-only, /run writable: %s", out)
	}

	b := &bed{t: t, ns: ns, srvLog: nstest.NewBuffer()}
	cl := b.startClient("--user", "alice", "--password", "wonderland", "--require-mppe-128")
	if addr := b.waitAddr(cl, "pptp0"); addr != "10.99.0.100" {
		t.Errorf("client address %q, want 10.99.0.100", addr)
	}
	if out, err := nstest.Output(ns.B, "ping", "-c", "3", "-i", "0.2", "-W", "2", pppLocal); err != nil {
		t.Errorf("ping through the tunnel: %v\n%s", err, out)
	}
	b.stop(cl)

	// The client side under systemd: a second root booted in the client's namespace,
	// the package installed there, `pptp setup` and pptp@NAME.service.
	croot := prepare("client")
	cc := bootNspawn(t, ns.B, croot)
	cc.run("dpkg", "-i", "/var/tmp/debs/"+filepath.Base(deb))
	cc.run("pptp", "setup", "--create", "work", "--server", ns.AddrA, "--username", "alice", "--password", "wonderland", "--encrypt")
	cc.run("sh", "-c", "echo 'holdoff 1' >> /etc/ppp/options") // redial at once after the reload
	cc.run("systemctl", "start", "pptp@work.service")
	link := func(n int) bool {
		return nstest.WaitFor(20*time.Second, func() bool {
			out, _ := cc.command(nil, "journalctl", "-u", "pptp@work", "--no-pager", "-o", "cat").Output()
			return strings.Count(string(out), "link up on pptp0") >= n
		})
	}
	journal := func() string { return cc.run("journalctl", "-u", "pptp@work", "--no-pager", "-o", "cat") }
	if !link(1) {
		t.Fatalf("pptp@work.service brought no link up:\n%s", journal())
	}
	if out, err := nstest.Output(ns.B, "ping", "-c", "3", "-i", "0.2", "-W", "2", pppLocal); err != nil {
		t.Errorf("ping through pptp@work's tunnel: %v\n%s", err, out)
	}
	cc.run("systemctl", "reload", "pptp@work.service")
	if !link(2) {
		t.Errorf("no second link after systemctl reload pptp@work:\n%s", journal())
	}
	cc.run("systemctl", "stop", "pptp@work.service")
	if out, _ := nstest.Output(ns.B, "ip", "link", "show", "pptp0"); !strings.Contains(out, "does not exist") {
		t.Errorf("pptp0 still there after systemctl stop pptp@work: %s", out)
	}

	c.run("systemctl", "reload", "pptpd.service")
	if s2 := show("ActiveState", "MainPID"); s2["ActiveState"] != "active" || s2["MainPID"] != s["MainPID"] {
		t.Errorf("after reload: %v (before: %v)", s2, s)
	}
	// Restart=on-failure: a pptpd killed outright is started again (RestartSec=5s).
	c.run("kill", "-KILL", s["MainPID"])
	if !nstest.WaitFor(20*time.Second, func() bool {
		s3 := show("ActiveState", "MainPID", "NRestarts")
		return s3["ActiveState"] == "active" && s3["NRestarts"] == "1" && s3["MainPID"] != s["MainPID"]
	}) {
		t.Errorf("pptpd not restarted after SIGKILL: %v", show("ActiveState", "SubState", "MainPID", "NRestarts"))
	}

	c.run("dpkg", "-r", "network-manager-pptp")
	c.run("dpkg", "-r", "pptp-go")
	if s := show("ActiveState"); s["ActiveState"] != "inactive" {
		t.Errorf("pptpd.service after dpkg -r: %v", s)
	}
	if l := c.ours(); len(l) > 0 {
		t.Errorf("still running after dpkg -r: %v", l)
	}
	c.run("dpkg", "--purge", "pptp-go")
	for _, f := range append(files, "etc/systemd/system/multi-user.target.wants/pptpd.service") {
		if _, err := os.Lstat(filepath.Join(root, f)); err == nil {
			t.Errorf("%s left after purge", f)
		}
	}
}

// TestSetupStart: pptp setup --create … --start with neither systemd nor pppd dials the
// new tunnel itself (pptp call NAME), from the files it has just written.
func TestSetupStart(t *testing.T) {
	b := newBed(t, "10.99.0.100-109")
	t.Cleanup(func() {
		exec.Command(pptpBin, "setup", "--delete", "started").Run()
		os.Remove(filepath.Join(pppDir, "chap-secrets"))
		os.Remove(filepath.Join(pppDir, "chap-secrets.bkp"))
	})
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Skip("systemd runs here: --start would use systemctl")
	}
	cmd := nstest.Cmd(context.Background(), b.ns.B, pptpBin, "setup", "--create", "started", "--server", b.ns.AddrA,
		"--username", "alice", "--password", "wonderland", "--encrypt", "--start")
	cmd.Env = append(os.Environ(), "PATH=/nonexistent") // no pppd to find
	c := startCmd(t, cmd)
	if addr := b.waitAddr(c, "pptp0"); addr != "10.99.0.100" {
		t.Errorf("address %q, want 10.99.0.100", addr)
	}
	if !strings.Contains(c.log.String(), "MPPE 128-bit") {
		t.Errorf("no MPPE-128:\n%s", c.log.String())
	}
	b.stop(c)
}
