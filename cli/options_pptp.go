// SPDX-License-Identifier: MIT

package cli

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pptp-go/pptp/pppconf"
)

// UsageError is a command-line error. Code is the exit status: 1 for usage errors (unknown
// option, missing host, bad --quirks, --loglevel out of range), 2 for bad option values, as
// pptp-linux 1.10.0 does. Msg is the line to print (usage text not included).
type UsageError struct {
	Code int
	Msg  string
}

func (e *UsageError) Error() string { return e.Msg }

// usageErr and valueErr build UsageErrors; the caller prints "prog: " in front of Msg.
func usageErr(format string, args ...any) *UsageError {
	return &UsageError{Code: 1, Msg: fmt.Sprintf(format, args...)}
}

func valueErr(format string, args ...any) *UsageError {
	return &UsageError{Code: 2, Msg: fmt.Sprintf(format, args...)}
}

// PPTPMode is how the client runs PPP.
type PPTPMode int

const (
	PPTPModeBuiltin PPTPMode = iota // default: built-in PPP engine and a TUN (or proxy) device
	PPTPModePty                     // --nolaunchpppd: pppd started us with `pty`; PPP on stdin
	PPTPModeLaunch                  // --launch-pppd: we start pppd on a pty
)

func (m PPTPMode) String() string {
	return [...]string{"built-in", "pty (--nolaunchpppd)", "launch pppd"}[m]
}

// PPTPArgs is the parsed pptp command line.
type PPTPArgs struct {
	Host      string   // first non-option word ("" for `pptp call NAME`)
	Server    string   // server to dial: Host, or the host in the pty command of `call NAME`'s peers file
	PPPDWords []string // remaining non-option words: pppd options

	// pptp-linux 1.10.0 options.
	Phone          string        // --phone
	NoLaunchPPPD   bool          // --nolaunchpppd
	Quirks         string        // --quirks: "" or "BEZEQ_ISRAEL"
	Debug          bool          // --debug
	Sync           bool          // --sync
	Timeout        time.Duration // --timeout: reorder hold time, default 300ms
	NoBuffer       bool          // --nobuffer
	IdleWait       time.Duration // --idle-wait, default 60s; 0 = no echo
	MaxEchoWait    time.Duration // --max-echo-wait; 0 = the idle wait, as 1.10.0 (which ignores the option)
	LogString      string        // --logstring, default "anon"
	LocalBind      netip.Addr    // --localbind
	RTMark         int           // --rtmark (0 = none)
	NoHostRoute    bool          // --nohostroute
	LogLevel       int           // --loglevel 0..2, default 1
	TestType       int           // --test-type
	TestRate       int           // --test-rate, default 100
	MissingWindow  int           // --missing-window; 0 = disabled (the default)
	ClientHostname string        // --client-hostname (pptp-linux master), "" = "local"
	Version        bool          // --version: parsing stopped there
	Help           bool          // -h, --help: parsing stopped there

	// Ours.
	PidFile    string   // --pidfile
	GRETx      string   // --gre-tx: "auto" (default) or "ip"
	NoMSSClamp bool     // --nomssclamp: leave TCP SYNs' MSS alone
	SendWindow int      // --send-window as session.DialConfig.SendWindow: 0 = the peer's (unset), -1 = no limit (given as 0)
	LaunchPPPD bool     // --launch-pppd
	PPPD       []string // --pppd "opts": extra pppd words for launch mode

	// PPP holds the pppd-style options given as --name[=value] (--user, --mtu, --route …).
	// pptp-linux's own options win on name clashes (--debug is pptp's).
	PPP pppconf.Options

	// Warnings are notes to print before running (low --missing-window, ignored options).
	Warnings []string

	set      map[string]bool
	pppFlags [][2]string // --name value pairs applied to PPP, in order, for PPPOptions
}

// LaunchFlags are the built-in PPP flags as pppd words for launch mode, the password
// apart (see launchWords), and notes on the flags pppd has no word for.
func (a *PPTPArgs) LaunchFlags() (words []string, password string, warnings []string, err error) {
	return launchWords(a.pppFlags)
}

// IsSet reports whether the long option name (e.g. "timeout", "user") was given.
func (a *PPTPArgs) IsSet(name string) bool { return a.set[name] }

// Mode: built-in unless --nolaunchpppd (pty) or --launch-pppd (launch).
func (a *PPTPArgs) Mode() PPTPMode {
	switch {
	case a.NoLaunchPPPD:
		return PPTPModePty
	case a.LaunchPPPD:
		return PPTPModeLaunch
	}
	return PPTPModeBuiltin
}

// PPPOptions builds the built-in engine's options: PPPDir/options first when readDefaults,
// then the pppd words of the command line, then the --name options (explicit flags win).
// Errors are pppconf's, naming the option (and file:line for files).
func (a *PPTPArgs) PPPOptions(readDefaults bool) (*pppconf.Options, error) {
	var o pppconf.Options
	if readDefaults {
		if _, err := o.LoadDefaults(); err != nil {
			return nil, err
		}
	}
	if err := o.ParseWords(a.PPPDWords, pppconf.Source{File: "command line"}); err != nil {
		return nil, err
	}
	for _, kv := range a.pppFlags {
		var args []string
		if info, _ := pppconf.Lookup(kv[0]); info.Kind.TakesArg() {
			args = []string{kv[1]}
		}
		if _, err := o.Apply(kv[0], args); err != nil {
			return nil, err
		}
	}
	return &o, nil
}

// BuiltinOptions is PPPOptions(true): what the built-in client runs with.
func (a *PPTPArgs) BuiltinOptions() (*pppconf.Options, error) { return a.PPPOptions(true) }

// serverFromPeers sets Server from the pty command of PPPDir/peers/name, the file
// pptpsetup writes (pty "/usr/sbin/pptp HOST --nolaunchpppd").
func (a *PPTPArgs) serverFromPeers(name string) error {
	var o pppconf.Options
	if err := o.Call(name); err != nil {
		return usageErr("%v", err)
	}
	cmd, err := o.PtyCommand()
	if err != nil || len(cmd) < 2 || !strings.HasSuffix(cmd[0], "pptp") {
		return usageErr("peers file %q: no pty \"pptp HOST …\" command to take the server from", name)
	}
	sub, err := ParsePPTPArgs(cmd[1:])
	if err != nil || sub.Host == "" {
		return usageErr("peers file %q: cannot read the server from pty %q", name, o.Pty)
	}
	a.Server = sub.Host
	for _, opt := range slices.Sorted(maps.Keys(sub.set)) {
		if opt != "nolaunchpppd" {
			a.Warnings = append(a.Warnings, fmt.Sprintf("peers file %q: --%s in its pty command is ignored; give it on the command line", name, opt))
		}
	}
	return nil
}

// getoptSpec is one long option for getoptLong.
type getoptSpec struct {
	name   string
	hasArg bool
	short  byte // 0: none
	// compat marks options of the program we replace: among them a prefix matching several
	// options with the same argument shape picks the first, exactly as glibc getopt_long
	// does (pptp --lo = --logstring). Our additions need an unambiguous prefix.
	compat bool
}

var errGetoptStop = errors.New("stop")

// getoptLong parses args with GNU getopt_long rules: long options with unique (or, among
// compat options, glibc-resolved) prefixes, --opt=value and --opt value, short options
// (clustered, -cFILE or -c FILE), permutation of operands, and "--" ending options. on is
// called per option in order; errGetoptStop from it ends parsing without error.
func getoptLong(args []string, specs []getoptSpec, on func(s *getoptSpec, value string) error) (operands []string, err error) {
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--":
			return append(operands, args[i+1:]...), nil
		case strings.HasPrefix(arg, "--"):
			name, value, hasValue := strings.Cut(arg[2:], "=")
			s, err := getoptFind(name, specs)
			if err != nil {
				return nil, err
			}
			switch {
			case !s.hasArg && hasValue:
				return nil, usageErr("option '--%s' doesn't allow an argument", s.name)
			case s.hasArg && !hasValue:
				if i+1 >= len(args) {
					return nil, usageErr("option '--%s' requires an argument", s.name)
				}
				i++
				value = args[i]
			}
			if err := on(s, value); err != nil {
				if err == errGetoptStop {
					return operands, nil
				}
				return nil, err
			}
		case len(arg) > 1 && arg[0] == '-':
			for j := 1; j < len(arg); j++ {
				var s *getoptSpec
				for k := range specs {
					if specs[k].short == arg[j] {
						s = &specs[k]
					}
				}
				if s == nil {
					return nil, usageErr("invalid option -- '%c'", arg[j])
				}
				value := ""
				if s.hasArg {
					switch {
					case j+1 < len(arg):
						value = arg[j+1:]
					case i+1 < len(args):
						i++
						value = args[i]
					default:
						return nil, usageErr("option requires an argument -- '%c'", arg[j])
					}
					j = len(arg)
				}
				if err := on(s, value); err != nil {
					if err == errGetoptStop {
						return operands, nil
					}
					return nil, err
				}
			}
		default:
			operands = append(operands, arg)
		}
	}
	return operands, nil
}

func getoptFind(name string, specs []getoptSpec) (*getoptSpec, error) {
	var compat, ours []*getoptSpec
	for k := range specs {
		s := &specs[k]
		if s.name == name {
			return s, nil
		}
		if name != "" && strings.HasPrefix(s.name, name) {
			if s.compat {
				compat = append(compat, s)
			} else {
				ours = append(ours, s)
			}
		}
	}
	if len(compat) > 0 {
		for _, s := range compat[1:] {
			if s.hasArg != compat[0].hasArg {
				return nil, getoptAmbiguous(name, compat)
			}
		}
		return compat[0], nil
	}
	switch len(ours) {
	case 0:
		msg := fmt.Sprintf("unrecognized option '--%s'", name)
		if s := getoptClosest(name, specs); s != "" {
			msg += fmt.Sprintf(" (did you mean '--%s'?)", s)
		}
		return nil, usageErr("%s", msg)
	case 1:
		return ours[0], nil
	}
	return nil, getoptAmbiguous(name, ours)
}

func getoptAmbiguous(name string, c []*getoptSpec) error {
	var b strings.Builder
	for _, s := range c {
		fmt.Fprintf(&b, " '--%s'", s.name)
	}
	return usageErr("option '--%s' is ambiguous; possibilities:%s", name, b.String())
}

// getoptClosest suggests an option for a typo.
func getoptClosest(name string, specs []getoptSpec) string {
	return pppconf.Closest(name, func(yield func(string) bool) {
		for _, s := range specs {
			if !yield(s.name) {
				return
			}
		}
	})
}

// pptpOpt is one pptp option: spec, help and setter.
type pptpOpt struct {
	name, arg, help string
	set             func(a *PPTPArgs, v string) error
}

// pptpLinuxOpts are pptp-linux 1.10.0's options in its getopt table order (the order
// decides prefix resolution), then --client-hostname from its master branch.
var pptpLinuxOpts = []pptpOpt{
	{"phone", "NUMBER", "phone number for the Outgoing-Call-Request (≤ 64 bytes)", func(a *PPTPArgs, v string) error {
		if len(v) > 64 {
			return valueErr("--phone must be at most 64 bytes")
		}
		a.Phone = v
		return nil
	}},
	{"nolaunchpppd", "", "run under pppd's pty option: PPP on stdin (pty mode)", func(a *PPTPArgs, _ string) error { a.NoLaunchPPPD = true; return nil }},
	{"quirks", "QUIRK", "work around a buggy server; only BEZEQ_ISRAEL is recognised", func(a *PPTPArgs, v string) error {
		if v != "BEZEQ_ISRAEL" {
			return usageErr("unknown quirk %q: only BEZEQ_ISRAEL is recognised", v)
		}
		a.Quirks = v
		return nil
	}},
	{"debug", "", "stay in the foreground, log more", func(a *PPTPArgs, _ string) error { a.Debug = true; return nil }},
	{"sync", "", "synchronous HDLC on the pty (pppd must use sync too)", func(a *PPTPArgs, _ string) error { a.Sync = true; return nil }},
	{"timeout", "SECS", "hold out-of-order packets up to SECS, 0.01 to 10 (default 0.3)", func(a *PPTPArgs, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		// pptp-linux keeps the value in a C float, so compare in float32 as it does
		// (0.0099 itself is just below the limit there).
		f32 := float32(f)
		if err != nil || f != f || float64(f32) < 0.0099 || f32 > 10 {
			return valueErr("Packet timeout %s (%f) out of range: should be between 0.01 and 10 seconds", v, f32)
		}
		a.Timeout = time.Duration(float64(f32) * float64(time.Second))
		return nil
	}},
	{"logstring", "NAME", "first word of syslog lines (default anon)", func(a *PPTPArgs, v string) error { a.LogString = v; return nil }},
	{"localbind", "ADDR", "bind the TCP and GRE sockets to this IPv4 or IPv6 address", func(a *PPTPArgs, v string) error {
		ip, err := netip.ParseAddr(v)
		if err != nil {
			return valueErr("Local bind address %s invalid", v)
		}
		a.LocalBind = ip
		return nil
	}},
	{"loglevel", "LEVEL", "per-packet logging: 0 none, 1 drops (default), 2 every packet", func(a *PPTPArgs, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 2 {
			return usageErr("--loglevel must be 0, 1 or 2, got %q", v)
		}
		a.LogLevel = n
		return nil
	}},
	{"nobuffer", "", "no reordering: deliver packets ahead of sequence at once", func(a *PPTPArgs, _ string) error { a.NoBuffer = true; return nil }},
	{"idle-wait", "SECS", "send an Echo-Request after SECS of silence, 0 = never (default 60)", func(a *PPTPArgs, v string) error {
		n, err := pptpSeconds("--idle-wait", v)
		a.IdleWait = n
		return err
	}},
	{"max-echo-wait", "SECS", "give up when an Echo-Reply takes longer than SECS (default: the idle wait)", func(a *PPTPArgs, v string) error {
		n, err := pptpSeconds("--max-echo-wait", v)
		a.MaxEchoWait = n
		return err
	}},
	{"version", "", "print the version and exit", func(a *PPTPArgs, _ string) error { a.Version = true; return errGetoptStop }},
	{"test-type", "TYPE", "server testing: reorder sent packets (1 swap, 2 hold 10, 3 reverse 10)", func(a *PPTPArgs, v string) error {
		return pptpInt("--test-type", v, 0, math.MaxInt32, &a.TestType)
	}},
	{"test-rate", "N", "server testing: reorder every N packets (default 100)", func(a *PPTPArgs, v string) error {
		return pptpInt("--test-rate", v, 0, math.MaxInt32, &a.TestRate)
	}},
	{"rtmark", "MARK", "SO_MARK for policy routing of the TCP and GRE sockets", func(a *PPTPArgs, v string) error {
		return pptpInt("--rtmark", v, 0, math.MaxUint32, &a.RTMark)
	}},
	{"nohostroute", "", "do not add a host route to the server", func(a *PPTPArgs, _ string) error { a.NoHostRoute = true; return nil }},
	{"missing-window", "N", "drop packets N or more ahead of the expected one (default off; 6000 recommended)", func(a *PPTPArgs, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return valueErr("--missing-window must be integer greater than zero")
		}
		if n < 300 {
			// pptp-linux 1.10.0 warns and then ignores such values; we apply them.
			a.Warnings = append(a.Warnings, fmt.Sprintf("--missing-window %d is very low (6000 recommended); applied anyway", n))
		}
		a.MissingWindow = n
		return nil
	}},
	{"client-hostname", "NAME", "host name in Start-Control-Connection-Request (default local)", func(a *PPTPArgs, v string) error {
		if len(v) > 63 {
			return valueErr("--client-hostname must be at most 63 bytes")
		}
		a.ClientHostname = v
		return nil
	}},
	{"help", "", "show this help and exit (also -h)", func(a *PPTPArgs, _ string) error { a.Help = true; return errGetoptStop }},
}

// pptpOwnOpts are our additions besides the pppd-style options.
var pptpOwnOpts = []pptpOpt{
	{"launch-pppd", "", "launch mode: start pppd on a pty and pass it the pppd words", func(a *PPTPArgs, _ string) error { a.LaunchPPPD = true; return nil }},
	{"pppd", "OPTS", "extra pppd options for launch mode, one quoted string", func(a *PPTPArgs, v string) error {
		w, err := pppconf.SplitWords(v)
		if err != nil {
			return valueErr("--pppd: %v", err)
		}
		a.PPPD = append(a.PPPD, w...)
		return nil
	}},
	{"pidfile", "PATH", "write our process ID to PATH", func(a *PPTPArgs, v string) error { a.PidFile = v; return nil }},
	{"send-window", "N", "packets sent ahead of the server's acknowledgment (default: the window it advertises, at most 64 unless it is pptp-go's; 0: no limit, as pptp-linux)", func(a *PPTPArgs, v string) error {
		if err := pptpInt("--send-window", v, 0, math.MaxUint16, &a.SendWindow); err != nil {
			return err
		}
		if a.SendWindow == 0 {
			a.SendWindow = -1 // no limit
		}
		return nil
	}},
	{"gre-tx", "MODE", "auto (default): send GRE through a packet socket when safe; ip: always through the kernel's IP output", func(a *PPTPArgs, v string) error {
		m, err := pppconf.ParseGRETx(v)
		if err != nil {
			return valueErr("--%v", err)
		}
		a.GRETx = m
		return nil
	}},
	{"nomssclamp", "", "leave the MSS of TCP SYNs crossing the tunnel alone (default: clamp it to the MTU - 40)", func(a *PPTPArgs, _ string) error { a.NoMSSClamp = true; return nil }},
}

func pptpSeconds(name, v string) (time.Duration, error) {
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, valueErr("%s needs a whole number of seconds, got %q", name, v)
	}
	if n < 0 {
		return 0, valueErr("%s must not be negative", name)
	}
	if n > math.MaxInt32 {
		return 0, valueErr("%s %d is too large", name, n)
	}
	return time.Duration(n) * time.Second, nil
}

func pptpInt(name, v string, lo, hi int, dst *int) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		return valueErr("%s needs a number, got %q", name, v)
	}
	if n < lo || n > hi {
		return valueErr("%s must be between %d and %d, got %d", name, lo, hi, n)
	}
	*dst = n
	return nil
}

// pptpSpecs is the getopt table: pptp-linux's options (compat), ours, then every pppconf
// option that does not clash with them.
var pptpSpecs, pptpSetters = func() ([]getoptSpec, map[string]func(*PPTPArgs, string) error) {
	var specs []getoptSpec
	setters := map[string]func(*PPTPArgs, string) error{}
	for _, o := range pptpLinuxOpts {
		s := getoptSpec{name: o.name, hasArg: o.arg != "", compat: true}
		if o.name == "help" {
			s.short = 'h'
		}
		specs = append(specs, s)
		setters[o.name] = o.set
	}
	for _, o := range pptpOwnOpts {
		specs = append(specs, getoptSpec{name: o.name, hasArg: o.arg != ""})
		setters[o.name] = o.set
	}
	for _, info := range pppconf.Table() {
		if _, clash := setters[info.Name]; clash {
			continue
		}
		specs = append(specs, getoptSpec{name: info.Name, hasArg: info.Kind.TakesArg()})
	}
	return specs, setters
}()

// ParsePPTPArgs parses pptp's arguments (without argv[0]) like pptp-linux 1.10.0 plus our
// options. --help and --version stop parsing where they appear (Help/Version set, no host
// needed). Errors are *UsageError.
func ParsePPTPArgs(args []string) (*PPTPArgs, error) {
	a := &PPTPArgs{
		Timeout:   300 * time.Millisecond,
		IdleWait:  60 * time.Second,
		LogString: "anon",
		LogLevel:  1,
		TestRate:  100,
		set:       map[string]bool{},
	}
	ops, err := getoptLong(args, pptpSpecs, func(s *getoptSpec, v string) error {
		a.set[s.name] = true
		if set := pptpSetters[s.name]; set != nil {
			return set(a, v)
		}
		var args []string
		if s.hasArg {
			args = []string{v}
		}
		if _, err := a.PPP.Apply(s.name, args); err != nil {
			return valueErr("%v", err)
		}
		a.pppFlags = append(a.pppFlags, [2]string{s.name, v})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if a.Help || a.Version {
		return a, nil
	}
	if len(ops) == 0 {
		return nil, usageErr("missing server host name")
	}
	if ops[0] == "call" && len(ops) > 1 {
		// `pptp call NAME`: the server is in the peers file's pty command.
		a.PPPDWords = ops
		if err := a.serverFromPeers(ops[1]); err != nil {
			return nil, err
		}
	} else {
		a.Host, a.Server, a.PPPDWords = ops[0], ops[0], ops[1:]
	}
	if a.NoLaunchPPPD && a.LaunchPPPD {
		return nil, usageErr("--nolaunchpppd and --launch-pppd exclude each other")
	}
	if a.Mode() == PPTPModePty && len(a.pppFlags) > 0 {
		a.Warnings = append(a.Warnings, fmt.Sprintf("--%s and other built-in PPP options are ignored in %s mode (give pppd its options)", a.pppFlags[0][0], a.Mode()))
	}
	if len(a.PPPD) > 0 && a.Mode() != PPTPModeLaunch {
		a.Warnings = append(a.Warnings, "--pppd is only used with --launch-pppd")
	}
	return a, nil
}

// PPTPUsage is the --help text.
func PPTPUsage() string {
	var b strings.Builder
	b.WriteString(`Usage:
  pptp <host> [<pptp options>] [[--] <pppd options>]          built-in PPP (default)
  pppd pty "pptp <host> --nolaunchpppd <pptp options>" ...    under pppd (pty mode)
  pptp <host> --launch-pppd [<pptp options>] [--] <pppd options>  start pppd (launch mode)
  pptp status [<ifname>|--all] [--json]                       running clients' state and counters
  pptp setup --create <name> --server <host> --username <user> [--encrypt]  write a peers file (pptpsetup)

Options may come before or after <host>; unique prefixes work (--nolaunch). The words
after <host> are pppd options: pppd reads them in pty and launch mode, the built-in PPP
engine reads them itself (unknown ones are errors). Exit status: 0 ok, 1 usage or fatal
error, 2 bad option value; the built-in mode adds pppd's codes (19 authentication
failed, 10 negotiation failed, 16 call ended; see pptp(8)).

pptp-linux options:
`)
	for _, o := range pptpLinuxOpts {
		usageLine(&b, o.name, o.arg, o.help)
	}
	b.WriteString("\nOther options:\n")
	for _, o := range pptpOwnOpts {
		usageLine(&b, o.name, o.arg, o.help)
	}
	table := pppconf.Table()
	for g := pppconf.GroupAuth; g <= pppconf.GroupCompat; g++ {
		if g == pppconf.GroupCompat {
			b.WriteString("\nAccepted for compatibility, no effect:\n ")
			for _, info := range table {
				if info.Group == g {
					b.WriteString(" --" + info.Name)
				}
			}
			b.WriteString("\n")
			continue
		}
		title := "Built-in PPP options, " + g.String()
		if g == pppconf.GroupProxy {
			title = "Proxy mode (no TUN device; needs only CAP_NET_RAW)"
		}
		fmt.Fprintf(&b, "\n%s (also as pppd words without --):\n", title)
		for _, info := range table {
			if info.Group != g || pptpSetters[info.Name] != nil {
				continue
			}
			usageLine(&b, info.Name, info.Arg, info.Help)
		}
	}
	b.WriteString("\npppd's debug is the word debug; --debug is pptp's. See pptp(8).\n")
	return b.String()
}

func usageLine(b *strings.Builder, name, arg, help string) {
	left := "  --" + name
	if arg != "" {
		left += " " + arg
	}
	if len(left) < 28 {
		fmt.Fprintf(b, "%-28s%s\n", left, help)
	} else {
		fmt.Fprintf(b, "%s\n%28s%s\n", left, "", help)
	}
}
