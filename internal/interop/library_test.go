// SPDX-License-Identifier: MIT

package interop

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pptp-go/pptp"
	"github.com/pptp-go/pptp/internal/nstest"
)

// vmWeb starts busybox httpd in the server VM on port 8080 serving an 8 MiB random file and
// a busybox nc on port 7000 that stores what it receives; it returns the file's SHA-256.
func vmWeb(t *testing.T) string {
	t.Helper()
	out, err := run(t, 60*time.Second, "exec",
		"mkdir -p /tmp/www && dd if=/dev/urandom of=/tmp/www/blob bs=1M count=8 2>/dev/null && "+
			"busybox httpd -p 8080 -h /tmp/www && (busybox nc -l -p 7000 > /tmp/up </dev/null &) ; sha256sum /tmp/www/blob")
	f := strings.Fields(out)
	if err != nil || len(f) < 2 || len(f[0]) != 64 {
		t.Fatalf("starting the web server in the VM: %v\n%s", err, out)
	}
	return f[0]
}

// TestLibraryAgainstDebianPptpd: the public package alone, no TUN, against pptpd + pppd:
// the link's parameters as pppd negotiated them, an 8 MiB download from a web server in the
// server VM and a 4 MiB upload to it, both checked by hash, and a clean close.
func TestLibraryAgainstDebianPptpd(t *testing.T) {
	serverStart(t)
	want := vmWeb(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var tun *pptp.Tunnel
	if err := nstest.In(ns, func() (err error) {
		tun, err = pptp.Dial(ctx, pptp.Config{Server: "192.0.2.2", User: "test", Password: "test"})
		return err
	}); err != nil {
		t.Fatalf("Dial: %v\nserver:\n%s", err, serverLog(t))
	}
	p := tun.Params()
	if p.Peer.String() != "10.99.0.1" || !strings.HasPrefix(p.Local.String(), "10.99.0.") || p.MPPEBits != 128 ||
		p.Auth != "MS-CHAPv2" || len(p.DNS) == 0 || p.DNS[0].String() != "10.99.0.1" || p.Interface != "" {
		t.Errorf("Params = %+v", p)
	}
	t.Logf("link: %+v", p)

	hc := &http.Client{Transport: &http.Transport{DialContext: tun.DialContext}, Timeout: 60 * time.Second}
	start := time.Now()
	resp, err := hc.Get("http://10.99.0.1:8080/blob")
	if err != nil {
		t.Fatalf("GET through the tunnel: %v", err)
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	resp.Body.Close()
	if got := hex.EncodeToString(h.Sum(nil)); err != nil || got != want || n != 8<<20 {
		t.Fatalf("download: %d bytes, %v, sha256 %s want %s", n, err, got, want)
	}
	t.Logf("download: 8 MiB in %v", time.Since(start).Round(time.Millisecond))

	up := make([]byte, 4<<20)
	rand.Read(up)
	c, err := tun.DialContext(ctx, "tcp", "10.99.0.1:7000")
	if err != nil {
		t.Fatalf("dial the VM's nc: %v", err)
	}
	if _, err := c.Write(up); err != nil {
		t.Fatalf("upload: %v", err)
	}
	c.Close()
	sum := sha256.Sum256(up)
	var out string
	if !nstest.WaitFor(20*time.Second, func() bool {
		out, _ = run(t, 20*time.Second, "exec", "sha256sum /tmp/up")
		return strings.Contains(out, hex.EncodeToString(sum[:]))
	}) {
		t.Errorf("upload: the VM has %q, want %x", out, sum)
	}

	st := tun.Stats()
	if st.RxBytes < 8<<20 || st.TxBytes < 4<<20 || st.RxDecryptErrors != 0 {
		t.Errorf("Stats = %+v", st)
	}
	if err := tun.Close(); err != nil || tun.Err() != nil {
		t.Errorf("Close = %v, Err = %v", err, tun.Err())
	}
	if !nstest.WaitFor(10*time.Second, func() bool { return !strings.Contains(sessions(t), "ppp") }) {
		t.Errorf("the server still has a session after Close:\n%s", sessions(t))
	}
}

// sessions lists the server VM's ppp interfaces.
func sessions(t *testing.T) string {
	out, _ := run(t, 20*time.Second, "exec", "ip -o link show | grep -o 'ppp[0-9]*' || true")
	return strings.TrimSpace(out)
}

// TestLibraryErrorsAgainstDebianPptpd: the stage and the words of a failure, as pppd
// causes them.
func TestLibraryErrorsAgainstDebianPptpd(t *testing.T) {
	dial := func(cfg pptp.Config) error {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		return nstest.In(ns, func() error {
			tun, err := pptp.Dial(ctx, cfg)
			if err == nil {
				tun.Close()
			}
			return err
		})
	}
	serverStart(t)
	var de *pptp.DialError
	if err := dial(pptp.Config{Server: "192.0.2.2", User: "test", Password: "wrong"}); !errors.As(err, &de) || de.Stage != pptp.StageAuth || !strings.Contains(err.Error(), "E=691") {
		t.Errorf("wrong password: %v", err)
	}
	if err := dial(pptp.Config{Server: "192.0.2.2:1724", User: "test", Password: "test"}); !errors.As(err, &de) || de.Stage != pptp.StageConnect {
		t.Errorf("wrong port: %v", err)
	}
	serverStart(t, "--mppe", "refuse")
	if err := dial(pptp.Config{Server: "192.0.2.2", User: "test", Password: "test"}); !errors.As(err, &de) || de.Stage != pptp.StageCCP {
		t.Errorf("MPPE required against a server without: %v", err)
	}
}

// TestSOCKS5ExampleAgainstDebianPptpd: examples/socks5 against pptpd + pppd, used by curl.
func TestSOCKS5ExampleAgainstDebianPptpd(t *testing.T) {
	serverStart(t)
	want := vmWeb(t)
	args := nstest.SOCKS5Example(t, "192.0.2.2", "test", "test", "127.0.0.1:1080")
	p := start(t, args[0], args[1:]...)
	if !nstest.WaitFor(30*time.Second, func() bool { return strings.Contains(p.log.String(), "SOCKS5 on") || p.exited() }) || p.exited() {
		t.Fatalf("the example did not come up:\n%s", p.log.String())
	}
	out, err := nstest.Output(ns, "curl", "-sS", "--max-time", "60", "--socks5-hostname", "127.0.0.1:1080", "-o", "-", "http://10.99.0.1:8080/blob")
	sum := sha256.Sum256([]byte(out))
	if err != nil || hex.EncodeToString(sum[:]) != want {
		t.Fatalf("curl through the example: %v, %d bytes\n%s", err, len(out), p.log.String())
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("exit status %d after SIGINT:\n%s", code, p.log.String())
	}
}
