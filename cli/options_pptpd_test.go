// SPDX-License-Identifier: MIT

package cli

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pptp-go/pptp/pppconf"
)

func TestPPTPDArgs(t *testing.T) {
	a, err := ParsePPTPDArgs([]string{"-f", "-c", "/tmp/p.conf", "--listen=10.0.0.1", "-C20", "-p", "/run/x.pid", "-d",
		"-o", "/etc/ppp/pptpd-options", "--stim", "5", "-e", "/usr/sbin/pppd", "-i", "-s", "115200", "-w"})
	if err != nil {
		t.Fatal(err)
	}
	want := PPTPDArgs{Conf: "/tmp/p.conf", Foreground: true, Listen: netip.MustParseAddr("10.0.0.1"), Connections: 20,
		PidFile: "/run/x.pid", Debug: true, Option: "/etc/ppp/pptpd-options", StartTimeout: 5 * time.Second,
		PPP: "/usr/sbin/pppd", NoIPParam: true, Speed: "115200", LogWTMP: true}
	want.set, want.Notes = a.set, a.Notes
	if !reflect.DeepEqual(*a, want) || len(a.Notes) != 1 || !strings.Contains(a.Notes[0], "--ppp /usr/sbin/pppd ignored") {
		t.Errorf("got  %+v\nwant %+v", *a, want)
	}
	c := pppconf.DefaultPPTPDConf()
	c.Connections, c.Debug = 50, false
	a.Merge(c)
	if c.Connections != 20 || !c.Debug || c.Listen != a.Listen || c.PidFile != "/run/x.pid" || c.StartTimeout != 5*time.Second ||
		c.Option != "/etc/ppp/pptpd-options" || !c.NoIPParam {
		t.Errorf("merge %+v", c)
	}
	d, _ := ParsePPTPDArgs(nil)
	c = pppconf.DefaultPPTPDConf()
	c.Connections = 7
	d.Merge(c)
	if d.Conf != pppconf.DefaultPPTPDConfPath || c.Connections != 7 {
		t.Error("defaults must not override the file")
	}
	for _, args := range [][]string{{"-h"}, {"--help", "-x"}, {"-dfh"}} {
		if a, err := ParsePPTPDArgs(args); err != nil || !a.Help {
			t.Errorf("%q: %v", args, err)
		}
	}
	if a, err := ParsePPTPDArgs([]string{"-v"}); err != nil || !a.Version {
		t.Error("-v", err)
	}
}

func TestPPTPDArgsErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"-x"}, "invalid option -- 'x'"},
		{[]string{"-c"}, "option requires an argument -- 'c'"},
		{[]string{"--conf"}, "option '--conf' requires an argument"},
		{[]string{"--bogus"}, "unrecognized option '--bogus'"},
		{[]string{"--listen", "host.example"}, `invalid listening address: "host.example" is not an IPv4 or IPv6 address`},
		{[]string{"--listen", "fe80::1"}, `invalid listening address: link-local address fe80::1 needs its zone, the interface (as in fe80::1%eth0)`},
		{[]string{"-C", "0"}, `--connections needs a positive number, got "0"`},
		{[]string{"-t", "x"}, `--stimeout needs a positive number of seconds, got "x"`},
		{[]string{"-b", "eth1"}, "--bcrelay is not supported by this pptpd"},
		{[]string{"--delegate"}, "--delegate is not supported by this pptpd"},
		{[]string{"-V", "red"}, "--vrf is not supported by this pptpd"},
		{[]string{"extra"}, `unexpected argument "extra" (pptpd takes only options)`},
		{[]string{"--fg=1"}, "option '--fg' doesn't allow an argument"},
		{[]string{"--gre-tx", "fast"}, `--gre-tx must be "auto" or "ip", got "fast"`},
	} {
		_, err := ParsePPTPDArgs(tc.args)
		if exitCode(err) != 1 || err.Error() != tc.msg {
			t.Errorf("%q: %v, want %s", tc.args, err, tc.msg)
		}
	}
}

func TestPPTPDUsage(t *testing.T) {
	u := PPTPDUsage()
	for _, o := range pptpdOpts {
		if o.help != "" && !strings.Contains(u, "--"+o.name) {
			t.Errorf("help lacks --%s", o.name)
		}
	}
}
