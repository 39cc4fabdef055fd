// SPDX-License-Identifier: MIT

package pppconf

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const chapSecrets = `# Secrets for authentication using CHAP
# client	server	secret			IP addresses
alice		*	"wild server"		*
alice		vpn	"exact both"		10.0.0.5
*		vpn	"wild client"
*		*	"any"
bob		vpn	first			-
bob		vpn	second
CORP\\carol	work	"pass with \"quote\""	*
`

func TestSecretsMatching(t *testing.T) {
	es, err := ParseSecrets("cs", []byte(chapSecrets))
	if err != nil {
		t.Fatal(err)
	}
	s := &Secrets{Path: "cs", Entries: es}
	for _, tc := range []struct{ client, server, want string }{
		{"alice", "vpn", "exact both"},    // exact beats wildcards, wherever it is
		{"alice", "other", "wild server"}, // exact client beats exact server
		{"dave", "vpn", "wild client"},
		{"dave", "other", "any"},
		{"bob", "vpn", "first"}, // equal rank: first record wins
		{`CORP\carol`, "work", `pass with "quote"`},
	} {
		e, ok := s.Lookup(tc.client, tc.server)
		if !ok || e.Secret != tc.want {
			t.Errorf("Lookup(%q,%q) = %q %v, want %q", tc.client, tc.server, e.Secret, ok, tc.want)
		}
	}
	e, _ := s.Lookup("alice", "vpn")
	if !reflect.DeepEqual(e.IPs, []string{"10.0.0.5"}) || e.Line != 4 {
		t.Errorf("ips %q line %d", e.IPs, e.Line)
	}
	if strings.Contains(fmt.Sprint(e), "exact") || strings.Contains(fmt.Sprintf("%#v", e), "exact") {
		t.Error("secret printed")
	}
	noWild := &Secrets{Entries: es[1:2]}
	if _, ok := noWild.Lookup("alice", "other"); ok {
		t.Error("matched a different server")
	}
	secret := s.ForServer("vpn")
	if v, ok := secret("bob"); !ok || v != "first" {
		t.Error("ForServer")
	}
}

func TestSecretsErrors(t *testing.T) {
	for in, want := range map[string]string{
		"alice vpn\nbob vpn x\n":    `cs:1: secrets record needs client, server and secret (and optional addresses)`,
		"alice vpn \"unterminated":  `cs:1: unterminated quoted string`,
		"a b c\n\n\nx\n":            `cs:4: secrets record needs client, server and secret (and optional addresses)`,
		"a b c\\\n d e\n":           ``, // continuation: one record with addresses d e
		"# only comments\n\n  \t\n": ``,
	} {
		_, err := ParseSecrets("cs", []byte(in))
		if (err == nil) != (want == "") || (err != nil && err.Error() != want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

func TestLookupSecretFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "chap-secrets")
	writeFile(t, filepath.Join(dir, "pw"), "from-file\n", 0o600)
	writeFile(t, p, chapSecrets+"eve vpn @"+filepath.Join(dir, "pw")+"\n", 0o600)
	sec, ips, err := LookupSecret(p, "alice", "vpn")
	if err != nil || sec != "exact both" || len(ips) != 1 {
		t.Fatal(sec, ips, err)
	}
	if sec, _, err := LookupSecret(p, "eve", "vpn"); err != nil || sec != "from-file" {
		t.Fatal(sec, err)
	}
	writeFile(t, p, "alice vpn x\n", 0o600)
	if _, _, err := LookupSecret(p, "bob", "vpn"); !errors.Is(err, ErrNoSecret) || !strings.Contains(err.Error(), `client "bob" server "vpn"`) {
		t.Fatal(err)
	}
	s, _ := ReadSecrets(p)
	if s.Warning != "" {
		t.Error("warning for 0600")
	}
	os.Chmod(p, 0o640)
	s, _ = ReadSecrets(p)
	if !strings.Contains(s.Warning, "mode 0640") {
		t.Errorf("warning %q", s.Warning)
	}
}

// poptop's samples/pptpd.conf with its commented-out examples enabled.
const poptopSample = `###############################################################################
# Sample Poptop configuration file /etc/pptpd.conf
###############################################################################
# TAG: ppp
#ppp /usr/sbin/pppd
option /etc/ppp/options.pptpd
# TAG: debug
debug
stimeout 20
noipparam
logwtmp
connections 7
localip 192.168.0.1
remoteip 192.168.0.234-238,192.168.0.245
`

func TestPPTPDConfSample(t *testing.T) {
	c, err := ParsePPTPDConfData("/etc/pptpd.conf", []byte(poptopSample))
	if err != nil {
		t.Fatal(err)
	}
	if c.Option != "/etc/ppp/options.pptpd" || !c.Debug || c.StartTimeout != 20*time.Second || !c.NoIPParam ||
		!c.LogWTMP || c.Connections != 7 || c.PidFile != DefaultPPTPDPidFile || c.Listen.IsValid() || c.IsSet("ppp") {
		t.Errorf("%+v", c)
	}
	pairs, notes, err := c.Pairs()
	if err != nil || len(pairs) != 6 {
		t.Fatal(pairs, err)
	}
	for i, r := range []string{"192.168.0.234", "192.168.0.235", "192.168.0.236", "192.168.0.237", "192.168.0.238", "192.168.0.245"} {
		if pairs[i] != (AddrPair{netip.MustParseAddr("192.168.0.1"), netip.MustParseAddr(r)}) {
			t.Errorf("pair %d %v", i, pairs[i])
		}
	}
	if len(notes) != 1 || notes[0] != "maximum of 7 connections reduced to 6, not enough IP addresses given" {
		t.Errorf("notes %q", notes)
	}
	if len(c.Notes) != 1 || !strings.Contains(c.Notes[0], "logwtmp") {
		t.Errorf("conf notes %q", c.Notes)
	}
}

func TestPPTPDConfDefaultsAndPairs(t *testing.T) {
	c, err := ParsePPTPDConfData("p", []byte("localip 192.168.0.234-238,192.168.0.245\nremoteip 192.168.1.234-238,192.168.1.245\nlisten 10.1.1.1\nppp /usr/sbin/pppd\nspeed 115200\npidfile /run/p.pid\nlocalip 1.1.1.1 # again\n"))
	if err != nil {
		t.Fatal(err)
	}
	pairs, _, _ := c.Pairs()
	if len(pairs) != 6 || pairs[5] != (AddrPair{netip.MustParseAddr("192.168.0.245"), netip.MustParseAddr("192.168.1.245")}) ||
		pairs[0].Local != netip.MustParseAddr("192.168.0.234") {
		t.Errorf("%v", pairs)
	}
	if c.Listen != netip.MustParseAddr("10.1.1.1") || c.PidFile != "/run/p.pid" || c.Speed != "115200" || c.PPP != "/usr/sbin/pppd" {
		t.Errorf("%+v", c)
	}
	if len(c.Notes) != 2 || !strings.Contains(c.Notes[0], "ppp /usr/sbin/pppd ignored") || c.Notes[1] != `p:7: "localip" repeated; the first one (line 1) is used, as poptop does` {
		t.Errorf("%q", c.Notes)
	}
	d := DefaultPPTPDConf()
	pairs, notes, _ := d.Pairs()
	if len(pairs) != 100 || pairs[99] != (AddrPair{netip.MustParseAddr("192.168.0.100"), netip.MustParseAddr("192.168.1.100")}) || len(notes) != 0 {
		t.Errorf("defaults %v %q", pairs[99], notes)
	}
	// Connections below the list: extra addresses ignored.
	pairs, notes, _ = ExpandPairs(d.LocalIP[:1], d.RemoteIP, 3)
	if len(pairs) != 3 || pairs[2].Local != d.LocalIP[0] || len(notes) != 1 {
		t.Errorf("%v %q", pairs, notes)
	}
	// Fewer locals than remotes (and more than one): calls limited by the locals.
	pairs, _, _ = ExpandPairs(d.LocalIP[:2], d.RemoteIP[:5], 100)
	if len(pairs) != 2 {
		t.Errorf("%v", pairs)
	}
	if _, _, err := ExpandPairs(nil, d.RemoteIP, 1); err == nil {
		t.Error("empty local accepted")
	}
}

func TestParseIPList(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.1":            "10.0.0.1",
		"10.0.0.1-3,10.0.0.9": "10.0.0.1 10.0.0.2 10.0.0.3 10.0.0.9",
		"192.168-170.1.231":   "192.168.1.231 192.169.1.231 192.170.1.231",
		"10.0.0.5-5":          "10.0.0.5",
		"10.0.0.100-99":       "error: bad address range \"10.0.0.100-99\": 100-99 runs backwards",
		"10.0.0.1-300":        `error: bad address range "10.0.0.1-300"`,
		"10.0.0.1-2-3":        `error: bad address range "10.0.0.1-2-3" (one octet may be a range, e.g. 192.168.0.10-20)`,
		"10.0.0.1,,10.0.0.2":  `error: empty entry in address list "10.0.0.1,,10.0.0.2"`,
		"vpn.example":         `error: bad IPv4 address "vpn.example"`,
		"10.0.0.0/24":         `error: bad IPv4 address "10.0.0.0/24"`,
		"10.0.0.1 , 10.0.0.2": `error: bad IPv4 address "10.0.0.1 "`,
		"10.0.0.1-10.0.0.3":   `error: bad address range "10.0.0.1-10.0.0.3" (one octet may be a range, e.g. 192.168.0.10-20)`,
	} {
		l, err := ParseIPList(in)
		got := ""
		if err != nil {
			got = "error: " + err.Error()
		} else {
			var s []string
			for _, a := range l {
				s = append(s, a.String())
			}
			got = strings.Join(s, " ")
		}
		if got != want {
			t.Errorf("%q: %s, want %s", in, got, want)
		}
	}
}

func TestPPTPDConfErrors(t *testing.T) {
	for in, want := range map[string]string{
		"debug\nbcrelay eth1\n":   `c:2: keyword "bcrelay" is not supported by this pptpd`,
		"delegate":                `c:1: keyword "delegate" is not supported by this pptpd`,
		"vrf red":                 `c:1: keyword "vrf" is not supported by this pptpd`,
		"remoteip 10.0.0.1-x":     `c:1: remoteip: bad address range "10.0.0.1-x"`,
		"\n\nlocalp 10.0.0.1":     `c:3: unknown keyword "localp"; did you mean "localip"?`,
		"stimeout 0":              `c:1: keyword "stimeout" needs a positive number, got "0"`,
		"connections many":        `c:1: keyword "connections" needs a positive number, got "many"`,
		"listen 10.0.0.300":       `c:1: keyword "listen": "10.0.0.300" is not an IPv4 or IPv6 address`,
		"\nlisten fe80::1":        `c:2: keyword "listen": link-local address fe80::1 needs its zone, the interface (as in fe80::1%eth0)`,
		"debug yes":               `c:1: keyword "debug" takes no value, got "yes"`,
		"option":                  `c:1: keyword "option" needs a value`,
		"debug\ngre-tx raw":       `c:2: gre-tx must be "auto" or "ip", got "raw"`,
		"gre-own-sockets -1":      `c:1: keyword "gre-own-sockets" needs a number from 0 to 1024, got "-1"`,
		"gre-own-sockets 2000":    `c:1: keyword "gre-own-sockets" needs a number from 0 to 1024, got "2000"`,
		strings.Repeat("x", 5000): `c:1: line longer than 4096 bytes`,
	} {
		_, err := ParsePPTPDConfData("c", []byte(in))
		if err == nil || err.Error() != want {
			t.Errorf("%.30q: %v, want %s", in, err, want)
		}
	}
	for in, want := range map[string]string{
		"localip 10.0.0.1\nremoteip 10.0.0.1-3":          "c:2: remoteip 10.0.0.1 is also a localip address",
		"localip 10.0.0.1\nremoteip 10.0.0.5,10.0.0.2-5": "c:2: remoteip lists 10.0.0.5 twice",
	} {
		c, err := ParsePPTPDConfData("c", []byte(in))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.Pairs(); err == nil || err.Error() != want {
			t.Errorf("%q: %v, want %s", in, err, want)
		}
	}
	for in, want := range map[string]int{"": -1, "gre-own-sockets 0": 0, "gre-own-sockets 8": 8} {
		if c, err := ParsePPTPDConfData("c", []byte(in)); err != nil || c.GREOwn != want {
			t.Errorf("%q: GREOwn %d, %v; want %d", in, c.GREOwn, err, want)
		}
	}
	if _, err := ParsePPTPDConf("/nonexistent/pptpd.conf"); !errors.Is(err, os.ErrNotExist) {
		t.Error(err)
	}
}

func TestPPTPDConfListenIPv6(t *testing.T) {
	for in, want := range map[string]string{"listen ::": "::", "listen 2001:db8::1": "2001:db8::1", "listen fe80::1%eth0": "fe80::1%eth0", "listen ::ffff:10.0.0.1": "10.0.0.1"} {
		c, err := ParsePPTPDConfData("c", []byte(in+"\n"))
		if err != nil || c.Listen.String() != want {
			t.Errorf("%q: %v %v, want %s", in, c.Listen, err, want)
		}
	}
}
