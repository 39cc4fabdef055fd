// SPDX-License-Identifier: MIT

package netif

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

var tDNS = []netip.Addr{netip.MustParseAddr("10.64.0.53"), netip.MustParseAddr("10.64.0.54")}

// useDir points ResolvConfPath (and ResolvedDir) into a fresh temporary directory.
func useDir(t *testing.T) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	oldPath, oldDir := ResolvConfPath, ResolvedDir
	ResolvConfPath = filepath.Join(dir, "resolv.conf")
	ResolvedDir = filepath.Join(dir, "run-resolve")
	t.Cleanup(func() { ResolvConfPath, ResolvedDir = oldPath, oldDir })
	return dir, ResolvConfPath
}

func TestSetDNSRegularFile(t *testing.T) {
	_, p := useDir(t)
	// No trailing newline, odd spacing and mode: restored byte-exact anyway.
	orig := []byte("# my resolver\nnameserver 192.0.2.53\nsearch  corp.example  example.org\noptions edns0\r\ndomain x")
	if err := os.WriteFile(p, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, 0o640)

	undo, err := SetDNS("nt-tun0", tDNS, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	want := resolvHeader + "nt-tun0\n# The original is restored when the tunnel closes (saved in " + p + backupSuffix + ").\n" +
		"nameserver 10.64.0.53\nnameserver 10.64.0.54\nsearch corp.example example.org\noptions edns0\ndomain x\n"
	if string(got) != want {
		t.Errorf("written:\n%q\nwant:\n%q", got, want)
	}
	if fi, _ := os.Lstat(p); fi.Mode().Perm() != 0o644 {
		t.Errorf("our resolv.conf mode %v", fi.Mode())
	}
	if bak, err := os.ReadFile(p + backupSuffix); err != nil || !bytes.Equal(bak, orig) {
		t.Errorf("backup %q, %v", bak, err)
	}

	if err := undo(); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, orig) {
		t.Errorf("restored %q, want %q", got, orig)
	}
	if fi, _ := os.Lstat(p); fi.Mode() != 0o640 {
		t.Errorf("restored mode %v, want 0640", fi.Mode())
	}
	if _, err := os.Lstat(p + backupSuffix); !os.IsNotExist(err) {
		t.Errorf("backup left behind: %v", err)
	}
	if err := undo(); err != nil {
		t.Errorf("second undo: %v", err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, orig) {
		t.Errorf("second undo changed the file")
	}
	assertNoTemp(t, filepath.Dir(p))
}

func TestSetDNSSymlink(t *testing.T) {
	dir, p := useDir(t)
	target := filepath.Join(dir, "managed", "resolv.conf")
	os.MkdirAll(filepath.Dir(target), 0o755)
	targetData := []byte("nameserver 192.0.2.99\nsearch lan\n")
	if err := os.WriteFile(target, targetData, 0o644); err != nil {
		t.Fatal(err)
	}
	const link = "managed/resolv.conf" // relative, must come back exactly so
	if err := os.Symlink(link, p); err != nil {
		t.Fatal(err)
	}

	undo, err := SetDNS("nt-tun0", tDNS, nil)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(p)
	if err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("resolv.conf is not a regular file now: %v %v", fi.Mode(), err)
	}
	if got, _ := os.ReadFile(p); !bytes.Contains(got, []byte("nameserver 10.64.0.53\n")) || !bytes.Contains(got, []byte("search lan\n")) {
		t.Errorf("written %q", got)
	}
	if got, _ := os.ReadFile(target); !bytes.Equal(got, targetData) {
		t.Errorf("link target was modified: %q", got)
	}
	if bl, err := os.Readlink(p + backupSuffix); err != nil || bl != link {
		t.Errorf("backup is %q, %v; want a symlink to %q", bl, err, link)
	}

	if err := undo(); err != nil {
		t.Fatal(err)
	}
	if got, err := os.Readlink(p); err != nil || got != link {
		t.Errorf("after undo: readlink = %q, %v; want %q", got, err, link)
	}
	if got, _ := os.ReadFile(target); !bytes.Equal(got, targetData) {
		t.Errorf("link target changed: %q", got)
	}
	if _, err := os.Lstat(p + backupSuffix); !os.IsNotExist(err) {
		t.Errorf("backup left behind")
	}
	assertNoTemp(t, dir)
}

func TestSetDNSAbsent(t *testing.T) {
	_, p := useDir(t)
	undo, err := SetDNS("nt-tun0", tDNS[:1], nil)
	if err != nil {
		t.Fatal(err)
	}
	if !isOurs(p) {
		t.Fatal("resolv.conf not written")
	}
	if err := undo(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(p); !os.IsNotExist(err) {
		t.Errorf("resolv.conf should be gone again: %v", err)
	}
}

// TestSetDNSCrashRecovery: an earlier run died with its resolv.conf in place; the next SetDNS
// must treat the backup, not our stale file, as the original.
func TestSetDNSCrashRecovery(t *testing.T) {
	_, p := useDir(t)
	orig := []byte("nameserver 192.0.2.53\n")
	os.WriteFile(p, orig, 0o644)
	if _, err := SetDNS("nt-tun0", tDNS, nil); err != nil { // "crash": undo never runs
		t.Fatal(err)
	}
	undo, err := SetDNS("nt-tun1", tDNS[1:], nil)
	if err != nil {
		t.Fatal(err)
	}
	if bak, _ := os.ReadFile(p + backupSuffix); !bytes.Equal(bak, orig) {
		t.Errorf("backup %q, want the real original", bak)
	}
	if err := undo(); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, orig) {
		t.Errorf("restored %q, want %q", got, orig)
	}

	// Crash while the original was absent: no backup, our stale file must go.
	os.Remove(p)
	if _, err := SetDNS("nt-tun0", tDNS, nil); err != nil {
		t.Fatal(err)
	}
	undo, err = SetDNS("nt-tun0", tDNS, nil)
	if err != nil {
		t.Fatal(err)
	}
	undo()
	if _, err := os.Lstat(p); !os.IsNotExist(err) {
		t.Errorf("stale resolv.conf survived: %v", err)
	}
}

// TestSetDNSChangedMeanwhile: if something else rewrote resolv.conf while the tunnel was up,
// undo leaves that alone and keeps the backup for the user.
func TestSetDNSChangedMeanwhile(t *testing.T) {
	_, p := useDir(t)
	orig := []byte("nameserver 192.0.2.53\n")
	os.WriteFile(p, orig, 0o644)
	undo, err := SetDNS("nt-tun0", tDNS, nil)
	if err != nil {
		t.Fatal(err)
	}
	other := []byte("nameserver 203.0.113.1\n")
	os.WriteFile(p, other, 0o644)
	if err := undo(); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, other) {
		t.Errorf("someone else's resolv.conf was replaced: %q", got)
	}
	if bak, _ := os.ReadFile(p + backupSuffix); !bytes.Equal(bak, orig) {
		t.Errorf("backup %q", bak)
	}
}

func TestSetDNSConcurrentUndo(t *testing.T) {
	_, p := useDir(t)
	orig := []byte("nameserver 192.0.2.53\n")
	os.WriteFile(p, orig, 0o644)
	undo, err := SetDNS("nt-tun0", tDNS, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := undo(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got, _ := os.ReadFile(p); !bytes.Equal(got, orig) {
		t.Errorf("restored %q", got)
	}
}

func TestSetDNSOwnerKept(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown")
	}
	_, p := useDir(t)
	os.WriteFile(p, []byte("nameserver 192.0.2.53\n"), 0o644)
	if err := os.Chown(p, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	undo, err := SetDNS("nt-tun0", tDNS, nil)
	if err != nil {
		t.Fatal(err)
	}
	undo()
	fi, _ := os.Lstat(p)
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 65534 || st.Gid != 65534 {
		t.Errorf("owner %d:%d, want 65534:65534", st.Uid, st.Gid)
	}
}

// TestSetDNSResolved drives the systemd-resolved path with a stand-in resolvectl that records
// its arguments, and checks that resolv.conf is left untouched.
func TestSetDNSResolved(t *testing.T) {
	dir, p := useDir(t)
	os.MkdirAll(ResolvedDir, 0o755)
	stub := filepath.Join(ResolvedDir, "stub-resolv.conf")
	os.WriteFile(stub, []byte("nameserver 127.0.0.53\n"), 0o644)
	if err := os.Symlink(stub, p); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(dir, "calls")
	script := filepath.Join(dir, "resolvectl")
	os.WriteFile(script, []byte("#!/bin/sh\necho \"$*\" >> "+logFile+"\n"), 0o755)
	old := Resolvectl
	Resolvectl = script
	defer func() { Resolvectl = old }()

	undo, err := SetDNS("nt-tun0", tDNS, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l, err := os.Readlink(p); err != nil || l != stub {
		t.Errorf("resolv.conf touched: %q %v", l, err)
	}
	undo()
	undo()
	calls, _ := os.ReadFile(logFile)
	want := "dns nt-tun0 10.64.0.53 10.64.0.54\ndomain nt-tun0 ~.\nrevert nt-tun0\n"
	if string(calls) != want {
		t.Errorf("resolvectl calls:\n%s\nwant:\n%s", calls, want)
	}

	// A failing resolvectl is an error, and nothing is left configured.
	os.WriteFile(script, []byte("#!/bin/sh\necho \"$*\" >> "+logFile+"\necho 'Failed to resolve interface' >&2\nexit 1\n"), 0o755)
	if _, err := SetDNS("nt-tun0", tDNS, nil); err == nil || !strings.Contains(err.Error(), "Failed to resolve interface") {
		t.Errorf("err = %v", err)
	}
}

func TestSetDNSEmpty(t *testing.T) {
	_, p := useDir(t)
	undo, err := SetDNS("nt-tun0", nil, nil)
	if err != nil || undo() != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(p); !os.IsNotExist(err) {
		t.Error("empty DNS list wrote a file")
	}
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "*.tmp"))
	if len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

// FuzzRenderResolvConf: whatever the original resolv.conf holds, ours starts with the header,
// lists exactly our servers first, and carries over only search/domain/options lines.
func FuzzRenderResolvConf(f *testing.F) {
	f.Add("nt-tun0", []byte("nameserver 1.1.1.1\nsearch a b\noptions ndots:2\n"))
	f.Add("nt-tun0", []byte(""))                                  // empty original
	f.Add("nt-tun0", []byte("search"))                            // keyword without value, no newline
	f.Add("bad\nname", []byte("nameserver 1.1.1.1"))              // newline in the interface name must not break the comment
	f.Add("nt-tun0", []byte("\x00\xff\r\n\t search x\r\n"))       // binary junk, CRLF, leading blanks
	f.Add("nt-tun0", []byte("nameserver 10.0.0.1 # comment\n#x")) // old nameserver must not survive
	f.Add("nt-tun0", []byte("searchdomain x\noptionsx\n"))        // keyword prefixes that are not keywords
	f.Fuzz(func(t *testing.T, ifname string, orig []byte) {
		out := renderResolvConf(ifname, tDNS, orig, "/etc/resolv.conf"+backupSuffix)
		if !bytes.HasPrefix(out, []byte(resolvHeader)) {
			t.Fatal("missing header")
		}
		lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		if len(lines) < 4 || !strings.HasPrefix(lines[1], "# ") {
			t.Fatalf("bad layout %q", out)
		}
		if lines[2] != "nameserver 10.64.0.53" || lines[3] != "nameserver 10.64.0.54" {
			t.Fatalf("servers %q", lines[2:4])
		}
		for _, l := range lines[4:] {
			k, _, _ := strings.Cut(l, " ")
			if k != "search" && k != "domain" && k != "options" {
				t.Fatalf("unexpected line %q", l)
			}
		}
		if !bytes.HasSuffix(out, []byte("\n")) {
			t.Fatal("unterminated last line")
		}
	})
}

// A bind-mounted resolv.conf (as in containers) cannot be renamed over: it is rewritten in
// place, and restored in place.
func TestSetDNSBindMounted(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a mount namespace")
	}
	_, p := useDir(t)
	orig := []byte("nameserver 192.0.2.53\n")
	src := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(src, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p, nil, 0o644)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Never unlocked: the thread ends with its goroutine, and its private mounts with it.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			t.Error(err)
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			t.Error(err)
			return
		}
		if err := unix.Mount(src, p, "", unix.MS_BIND, ""); err != nil {
			t.Error(err)
			return
		}
		undo, err := SetDNS("nt-tun0", tDNS, t.Logf)
		if err != nil {
			t.Error(err)
			return
		}
		if got, _ := os.ReadFile(src); !bytes.Contains(got, []byte("nameserver 10.64.0.53\n")) {
			t.Errorf("mounted file not rewritten:\n%s", got)
		}
		if err := undo(); err != nil {
			t.Error(err)
		}
		if got, _ := os.ReadFile(src); !bytes.Equal(got, orig) {
			t.Errorf("restored %q, want %q", got, orig)
		}
		assertNoTemp(t, filepath.Dir(p))
	}()
	<-done
}
