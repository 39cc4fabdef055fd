// SPDX-License-Identifier: MIT

package cli

import (
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pptp-go/pptp/pppconf"
)

// pptpLinuxCases are command lines with pptp-linux 1.10.0's outcome: exit 0 = parsed and
// went on to resolve the host ("ok"), 1 = usage error, 2 = bad value. The host 256.1.1.1
// cannot resolve, so the real binary stops right after parsing.
var pptpLinuxCases = []struct {
	args []string
	code int
}{
	{[]string{}, 1},
	{[]string{"256.1.1.1"}, 0},
	{[]string{"--nolaunch", "256.1.1.1"}, 0},
	{[]string{"--nolaunchpppd"}, 1}, // no host
	{[]string{"256.1.1.1", "--nolaunchpppd", "--loglevel", "0", "--logstring", "nm-pptp-service-1", "noauth"}, 0},
	{[]string{"--no", "256.1.1.1"}, 0},      // --nolaunchpppd, --nobuffer, --nohostroute: glibc takes the first
	{[]string{"--lo", "x", "256.1.1.1"}, 0}, // --logstring
	{[]string{"--t", "1", "256.1.1.1"}, 0},  // --timeout
	{[]string{"--te", "1", "256.1.1.1"}, 0}, // --test-type
	{[]string{"--foo", "256.1.1.1"}, 1},
	{[]string{"-x", "256.1.1.1"}, 1},
	{[]string{"--phone"}, 1},
	{[]string{"256.1.1.1", "--phone"}, 1},
	{[]string{"--phone=123", "256.1.1.1"}, 0},
	{[]string{"--nobuffer=1", "256.1.1.1"}, 1},
	{[]string{"--timeout", "20", "256.1.1.1"}, 2},
	{[]string{"--timeout=0.001", "256.1.1.1"}, 2},
	{[]string{"--timeout", "0.0099", "256.1.1.1"}, 2}, // float32 rounding puts it below the limit
	{[]string{"--timeout", "0.00991", "256.1.1.1"}, 0},
	{[]string{"--timeout", "10", "256.1.1.1"}, 0},
	{[]string{"--timeout", "10.000001", "256.1.1.1"}, 2},
	{[]string{"--timeout", "abc", "256.1.1.1"}, 2},
	{[]string{"--timeout", "-1", "256.1.1.1"}, 2},
	{[]string{"--idle-wait", "-1", "256.1.1.1"}, 2},
	{[]string{"--idle-wait", "0", "256.1.1.1"}, 0},
	{[]string{"--max-echo-wait", "-1", "256.1.1.1"}, 2},
	{[]string{"--missing-window", "0", "256.1.1.1"}, 2},
	{[]string{"--missing-window", "-5", "256.1.1.1"}, 2},
	{[]string{"--missing-window", "6000", "256.1.1.1"}, 0},
	{[]string{"--loglevel", "3", "256.1.1.1"}, 1},
	{[]string{"--loglevel", "-1", "256.1.1.1"}, 1},
	{[]string{"--quirks", "FOO", "256.1.1.1"}, 1},
	{[]string{"--quirks", "BEZEQ_ISRAEL", "256.1.1.1"}, 0},
	{[]string{"--localbind", "1.2.3", "256.1.1.1"}, 2},
	{[]string{"--localbind", "10.0.0.1", "256.1.1.1"}, 0},
	{[]string{"--rtmark", "7", "256.1.1.1"}, 0},
	{[]string{"256.1.1.1", "--", "--nolaunchpppd"}, 0}, // after -- it is a pppd word
	{[]string{"--", "256.1.1.1", "noauth"}, 0},
	{[]string{"--timeout", "20", "--version"}, 2}, // the first problem wins
	{[]string{"--version", "--timeout", "20"}, 0},
	{[]string{"--ver"}, 0},
}

func exitCode(err error) int {
	var ue *UsageError
	if err == nil {
		return 0
	}
	if errors.As(err, &ue) {
		return ue.Code
	}
	return -1
}

func TestPPTPLinuxCompat(t *testing.T) {
	for _, tc := range pptpLinuxCases {
		_, err := ParsePPTPArgs(tc.args)
		if got := exitCode(err); got != tc.code {
			t.Errorf("pptp %q: code %d (%v), pptp-linux %d", tc.args, got, err, tc.code)
		}
	}
}

// TestPPTPLinuxBinary checks the table itself against the real pptp-linux when installed.
func TestPPTPLinuxBinary(t *testing.T) {
	bin, err := exec.LookPath("/usr/sbin/pptp")
	if err != nil {
		t.Skip("pptp-linux not installed")
	}
	if out, _ := exec.Command(bin, "--version").Output(); !strings.Contains(string(out), "1.10.0") {
		t.Skipf("not pptp-linux 1.10.0: %q", out)
	}
	for _, tc := range pptpLinuxCases {
		cmd := exec.Command(bin, tc.args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		code := cmd.ProcessState.ExitCode()
		if code == 1 && strings.Contains(stderr.String(), "fatal[get_ip_address") {
			code = 0 // parsed fine, then failed to resolve the host
		}
		if code != tc.code {
			t.Errorf("pptp-linux %q: exit %d (%v, %q), table says %d", tc.args, code, err, stderr.String(), tc.code)
		}
	}
}

func TestPPTPArgsValues(t *testing.T) {
	a, err := ParsePPTPArgs(strings.Fields(`--phone 555 vpn.example --nolaunch --quirks=BEZEQ_ISRAEL --debug --sync
		--timeout 0.5 --nobuffer --idle-wait 30 --max-echo-wait 5 --logstring tag --localbind 192.0.2.1
		--rtmark 9 --nohostroute --loglevel 2 --test-type 1 --test-rate 50 --missing-window 100
		--client-hostname me --pidfile /run/p.pid noauth file /etc/ppp/options.pptp`))
	if err != nil {
		t.Fatal(err)
	}
	want := &PPTPArgs{Host: "vpn.example", Server: "vpn.example", PPPDWords: []string{"noauth", "file", "/etc/ppp/options.pptp"},
		Phone: "555", NoLaunchPPPD: true, Quirks: "BEZEQ_ISRAEL", Debug: true, Sync: true,
		Timeout: 500 * time.Millisecond, NoBuffer: true, IdleWait: 30 * time.Second, MaxEchoWait: 5 * time.Second,
		LogString: "tag", LocalBind: netip.MustParseAddr("192.0.2.1"), RTMark: 9, NoHostRoute: true, LogLevel: 2,
		TestType: 1, TestRate: 50, MissingWindow: 100, ClientHostname: "me", PidFile: "/run/p.pid",
		Warnings: []string{"--missing-window 100 is very low (6000 recommended); applied anyway"}}
	want.set = a.set
	if !reflect.DeepEqual(a, want) {
		t.Errorf("got  %+v\nwant %+v", a, want)
	}
	if !a.IsSet("nolaunchpppd") || !a.IsSet("timeout") || a.IsSet("version") || a.Mode() != PPTPModePty {
		t.Error("IsSet/Mode")
	}
	d, _ := ParsePPTPArgs([]string{"h"})
	if d.Timeout != 300*time.Millisecond || d.IdleWait != time.Minute || d.MaxEchoWait != 0 ||
		d.LogLevel != 1 || d.LogString != "anon" || d.TestRate != 100 || d.MissingWindow != 0 || d.Mode() != PPTPModeBuiltin || d.IsSet("timeout") {
		t.Errorf("defaults %+v", d)
	}
}

func TestPPTPBuiltinOptions(t *testing.T) {
	a, err := ParsePPTPArgs(strings.Fields(`vpn --user alice --password-file /etc/pw --require-mppe-128 --refuse-pap
		--ifname vpn0 --route 10.0.0.0/8 --route=172.16.0.0/12 --defaultroute --usepeerdns --mtu 1400 --debug
		--set-mppe-key ` + strings.Repeat("00", 16) + ` --socks 127.0.0.1:1080 mtu 1300 user bob nodefaultroute`))
	if err != nil {
		t.Fatal(err)
	}
	if !a.Debug || a.PPP.Debug {
		t.Error("--debug must be pptp's")
	}
	if a.PPP.User != "alice" || !a.PPP.RequireMPPE128 || !a.PPP.RefusePAP || a.PPP.IfName != "vpn0" || len(a.PPP.Routes) != 2 ||
		!a.PPP.DefaultRoute || a.PPP.MTU != 1400 || a.PPP.SOCKS != "127.0.0.1:1080" || !a.IsSet("route") {
		t.Errorf("%+v", a.PPP)
	}
	old := pppconf.PPPDir
	pppconf.PPPDir = t.TempDir()
	t.Cleanup(func() { pppconf.PPPDir = old })
	os.WriteFile(filepath.Join(pppconf.PPPDir, "options"), []byte("lcp-echo-interval 7\nmtu 1200\n"), 0o644)
	o, err := a.BuiltinOptions()
	if err != nil {
		t.Fatal(err)
	}
	// defaults file < pppd words < --flags
	if o.LCPEchoInterval != 7 || o.MTU != 1400 || o.User != "alice" || !o.DefaultRoute || len(o.Routes) != 2 {
		t.Errorf("%+v", o)
	}
	a, _ = ParsePPTPArgs([]string{"vpn", "requre-mppe"})
	if _, err := a.PPPOptions(false); err == nil || err.Error() != `command line: unknown option "requre-mppe"; did you mean "require-mppe"?` {
		t.Error(err)
	}
}

func TestPPTPCallPeers(t *testing.T) {
	old := pppconf.PPPDir
	pppconf.PPPDir = t.TempDir()
	t.Cleanup(func() { pppconf.PPPDir = old })
	os.MkdirAll(filepath.Join(pppconf.PPPDir, "peers"), 0o755)
	os.WriteFile(filepath.Join(pppconf.PPPDir, "peers", "work"), []byte(
		"pty \"/usr/sbin/pptp vpn.example.com --nolaunchpppd --loglevel 0\"\nlock\nnoauth\nnobsdcomp\nnodeflate\nname CORP\\\\alice\nremotename work\nipparam work\nrequire-mppe-128\n"), 0o600)
	os.WriteFile(filepath.Join(pppconf.PPPDir, "peers", "nopty"), []byte("noauth\n"), 0o600)
	a, err := ParsePPTPArgs([]string{"call", "work", "--ifname", "vpn0"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Host != "" || a.Server != "vpn.example.com" || len(a.Warnings) != 1 || !strings.Contains(a.Warnings[0], "--loglevel") {
		t.Errorf("%+v", a)
	}
	o, err := a.PPPOptions(false)
	if err != nil || o.Name != `CORP\alice` || o.RemoteName != "work" || !o.RequireMPPE128 || o.IfName != "vpn0" {
		t.Errorf("%+v %v", o, err)
	}
	for _, name := range []string{"nopty", "absent"} {
		if _, err := ParsePPTPArgs([]string{"call", name}); exitCode(err) != 1 {
			t.Errorf("call %s: %v", name, err)
		}
	}
}

func TestPPTPArgsMessages(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 1, "missing server host name"},
		{[]string{"--foo", "h"}, 1, "unrecognized option '--foo'"},
		{[]string{"--requre-mppe-128", "h"}, 1, "unrecognized option '--requre-mppe-128' (did you mean '--require-mppe-128'?)"},
		{[]string{"--re", "h"}, 1, "option '--re' is ambiguous; possibilities: '--remotename' '--refuse-pap' '--refuse-chap' '--refuse-mschap' '--refuse-mschap-v2' '--refuse-eap' '--require-pap' '--require-chap' '--require-mschap' '--require-mschap-v2' '--require-mppe' '--require-mppe-40' '--require-mppe-128'"},
		{[]string{"-V"}, 1, "invalid option -- 'V'"},
		{[]string{"--phone"}, 1, "option '--phone' requires an argument"},
		{[]string{"--nobuffer=1", "h"}, 1, "option '--nobuffer' doesn't allow an argument"},
		{[]string{"--timeout", "20", "h"}, 2, "Packet timeout 20 (20.000000) out of range: should be between 0.01 and 10 seconds"},
		{[]string{"--idle-wait", "-1", "h"}, 2, "--idle-wait must not be negative"},
		{[]string{"--idle-wait", "abc", "h"}, 2, `--idle-wait needs a whole number of seconds, got "abc"`},
		{[]string{"--max-echo-wait", "-1", "h"}, 2, "--max-echo-wait must not be negative"},
		{[]string{"--missing-window", "0", "h"}, 2, "--missing-window must be integer greater than zero"},
		{[]string{"--localbind", "1.2.3", "h"}, 2, "Local bind address 1.2.3 invalid"},
		{[]string{"--loglevel", "3", "h"}, 1, `--loglevel must be 0, 1 or 2, got "3"`},
		{[]string{"--quirks", "FOO", "h"}, 1, `unknown quirk "FOO": only BEZEQ_ISRAEL is recognised`},
		{[]string{"--rtmark", "-1", "h"}, 2, "--rtmark must be between 0 and 4294967295, got -1"},
		{[]string{"--phone", strings.Repeat("9", 65), "h"}, 2, "--phone must be at most 64 bytes"},
		{[]string{"--client-hostname", strings.Repeat("a", 64), "h"}, 2, "--client-hostname must be at most 63 bytes"},
		{[]string{"--mtu", "abc", "h"}, 2, `option "mtu" needs a number, got "abc"`},
		{[]string{"--route", "10.0.0.0", "h"}, 2, `option "route" needs an IPv4 network like 10.0.0.0/8, got "10.0.0.0"`},
		{[]string{"--pppd", `"unterminated`, "h"}, 2, "--pppd: unterminated quoted string"},
		{[]string{"--nolaunchpppd", "--launch-pppd", "h"}, 1, "--nolaunchpppd and --launch-pppd exclude each other"},
		{[]string{"--send-window", "-1", "h"}, 2, "--send-window must be between 0 and 65535, got -1"},
		{[]string{"--gre-tx", "raw", "h"}, 2, `--gre-tx must be "auto" or "ip", got "raw"`},
	} {
		_, err := ParsePPTPArgs(tc.args)
		if exitCode(err) != tc.code || err.Error() != tc.msg {
			t.Errorf("%q: %d %q\nwant %d %q", tc.args, exitCode(err), err, tc.code, tc.msg)
		}
	}
}

func TestPPTPArgsParsing(t *testing.T) {
	a, err := ParsePPTPArgs([]string{"-h", "--foo"})
	if err != nil || !a.Help {
		t.Fatal("-h", err)
	}
	if a, _ := ParsePPTPArgs([]string{"--he"}); !a.Help {
		t.Error("--he")
	}
	if a, _ := ParsePPTPArgs([]string{"--h"}); !a.Help {
		t.Error("--h") // --help is the only pptp-linux-lineage option starting with h
	}
	a, err = ParsePPTPArgs([]string{"h", "--launch-pppd", "--pppd", `user "a b" debug`, "noauth", "--", "-detach"})
	if err != nil || a.Mode() != PPTPModeLaunch || !reflect.DeepEqual(a.PPPD, []string{"user", "a b", "debug"}) ||
		!reflect.DeepEqual(a.PPPDWords, []string{"noauth", "-detach"}) {
		t.Errorf("%+v %v", a, err)
	}
	a, _ = ParsePPTPArgs([]string{"h", "--nolaunchpppd", "--user", "x"})
	if len(a.Warnings) != 1 || !strings.Contains(a.Warnings[0], "--user and other built-in PPP options are ignored in pty") {
		t.Errorf("%q", a.Warnings)
	}
	// NetworkManager-pptp's pty command.
	a, err = ParsePPTPArgs([]string{"192.0.2.7", "--nolaunchpppd", "--loglevel", "0", "--logstring", "nm-pptp-service-4242"})
	if err != nil || a.Host != "192.0.2.7" || a.LogLevel != 0 || a.LogString != "nm-pptp-service-4242" || a.Mode() != PPTPModePty || len(a.Warnings) != 0 {
		t.Errorf("%+v %v", a, err)
	}
}

func TestPPTPUsage(t *testing.T) {
	u := PPTPUsage()
	for _, info := range pppconf.Table() {
		if !strings.Contains(u, "--"+info.Name) {
			t.Errorf("help lacks --%s", info.Name)
		}
	}
	for _, o := range pptpLinuxOpts {
		if !strings.Contains(u, "--"+o.name) {
			t.Errorf("help lacks --%s", o.name)
		}
	}
	if !strings.Contains(u, "default 0.3") || !strings.Contains(u, "Proxy mode") {
		t.Error("defaults or groups missing")
	}
}

func BenchmarkParsePPTPArgs(b *testing.B) {
	args := []string{"192.0.2.7", "--nolaunchpppd", "--loglevel", "0", "--logstring", "nm-pptp-service-4242"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParsePPTPArgs(args); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSendWindowOption: unset keeps the peer's window, 0 lifts the limit, N is N.
func TestSendWindowOption(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"h"}, 0},
		{[]string{"--send-window", "0", "h"}, -1},
		{[]string{"--send-window=200", "h"}, 200},
	} {
		a, err := ParsePPTPArgs(tc.args)
		if err != nil {
			t.Fatal(err)
		}
		if got := dialConfig(a, nil).Link.SendWindow; got != tc.want {
			t.Errorf("%q: DialConfig.Link.SendWindow %d, want %d", tc.args, got, tc.want)
		}
	}
}
