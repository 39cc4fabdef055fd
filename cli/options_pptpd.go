// SPDX-License-Identifier: MIT

package cli

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/pptp-go/pptp/pppconf"
)

// PPTPDArgs is the parsed pptpd command line (poptop 1.4.0 compatible). Values given here
// override pptpd.conf (see Merge).
type PPTPDArgs struct {
	Conf         string        // -c, --conf (default /etc/pptpd.conf)
	Foreground   bool          // -f, --fg
	Listen       netip.Addr    // -l, --listen
	Connections  int           // -C, --connections
	PidFile      string        // -p, --pidfile
	Debug        bool          // -d, --debug
	Version      bool          // -v, --version: parsing stopped there
	Help         bool          // -h, --help: parsing stopped there
	Option       string        // -o, --option: pppd options file
	StartTimeout time.Duration // -t, --stimeout
	PPP          string        // -e, --ppp (accepted, ignored: no pppd is started)
	NoIPParam    bool          // -i, --noipparam
	Speed        string        // -s, --speed (accepted, no effect)
	LogWTMP      bool          // -w, --logwtmp (accepted, no effect)

	ChapSecrets string // --chap-secrets (extension): secrets file (default /etc/ppp/chap-secrets)
	GRETx       string // --gre-tx (extension): "auto" or "ip"

	Notes []string // remarks to log at start (ignored options)

	metrics netip.AddrPort // pptpd.conf's metrics, kept by serverConfig

	set map[string]bool
}

// IsSet reports whether the long option name was given.
func (a *PPTPDArgs) IsSet(name string) bool { return a.set[name] }

type pptpdOpt struct {
	name  string
	short byte
	arg   string
	help  string
	set   func(a *PPTPDArgs, v string) error
}

var pptpdOpts = []pptpdOpt{
	{"chap-secrets", 0, "FILE", "CHAP secrets file (default /etc/ppp/chap-secrets)", func(a *PPTPDArgs, v string) error { a.ChapSecrets = v; return nil }},
	{"gre-tx", 0, "MODE", "auto (default): send GRE through a packet socket when safe; ip: always through the kernel's IP output", func(a *PPTPDArgs, v string) error {
		m, err := pppconf.ParseGRETx(v)
		if err != nil {
			return usageErr("--%v", err)
		}
		a.GRETx = m
		return nil
	}},
	{"conf", 'c', "FILE", "configuration file (default " + pppconf.DefaultPPTPDConfPath + ")", func(a *PPTPDArgs, v string) error { a.Conf = v; return nil }},
	{"debug", 'd', "", "log more (control messages, PPP negotiation)", func(a *PPTPDArgs, _ string) error { a.Debug = true; return nil }},
	{"ppp", 'e', "FILE", "accepted for compatibility and ignored: PPP is built in", func(a *PPTPDArgs, v string) error {
		a.PPP = v
		a.Notes = append(a.Notes, fmt.Sprintf("--ppp %s ignored: the built-in PPP engine is used, no pppd is started", v))
		return nil
	}},
	{"fg", 'f', "", "run in the foreground", func(a *PPTPDArgs, _ string) error { a.Foreground = true; return nil }},
	{"help", 'h', "", "show this help and exit", func(a *PPTPDArgs, _ string) error { a.Help = true; return errGetoptStop }},
	{"noipparam", 'i', "", "do not record the client's IP address as ipparam", func(a *PPTPDArgs, _ string) error { a.NoIPParam = true; return nil }},
	{"listen", 'l', "ADDR", "listen on this IPv4 or IPv6 address only (default all of both)", func(a *PPTPDArgs, v string) error {
		ip, err := pppconf.ParseListenAddr(v)
		if err != nil {
			return usageErr("invalid listening address: %v", err)
		}
		a.Listen = ip
		return nil
	}},
	{"option", 'o', "FILE", "pppd options file for every call (e.g. /etc/ppp/pptpd-options)", func(a *PPTPDArgs, v string) error { a.Option = v; return nil }},
	{"pidfile", 'p', "FILE", "process ID file (default " + pppconf.DefaultPPTPDPidFile + ")", func(a *PPTPDArgs, v string) error { a.PidFile = v; return nil }},
	{"speed", 's', "BAUD", "accepted for compatibility, no effect", func(a *PPTPDArgs, v string) error { a.Speed = v; return nil }},
	{"stimeout", 't', "SECS", "the first control message must arrive within SECS (default 10)", func(a *PPTPDArgs, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return usageErr("--stimeout needs a positive number of seconds, got %q", v)
		}
		a.StartTimeout = time.Duration(n) * time.Second
		return nil
	}},
	{"version", 'v', "", "print the version and exit", func(a *PPTPDArgs, _ string) error { a.Version = true; return errGetoptStop }},
	{"logwtmp", 'w', "", "accepted for compatibility, no effect", func(a *PPTPDArgs, _ string) error { a.LogWTMP = true; return nil }},
	{"connections", 'C', "N", "at most N simultaneous calls (default 100)", func(a *PPTPDArgs, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return usageErr("--connections needs a positive number, got %q", v)
		}
		a.Connections = n
		return nil
	}},
	{"bcrelay", 'b', "IF", "", pptpdUnsupported("bcrelay")},
	{"delegate", 'D', "", "", pptpdUnsupported("delegate")},
	{"vrf", 'V', "NAME", "", pptpdUnsupported("vrf")},
}

func pptpdUnsupported(name string) func(*PPTPDArgs, string) error {
	return func(*PPTPDArgs, string) error { return usageErr("--%s is not supported by this pptpd", name) }
}

var pptpdSpecs = func() []getoptSpec {
	specs := make([]getoptSpec, len(pptpdOpts))
	for i, o := range pptpdOpts {
		specs[i] = getoptSpec{name: o.name, hasArg: o.arg != "", short: o.short, compat: true}
	}
	return specs
}()

// ParsePPTPDArgs parses pptpd's arguments (without argv[0]). Every error is a *UsageError
// with Code 1, as poptop exits 1 on any command-line problem.
func ParsePPTPDArgs(args []string) (*PPTPDArgs, error) {
	a := &PPTPDArgs{Conf: pppconf.DefaultPPTPDConfPath, set: map[string]bool{}}
	ops, err := getoptLong(args, pptpdSpecs, func(s *getoptSpec, v string) error {
		a.set[s.name] = true
		for _, o := range pptpdOpts {
			if o.name == s.name {
				return o.set(a, v)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(ops) > 0 && !a.Help && !a.Version {
		return nil, usageErr("unexpected argument %q (pptpd takes only options)", ops[0])
	}
	return a, nil
}

// Merge overrides c with the values given on the command line.
func (a *PPTPDArgs) Merge(c *pppconf.PPTPDConf) {
	if a.IsSet("debug") {
		c.Debug = true
	}
	if a.IsSet("listen") {
		c.Listen = a.Listen
	}
	if a.IsSet("connections") {
		c.Connections = a.Connections
	}
	if a.IsSet("pidfile") {
		c.PidFile = a.PidFile
	}
	if a.IsSet("option") {
		c.Option = a.Option
	}
	if a.IsSet("stimeout") {
		c.StartTimeout = a.StartTimeout
	}
	if a.IsSet("noipparam") {
		c.NoIPParam = true
	}
	if a.IsSet("speed") {
		c.Speed = a.Speed
	}
	if a.IsSet("logwtmp") {
		c.LogWTMP = true
	}
	if a.IsSet("ppp") {
		c.PPP = a.PPP
	}
	if a.IsSet("gre-tx") {
		c.GRETx = a.GRETx
	}
}

// PPTPDUsage is the --help text.
func PPTPDUsage() string {
	var b strings.Builder
	b.WriteString(`Usage: pptpd [options]
       pptpd status [--json]         the running server's sessions
       pptpd kick USER|IP [--json]   end a user's sessions, or the one with that address

A PPTP server (RFC 2637) with PPP, MS-CHAPv2 and MPPE built in: no pppd, no kernel PPP.
Each call gets its own TUN interface. Command-line options override ` + pppconf.DefaultPPTPDConfPath + `.

Options:
`)
	for _, o := range pptpdOpts {
		if o.help == "" {
			continue
		}
		left := fmt.Sprintf("  -%c, --%s", o.short, o.name)
		if o.short == 0 {
			left = "      --" + o.name
		}
		if o.arg != "" {
			left += " " + o.arg
		}
		fmt.Fprintf(&b, "%-28s%s\n", left, o.help)
	}
	b.WriteString(`
Not supported: -b/--bcrelay, -D/--delegate, -V/--vrf.
Users and passwords: /etc/ppp/chap-secrets. See pptpd(8).
`)
	return b.String()
}
