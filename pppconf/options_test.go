// SPDX-License-Identifier: MIT

package pppconf

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestTokenize(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
		lines    []int
	}{
		{"plain", "lock noauth\n  mtu 1400\n", []string{"lock", "noauth", "mtu", "1400"}, []int{1, 1, 2, 2}},
		{"comment", "# header\nlock # trailing\n#x y\nnoauth", []string{"lock", "noauth"}, []int{2, 4}},
		{"hash inside word", "name a#b", []string{"name", "a#b"}, nil},
		{"double quotes", `pty "/usr/sbin/pptp vpn --nolaunchpppd"`, []string{"pty", "/usr/sbin/pptp vpn --nolaunchpppd"}, nil},
		{"single quotes", `password 'a b"c'`, []string{"password", `a b"c`}, nil},
		{"mid-word quotes", `a"b c"d`, []string{"ab cd"}, nil},
		{"empty quoted", `ipparam ""`, []string{"ipparam", ""}, nil},
		{"escapes", `x\sy \t\x41\101\\ \"q`, []string{"x y", "\tAA\\", `"q`}, nil},
		{"escape in quotes", `"a\"b"`, []string{`a"b`}, nil},
		{"backslash space", `a\ b`, []string{"a b"}, nil},
		{"continuation", "mtu \\\n1400\nlock", []string{"mtu", "1400", "lock"}, []int{1, 2, 3}},
		{"continuation in word", "ab\\\ncd x", []string{"abcd", "x"}, []int{1, 2}},
		{"multi-line quote", "name \"a\nb\" lock", []string{"name", "a\nb", "lock"}, []int{1, 1, 2}},
		{"crlf", "lock\r\nnoauth\r\n", []string{"lock", "noauth"}, []int{1, 2}},
		{"bad hex", `\xg`, []string{"xg"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws, err := Tokenize("f", []byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			var lines []int
			for _, w := range ws {
				got = append(got, w.Text)
				lines = append(lines, w.Line)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("words %q, want %q", got, tc.want)
			}
			if tc.lines != nil && !reflect.DeepEqual(lines, tc.lines) {
				t.Errorf("lines %v, want %v", lines, tc.lines)
			}
		})
	}
}

func TestTokenizeErrors(t *testing.T) {
	for in, want := range map[string]string{
		"lock\nname \"abc\n\n":             `f:2: unterminated quoted string`,
		"lock 'x":                          `f:1: unterminated quoted string`,
		"lock\\":                           `f:1: backslash at end of file`,
		strings.Repeat("a", 2000):          `f:1: word longer than 1024 bytes`,
		"x \"" + strings.Repeat("a", 1500): `f:1: word longer than 1024 bytes`,
	} {
		_, err := Tokenize("f", []byte(in))
		if err == nil || err.Error() != want {
			t.Errorf("Tokenize(%.20q) = %v, want %s", in, err, want)
		}
	}
}

// Every option in the table can be applied and is recorded as given.
func TestEveryOption(t *testing.T) {
	args := map[Kind]string{KindInt: "1400", KindHex32: "0", KindString: "x", KindIPv4: "10.0.0.1",
		KindPrefix: "10.0.0.0/8", KindHexKey: strings.Repeat("ab", 16), KindAddr: "127.0.0.1:1080"}
	for _, info := range Table() {
		if info.Kind == KindInclude {
			continue
		}
		var o Options
		var a []string
		if info.Kind.TakesArg() {
			a = []string{args[info.Kind]}
		}
		if info.Name == "plugin" {
			a = []string{"radius.so"}
		}
		n, err := o.Apply(info.Name, a)
		if err != nil || n != len(a) {
			t.Errorf("%s: consumed %d, err %v", info.Name, n, err)
		}
		if !o.IsSet(info.Name) {
			t.Errorf("%s: not recorded as set", info.Name)
		}
		if info.Help == "" {
			t.Errorf("%s: no help", info.Name)
		}
	}
}

func TestApplyValues(t *testing.T) {
	var o Options
	err := o.ParseWords(strings.Fields(`user DOM\alice name bob password pw remotename vpn
		require-mppe-128 mppe-stateful refuse-pap refuse-eap refuse-chap refuse-mschap
		mtu 1400 mru 1380 asyncmap a0000 lcp-echo-interval 30 lcp-echo-failure 4 persist maxfail 0
		holdoff 5 unit 3 ifname vpn0 linkname l ipparam p debug defaultroute usepeerdns noipdefault
		route 10.0.0.0/8 route 192.168.5.0/24 ms-dns 1.1.1.1 ms-dns 8.8.8.8 ms-dns 9.9.9.9
		10.0.0.1:10.0.0.2 noccp nodeflate nobsdcomp novj novjccomp nopcomp noaccomp status-file /run/s
		socks 127.0.0.1:1080 http-proxy [::1]:8080 lock nodetach noipv6 38400 auth noauth`), Source{})
	if err != nil {
		t.Fatal(err)
	}
	want := Options{User: `DOM\alice`, Name: "bob", Password: "pw", RemoteName: "vpn",
		RequireMPPE: true, RequireMPPE128: true, MPPEStateful: true, RefusePAP: true, RefuseEAP: true,
		RefuseCHAP: true, RefuseMSCHAP: true, MTU: 1400, MRU: 1380, Asyncmap: 0xa0000,
		LCPEchoInterval: 30, LCPEchoFailure: 4, Persist: true, MaxFail: 0, Holdoff: 5, Unit: 3,
		IfName: "vpn0", LinkName: "l", IPParam: "p", Debug: true, DefaultRoute: true, UsePeerDNS: true,
		NoIPDefault: true, Routes: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.5.0/24")},
		MSDNS:   []netip.Addr{netip.MustParseAddr("1.1.1.1"), netip.MustParseAddr("8.8.8.8")},
		LocalIP: netip.MustParseAddr("10.0.0.1"), RemoteIP: netip.MustParseAddr("10.0.0.2"),
		NoCCP: true, NoDeflate: true, NoBSDComp: true, NoVJ: true, NoVJCComp: true, NoPComp: true, NoACComp: true,
		StatusFile: "/run/s", SOCKS: "127.0.0.1:1080", HTTPProxy: "[::1]:8080", Lock: true, NoDetach: true, NoIPv6: true,
		Warnings: []string{"ms-dns: only two DNS servers can be offered; 9.9.9.9 ignored",
			"nopcomp is not supported and is ignored: protocol field compression is still negotiated (the peer may send 1-byte protocol fields; we send 2-byte ones)",
			"noaccomp is not supported and is ignored: address/control field compression is still negotiated (either side may leave out FF 03 on data frames)"}}
	want.given = o.given
	if !reflect.DeepEqual(o, want) {
		t.Errorf("got  %+v\nwant %+v", o, want)
	}
	if o.AuthName() != `DOM\alice` || !o.IsSet("maxfail") || o.IsSet("nomppe") || !o.IsSet("local:remote") {
		t.Error("AuthName/IsSet")
	}
	o.ParseWords([]string{"nodefaultroute", ":10.9.9.9", "noencrypt"}, Source{})
	if o.DefaultRoute || o.RemoteIP != netip.MustParseAddr("10.9.9.9") || !o.NoMPPE || o.IsSet("nomppe") || !o.IsSet("noencrypt") {
		t.Error("negation, half pair or alias")
	}
}

func TestApplyErrors(t *testing.T) {
	for _, tc := range []struct {
		words []string
		want  string
	}{
		{[]string{"requre-mppe"}, `unknown option "requre-mppe"; did you mean "require-mppe"?`},
		{[]string{"refuse-mschapv2"}, `unknown option "refuse-mschapv2"; did you mean "refuse-mschap-v2"?`},
		{[]string{"plugin", "x.so"}, `option "plugin": plugin "x.so" is not available (radius.so and radattr.so are built in)`},
		{[]string{"mtu", "abc"}, `option "mtu" needs a number, got "abc"`},
		{[]string{"mtu"}, `option "mtu" needs a number`},
		{[]string{"mtu", "70000"}, `option "mtu" must be between 128 and 16384, got 70000`},
		{[]string{"mru", "64"}, `option "mru" must be between 128 and 16384, got 64`},
		{[]string{"lcp-echo-interval", "-1"}, `option "lcp-echo-interval" must be between 0 and 1073741824, got -1`},
		{[]string{"asyncmap", "zz"}, `option "asyncmap" needs a hexadecimal number, got "zz"`},
		{[]string{"user"}, `option "user" needs a value`},
		{[]string{"ms-dns", "dns.example"}, `option "ms-dns" needs an IPv4 address, got "dns.example"`},
		{[]string{"ms-dns", "::1"}, `option "ms-dns" needs an IPv4 address, got "::1"`},
		{[]string{"route", "10.1.2.3/8"}, `option "route" needs an IPv4 network like 10.0.0.0/8, got "10.1.2.3/8" (host bits set; did you mean 10.0.0.0/8?)`},
		{[]string{"route", "10.0.0.0"}, `option "route" needs an IPv4 network like 10.0.0.0/8, got "10.0.0.0"`},
		{[]string{"socks", "1080"}, `option "socks" needs a listen address host:port, got "1080"`},
		{[]string{"socks", "localhost:0"}, `option "socks" needs a listen address host:port, got "localhost:0"`},
		{[]string{"set-mppe-key", "00112233445566778899aabbccddeeXX"}, `option "set-mppe-key" needs 32 or 64 hex digits`},
		{[]string{"10.0.0.1:bad"}, `bad local:remote IPv4 address pair "10.0.0.1:bad"`},
		{[]string{":"}, `bad local:remote IPv4 address pair ":"`},
		{[]string{"call", "../etc/x"}, `option "call": invalid peer name "../etc/x"`},
		{[]string{"file", "/nonexistent/x"}, `option "file": open /nonexistent/x: no such file or directory`},
	} {
		var o Options
		err := o.ParseWords(tc.words, Source{})
		var e *Error
		if !errors.As(err, &e) || err.Error() != tc.want {
			t.Errorf("%q: got %v, want %s", tc.words, err, tc.want)
		}
	}
}

// The key never appears in errors or warnings.
func TestSetMPPEKeyNotEchoed(t *testing.T) {
	var o Options
	bad := "deadbeefcafe0123456789abcdef01"
	if err := o.ParseWords([]string{"set-mppe-key", bad}, Source{}); err == nil || strings.Contains(err.Error(), bad) {
		t.Fatalf("error %v", err)
	}
	good := strings.Repeat("5a", 32)
	if err := o.ParseWords([]string{"set-mppe-key", good}, Source{}); err != nil {
		t.Fatal(err)
	}
	if len(o.SetMPPEKey) != 32 || len(o.Warnings) != 1 || strings.Contains(o.Warnings[0], good) {
		t.Fatalf("key %x warnings %q", o.SetMPPEKey, o.Warnings)
	}
}

func writeFile(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}

// The peers file pptpsetup writes (pptp-linux 1.10.0), read with `call`.
func TestPptpsetupPeersFile(t *testing.T) {
	dir := t.TempDir()
	old := PPPDir
	PPPDir = dir
	t.Cleanup(func() { PPPDir = old })
	writeFile(t, filepath.Join(dir, "peers", "work"), `# written by pptpsetup for PPTP tunnel work
pty "/usr/sbin/pptp vpn.example.com --nolaunchpppd"
lock
noauth
nobsdcomp
nodeflate
name CORP\\alice
remotename work
ipparam work
require-mppe-128
`, 0o600)
	writeFile(t, filepath.Join(dir, "options"), "asyncmap 0\nauth\ncrtscts\nlock\nhide-password\nmodem\nlcp-echo-interval 30\nlcp-echo-failure 4\nnoipx\n", 0o644)
	var o Options
	if ok, err := o.LoadDefaults(); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if err := o.Call("work"); err != nil {
		t.Fatal(err)
	}
	cmd, err := o.PtyCommand()
	if err != nil || !reflect.DeepEqual(cmd, []string{"/usr/sbin/pptp", "vpn.example.com", "--nolaunchpppd"}) {
		t.Fatalf("pty %q %v", cmd, err)
	}
	if o.Name != `CORP\alice` || o.AuthName() != `CORP\alice` || o.RemoteName != "work" || o.IPParam != "work" ||
		!o.RequireMPPE128 || !o.NoBSDComp || !o.NoDeflate || o.Auth || o.LCPEchoInterval != 30 || !o.Lock {
		t.Errorf("%+v", o)
	}
}

func TestIncludes(t *testing.T) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "c")
	writeFile(t, a, "lock\nfile "+b+"\n", 0o600)
	writeFile(t, b, "mtu 1300\n\nfile "+a+"\n", 0o600)
	writeFile(t, c, "noauth\n\n\nrequre-mppe\n", 0o600)
	var o Options
	err := o.ParseFile(a)
	want := b + ":3: option \"file\": include loop: " + a + " -> " + b + " -> " + a
	if err == nil || err.Error() != want {
		t.Errorf("loop: %v\nwant %s", err, want)
	}
	writeFile(t, b, "mtu 1300\nfile "+c+"\n", 0o600)
	err = o.ParseFile(a)
	want = c + `:4: unknown option "requre-mppe"; did you mean "require-mppe"?`
	if err == nil || err.Error() != want {
		t.Errorf("nested: %v\nwant %s", err, want)
	}
	writeFile(t, c, "mtu abc", 0o600)
	if err := o.ParseFile(c); err == nil || err.Error() != c+`:1: option "mtu" needs a number, got "abc"` {
		t.Error(err)
	}
	// /etc/ppp/peers/vpn:7 style message.
	old := PPPDir
	PPPDir = dir
	t.Cleanup(func() { PPPDir = old })
	writeFile(t, filepath.Join(dir, "peers", "vpn"), "lock\nnoauth\nnobsdcomp\nnodeflate\nname x\nremotename vpn\nrequre-mppe\n", 0o600)
	err = o.ParseWords([]string{"call", "vpn"}, Source{})
	if want := filepath.Join(dir, "peers", "vpn") + `:7: unknown option "requre-mppe"; did you mean "require-mppe"?`; err == nil || err.Error() != want {
		t.Errorf("call: %v", err)
	}
	if err := o.Call("absent"); err == nil || !strings.Contains(err.Error(), `option "call": open `) {
		t.Errorf("absent: %v", err)
	}
}

func TestLoadDefaultsAbsent(t *testing.T) {
	old := PPPDir
	PPPDir = t.TempDir()
	t.Cleanup(func() { PPPDir = old })
	var o Options
	if ok, err := o.LoadDefaults(); ok || err != nil {
		t.Fatal(ok, err)
	}
}

func TestSplitWords(t *testing.T) {
	got, err := SplitWords(`noauth user "a b" 'c\'`)
	if err == nil {
		t.Errorf("unterminated quote accepted: %q", got)
	}
	got, err = SplitWords(`noauth user "a b" mtu\ 1`)
	if err != nil || !reflect.DeepEqual(got, []string{"noauth", "user", "a b", "mtu 1"}) {
		t.Errorf("%q %v", got, err)
	}
}

func TestPasswordFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pw")
	writeFile(t, p, "s3cret\r\nignored\n", 0o644)
	os.Chmod(p, 0o644)
	pw, warn, err := ReadPasswordFile(p)
	if err != nil || pw != "s3cret" || !strings.Contains(warn, "mode 0644") || strings.Contains(warn, "s3cret") {
		t.Errorf("%q %q %v", pw, warn, err)
	}
	os.Chmod(p, 0o600)
	if _, warn, _ := ReadPasswordFile(p); warn != "" {
		t.Errorf("warning for 0600: %q", warn)
	}
}

func BenchmarkTokenize(b *testing.B) {
	data := []byte("pty \"/usr/sbin/pptp vpn --nolaunchpppd\"\nlock\nnoauth\nname CORP\\\\alice # me\nremotename vpn\nrequire-mppe-128\n")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Tokenize("f", data); err != nil {
			b.Fatal(err)
		}
	}
}

// Debian's stock /etc/ppp/pptpd-options (its uncommented lines) loads; proxyarp and ms-wins,
// which we do not do, are warned about instead of refused.
func TestDebianPPTPDOptions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pptpd-options")
	writeFile(t, path, `# Debian's pptpd-options, comments removed
name pptpd
refuse-pap
refuse-chap
refuse-mschap
require-mschap-v2
require-mppe-128
ms-dns 10.0.0.1
ms-wins 10.0.0.3
proxyarp
nodefaultroute
lock
nobsdcomp
novj
novjccomp
nologfd
`, 0o600)
	var o Options
	if err := o.ParseFile(path); err != nil {
		t.Fatal(err)
	}
	w := strings.Join(o.Warnings, "\n")
	if !strings.Contains(w, "proxyarp is not supported") || !strings.Contains(w, "ms-wins 10.0.0.3") || len(o.Warnings) != 2 {
		t.Fatalf("warnings:\n%s", w)
	}
	if !o.RequireMPPE128 || !o.RequireMSCHAPv2 || len(o.MSDNS) != 1 {
		t.Fatalf("%+v", o)
	}
}
