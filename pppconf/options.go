// SPDX-License-Identifier: MIT

package pppconf

import (
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// PPPDir is pppd's configuration directory; `call NAME` reads PPPDir/peers/NAME and
// LoadDefaults reads PPPDir/options. Tests point it elsewhere.
var PPPDir = "/etc/ppp"

// Defaults pppd applies when an option is not given (for callers and help text).
const (
	DefaultMaxFail = 10 // maxfail
	DefaultHoldoff = 30 // holdoff, seconds
	DefaultMRU     = 1400
)

// Options holds every pppd option we support, as data. The zero value is "nothing given";
// use IsSet to tell an explicit value from the zero value.
type Options struct {
	// Authentication.
	Name            string // name: our name (secrets lookup; user name unless user is given)
	User            string // user: name to authenticate as
	Password        string // password: visible in ps; prefer password-file or chap-secrets
	PasswordFile    string // password-file (extension): first line is the password
	RemoteName      string // remotename: the peer's name for secrets lookup
	Auth            bool   // auth (true) / noauth (false): require the peer to authenticate
	RefusePAP       bool   // refuse-pap
	RefuseCHAP      bool   // refuse-chap (CHAP-MD5)
	RefuseMSCHAP    bool   // refuse-mschap
	RefuseMSCHAPv2  bool   // refuse-mschap-v2
	RefuseEAP       bool   // refuse-eap (we never do EAP; accepted so configs stay valid)
	RequirePAP      bool   // require-pap (server)
	RequireCHAP     bool   // require-chap (server)
	RequireMSCHAP   bool   // require-mschap (server)
	RequireMSCHAPv2 bool   // require-mschap-v2 (server)

	// Encryption (RFC 3078).
	RequireMPPE      bool   // require-mppe: 40 or 128 bits
	RequireMPPE40    bool   // require-mppe-40 (implies require-mppe)
	RequireMPPE128   bool   // require-mppe-128 (implies require-mppe)
	NoMPPE           bool   // nomppe, noencrypt
	NoMPPE40         bool   // nomppe-40
	NoMPPE128        bool   // nomppe-128
	MPPEStateful     bool   // mppe-stateful (false: nomppe-stateful)
	MPPEStatefulOnly bool   // mppe-stateful-only (extension): ask for stateful alone, as old Windows peers did
	SetMPPEKey       []byte // set-mppe-key (extension, testing only): 16 bytes both ways, or send‖recv

	// Link.
	MTU             int    // mtu
	MRU             int    // mru
	Asyncmap        uint32 // asyncmap (hex; pty mode only)
	LCPEchoInterval int    // lcp-echo-interval, seconds; 0 = no echo
	LCPEchoFailure  int    // lcp-echo-failure
	LCPRestart      int    // lcp-restart, seconds
	Persist         bool   // persist / nopersist
	MaxFail         int    // maxfail (pppd default 10; 0 = unlimited)
	Holdoff         int    // holdoff, seconds (pppd default 30)
	Unit            int    // unit: interface number (ppp<N>, or pptp<N> for our TUN)
	IfName          string // ifname (extension): TUN interface name
	LinkName        string // linkname
	IPParam         string // ipparam
	Debug           bool   // debug
	NoDetach        bool   // nodetach (accepted)
	UpDetach        bool   // updetach (accepted)
	Lock            bool   // lock (accepted, no-op: there is no serial device)

	// IP (RFC 1332, RFC 1877).
	DefaultRoute bool           // defaultroute / nodefaultroute
	UsePeerDNS   bool           // usepeerdns
	NoIPDefault  bool           // noipdefault
	LocalIP      netip.Addr     // "local:remote" word, left side
	RemoteIP     netip.Addr     // "local:remote" word, right side
	Routes       []netip.Prefix // route (extension, repeatable): routes via the tunnel
	MSDNS        []netip.Addr   // ms-dns (repeatable, server): DNS servers offered to the peer
	NoIPv6       bool           // noipv6 (accepted: we never speak IPv6CP)

	// Compression (we implement none; these are accepted and honoured trivially).
	NoCCP     bool // noccp (also disables MPPE)
	NoDeflate bool // nodeflate
	NoBSDComp bool // nobsdcomp
	NoVJ      bool // novj
	NoVJCComp bool // novjccomp
	NoPComp   bool // nopcomp
	NoACComp  bool // noaccomp

	// RADIUS (pppd's radius and radattr plugins; server).
	Plugins          []string // plugin (repeatable): radius.so, radattr.so (others are an error)
	RadiusConfigFile string   // radius-config-file (default /etc/radiusclient/radiusclient.conf)

	// Built-in client extensions.
	StatusFile string // status-file: where link state is written
	Pty        string // pty: the command of a pppd peers file (pptp call NAME reads its host)
	SOCKS      string // socks (proxy mode): listen address of a SOCKS5 server
	HTTPProxy  string // http-proxy (proxy mode): listen address of an HTTP proxy
	// ProxyUser and ProxyPasswordFile (proxy mode): credentials the proxies demand.
	ProxyUser, ProxyPasswordFile string

	// Warnings collects non-fatal notes made while applying options (testing-only
	// options, ignored repeats). They never contain secret values.
	Warnings []string

	given [2]uint64 // bit i: table[i] was given
}

// Kind is the kind of an option's argument.
type Kind uint8

const (
	KindFlag    Kind = iota // no argument
	KindInt                 // decimal integer within limits
	KindHex32               // hexadecimal 32-bit number (asyncmap)
	KindString              // any word
	KindIPv4                // IPv4 address
	KindPrefix              // IPv4 network, e.g. 10.0.0.0/8
	KindHexKey              // hex bytes (set-mppe-key)
	KindAddr                // host:port listen address
	KindInclude             // file PATH / call NAME
)

// TakesArg reports whether the option consumes the next word.
func (k Kind) TakesArg() bool { return k != KindFlag }

// Group orders the help text.
type Group uint8

const (
	GroupAuth Group = iota
	GroupEncryption
	GroupLink
	GroupIP
	GroupCompression
	GroupClient // our built-in client extensions
	GroupProxy  // proxy mode (no TUN)
	GroupFiles  // file / call
	GroupCompat // accepted, no effect
)

func (g Group) String() string {
	return [...]string{"authentication", "encryption", "link", "IP", "compression",
		"built-in client", "proxy mode", "files", "accepted for compatibility (no effect)"}[g]
}

// Info describes one option, for help text and command-line parsers.
type Info struct {
	Name   string
	Kind   Kind
	Arg    string // placeholder for the argument in help text ("N", "PATH" …)
	Help   string
	Group  Group
	NoOp   bool // accepted for compatibility, has no effect
	Ext    bool // our extension, not a pppd option
	Repeat bool // may be given several times; values accumulate
}

// option is one table entry: its description and its setter (one of the typed funcs,
// matching Kind).
type option struct {
	Info
	min, max int
	flag     func(o *Options)
	num      func(o *Options, v int)
	str      func(o *Options, v string)
	ip       func(o *Options, v netip.Addr)
	prefix   func(o *Options, v netip.Prefix)
	bytes    func(o *Options, v []byte)
	check    func(v string) error // KindString: refuses a bad value (the error names the place)
}

func flagOpt(g Group, name, help string, set func(o *Options)) option {
	return option{Info: Info{Name: name, Kind: KindFlag, Help: help, Group: g}, flag: set}
}

func noOp(name, help string) option {
	return option{Info: Info{Name: name, Kind: KindFlag, Help: help, Group: GroupCompat, NoOp: true}, flag: func(*Options) {}}
}

func intOpt(g Group, name, arg, help string, lo, hi int, set func(o *Options, v int)) option {
	return option{Info: Info{Name: name, Kind: KindInt, Arg: arg, Help: help, Group: g}, min: lo, max: hi, num: set}
}

func strOpt(g Group, name, arg, help string, set func(o *Options, v string)) option {
	return option{Info: Info{Name: name, Kind: KindString, Arg: arg, Help: help, Group: g}, str: set}
}

func ext(o option) option    { o.Ext = true; return o }
func repeat(o option) option { o.Repeat = true; return o }

// table is the single source of truth for options: parser, help and CLI derive from it.
var table = []option{
	strOpt(GroupAuth, "user", "NAME", "name to authenticate as (DOMAIN\\user works)", func(o *Options, v string) { o.User = v }),
	strOpt(GroupAuth, "name", "NAME", "our name: secrets lookup, and the user name when user is not given", func(o *Options, v string) { o.Name = v }),
	strOpt(GroupAuth, "password", "PASSWORD", "password (visible in ps: prefer password-file or chap-secrets)", func(o *Options, v string) { o.Password = v }),
	ext(strOpt(GroupAuth, "password-file", "PATH", "read the password from the first line of PATH", func(o *Options, v string) { o.PasswordFile = v })),
	strOpt(GroupAuth, "remotename", "NAME", "the server's name for chap-secrets lookup", func(o *Options, v string) { o.RemoteName = v }),
	flagOpt(GroupAuth, "noauth", "do not require the peer to authenticate itself (client default)", func(o *Options) { o.Auth = false }),
	flagOpt(GroupAuth, "auth", "accepted, no effect: a PPTP server never authenticates itself to the client, and a server always authenticates its peer", func(o *Options) { o.Auth = true }),
	flagOpt(GroupAuth, "refuse-pap", "refuse PAP", func(o *Options) { o.RefusePAP = true }),
	flagOpt(GroupAuth, "refuse-chap", "refuse CHAP-MD5", func(o *Options) { o.RefuseCHAP = true }),
	flagOpt(GroupAuth, "refuse-mschap", "refuse MS-CHAP (v1)", func(o *Options) { o.RefuseMSCHAP = true }),
	flagOpt(GroupAuth, "refuse-mschap-v2", "refuse MS-CHAPv2", func(o *Options) { o.RefuseMSCHAPv2 = true }),
	flagOpt(GroupAuth, "refuse-eap", "refuse EAP (never done anyway)", func(o *Options) { o.RefuseEAP = true }),
	flagOpt(GroupAuth, "require-pap", "server: require PAP", func(o *Options) { o.RequirePAP = true }),
	flagOpt(GroupAuth, "require-chap", "server: require CHAP-MD5", func(o *Options) { o.RequireCHAP = true }),
	flagOpt(GroupAuth, "require-mschap", "server: require MS-CHAP (v1)", func(o *Options) { o.RequireMSCHAP = true }),
	flagOpt(GroupAuth, "require-mschap-v2", "server: require MS-CHAPv2", func(o *Options) { o.RequireMSCHAPv2 = true }),

	flagOpt(GroupEncryption, "require-mppe", "fail unless MPPE (40 or 128 bit) is negotiated", func(o *Options) { o.RequireMPPE = true }),
	flagOpt(GroupEncryption, "require-mppe-40", "require 40-bit MPPE", func(o *Options) { o.RequireMPPE, o.RequireMPPE40 = true, true }),
	flagOpt(GroupEncryption, "require-mppe-128", "require 128-bit MPPE", func(o *Options) { o.RequireMPPE, o.RequireMPPE128 = true, true }),
	flagOpt(GroupEncryption, "nomppe", "disable MPPE", func(o *Options) { o.NoMPPE = true }),
	flagOpt(GroupEncryption, "noencrypt", "same as nomppe", func(o *Options) { o.NoMPPE = true }),
	flagOpt(GroupEncryption, "nomppe-40", "disallow 40-bit MPPE", func(o *Options) { o.NoMPPE40 = true }),
	flagOpt(GroupEncryption, "nomppe-128", "disallow 128-bit MPPE", func(o *Options) { o.NoMPPE128 = true }),
	flagOpt(GroupEncryption, "mppe-stateful", "allow stateful MPPE", func(o *Options) { o.MPPEStateful = true }),
	flagOpt(GroupEncryption, "nomppe-stateful", "stateless MPPE only (default)", func(o *Options) { o.MPPEStateful = false }),
	ext(flagOpt(GroupEncryption, "mppe-stateful-only", "ask for stateful MPPE alone, refusing stateless (pppd prefers stateless whenever both sides allow it)", func(o *Options) { o.MPPEStateful, o.MPPEStatefulOnly = true, true })),
	ext(option{Info: Info{Name: "set-mppe-key", Kind: KindHexKey, Arg: "HEX", Group: GroupEncryption,
		Help: "TESTING ONLY: fixed MPPE key, 32 hex digits (both ways) or 64 (send then receive)"},
		bytes: func(o *Options, v []byte) {
			o.SetMPPEKey = v
			o.warn("set-mppe-key is for testing only: the link uses a fixed, non-secret key")
		}}),

	intOpt(GroupLink, "mtu", "N", "largest packet we send (128-16384)", 128, 16384, func(o *Options, v int) { o.MTU = v }),
	intOpt(GroupLink, "mru", "N", "largest packet we accept (128-16384, default 1400)", 128, 16384, func(o *Options, v int) { o.MRU = v }),
	// In Debian's stock /etc/ppp/options: accepted, so that file works, without a warning.
	{Info: Info{Name: "asyncmap", Kind: KindHex32, Arg: "HEX", Group: GroupLink, Help: "accepted, no effect: the link is synchronous and we always ask for map 0"},
		num: func(o *Options, v int) { o.Asyncmap = uint32(v) }},
	intOpt(GroupLink, "lcp-echo-interval", "SECS", "send LCP Echo-Request every SECS (0 = never)", 0, 1<<30, func(o *Options, v int) { o.LCPEchoInterval = v }),
	intOpt(GroupLink, "lcp-echo-failure", "N", "declare the link dead after N unanswered echoes", 0, 1<<30, func(o *Options, v int) { o.LCPEchoFailure = v }),
	intOpt(GroupLink, "lcp-restart", "SECS", "retransmit Configure- and Terminate-Requests every SECS (default 3; the set-up budget is 10 of them)", 1, 86400, func(o *Options, v int) { o.LCPRestart = v }),
	flagOpt(GroupLink, "persist", "redial after the link goes down", func(o *Options) { o.Persist = true }),
	flagOpt(GroupLink, "nopersist", "exit when the link goes down (default)", func(o *Options) { o.Persist = false }),
	intOpt(GroupLink, "maxfail", "N", "give up after N failed attempts (0 = never, default 10)", 0, 1<<30, func(o *Options, v int) { o.MaxFail = v }),
	intOpt(GroupLink, "holdoff", "SECS", "wait SECS before redialling (default 30)", 0, 1<<30, func(o *Options, v int) { o.Holdoff = v }),
	intOpt(GroupLink, "unit", "N", "interface number", 0, 1<<20, func(o *Options, v int) { o.Unit = v }),
	ext(strOpt(GroupLink, "ifname", "NAME", "TUN interface name", func(o *Options, v string) { o.IfName = v })),
	strOpt(GroupLink, "linkname", "NAME", "link name (pid file ppp-NAME.pid)", func(o *Options, v string) { o.LinkName = v }),
	strOpt(GroupLink, "ipparam", "STRING", "extra parameter for ip-up/ip-down", func(o *Options, v string) { o.IPParam = v }),
	flagOpt(GroupLink, "debug", "log PPP negotiation", func(o *Options) { o.Debug = true }),

	flagOpt(GroupIP, "defaultroute", "route everything through the tunnel", func(o *Options) { o.DefaultRoute = true }),
	flagOpt(GroupIP, "nodefaultroute", "do not add a default route (default)", func(o *Options) { o.DefaultRoute = false }),
	flagOpt(GroupIP, "usepeerdns", "use the DNS servers the peer offers", func(o *Options) { o.UsePeerDNS = true }),
	flagOpt(GroupIP, "noipdefault", "let the peer assign our address (client default)", func(o *Options) { o.NoIPDefault = true }),
	ext(repeat(option{Info: Info{Name: "route", Kind: KindPrefix, Arg: "CIDR", Group: GroupIP,
		Help: "route this IPv4 network through the tunnel (repeatable)"},
		prefix: func(o *Options, v netip.Prefix) { o.Routes = append(o.Routes, v) }})),
	repeat(option{Info: Info{Name: "ms-dns", Kind: KindIPv4, Arg: "IP", Group: GroupIP,
		Help: "server: DNS server offered to the peer (repeatable, two at most)"},
		ip: func(o *Options, v netip.Addr) {
			if len(o.MSDNS) == 2 {
				o.warn("ms-dns: only two DNS servers can be offered; " + v.String() + " ignored")
				return
			}
			o.MSDNS = append(o.MSDNS, v)
		}}),
	// In Debian's and poptop's stock pptpd-options: accepted, so those files work, with a
	// warning that says what to do instead.
	flagOpt(GroupIP, "proxyarp", "not supported: ignored with a warning (route the remoteip pool to this host instead)", func(o *Options) {
		o.warn("proxyarp is not supported and is ignored: route the remoteip pool to this host, or add proxy neighbour entries yourself (ip neigh add proxy ADDRESS dev LAN-DEVICE)")
	}),
	noOp("noproxyarp", "no proxy ARP (the default)"),
	repeat(option{Info: Info{Name: "ms-wins", Kind: KindIPv4, Arg: "IP", Group: GroupIP,
		Help: "server: WINS server to offer; not supported, ignored with a warning"},
		ip: func(o *Options, v netip.Addr) {
			o.warn("ms-wins " + v.String() + ": WINS servers are not offered; ignored")
		}}),

	flagOpt(GroupCompression, "noccp", "no CCP at all (so no MPPE either)", func(o *Options) { o.NoCCP = true }),
	flagOpt(GroupCompression, "nodeflate", "no Deflate compression (never done anyway)", func(o *Options) { o.NoDeflate = true }),
	flagOpt(GroupCompression, "nobsdcomp", "no BSD compression (never done anyway)", func(o *Options) { o.NoBSDComp = true }),
	flagOpt(GroupCompression, "novj", "no Van Jacobson header compression (never done anyway)", func(o *Options) { o.NoVJ = true }),
	flagOpt(GroupCompression, "novjccomp", "no VJ connection-ID compression (never done anyway)", func(o *Options) { o.NoVJCComp = true }),
	// The engine always negotiates ACFC and PFC; these say so rather than pass unheeded.
	flagOpt(GroupCompression, "nopcomp", "not supported: ignored with a warning (protocol field compression is always negotiated)", func(o *Options) {
		o.NoPComp = true
		o.warn("nopcomp is not supported and is ignored: protocol field compression is still negotiated (the peer may send 1-byte protocol fields; we send 2-byte ones)")
	}),
	flagOpt(GroupCompression, "noaccomp", "not supported: ignored with a warning (address/control field compression is always negotiated)", func(o *Options) {
		o.NoACComp = true
		o.warn("noaccomp is not supported and is ignored: address/control field compression is still negotiated (either side may leave out FF 03 on data frames)")
	}),

	func() option {
		o := repeat(strOpt(GroupAuth, "plugin", "NAME", "server: radius.so (authenticate and account through RADIUS) or radattr.so (write radattr.IFNAME); no other plugin exists here", func(o *Options, v string) {
			o.Plugins = append(o.Plugins, filepath.Base(v))
		}))
		o.check = func(v string) error {
			if b := filepath.Base(v); b != "radius.so" && b != "radattr.so" {
				return fmt.Errorf("plugin %q is not available (radius.so and radattr.so are built in)", v)
			}
			return nil
		}
		return o
	}(),
	strOpt(GroupAuth, "radius-config-file", "PATH", "server: radiusclient.conf for the radius plugin (default /etc/radiusclient/radiusclient.conf)", func(o *Options, v string) { o.RadiusConfigFile = v }),

	ext(strOpt(GroupClient, "status-file", "PATH", "when a call ends, write its link state (addresses, DNS, counters) to PATH as JSON", func(o *Options, v string) { o.StatusFile = v })),
	strOpt(GroupClient, "pty", "COMMAND", "peers-file pty command; pptp call NAME takes the server from it", func(o *Options, v string) { o.Pty = v }),

	ext(option{Info: Info{Name: "socks", Kind: KindAddr, Arg: "ADDR", Group: GroupProxy,
		Help: "no TUN: serve SOCKS5 on ADDR (host:port) through the tunnel"},
		str: func(o *Options, v string) { o.SOCKS = v }}),
	ext(option{Info: Info{Name: "http-proxy", Kind: KindAddr, Arg: "ADDR", Group: GroupProxy,
		Help: "no TUN: serve an HTTP proxy on ADDR (host:port) through the tunnel"},
		str: func(o *Options, v string) { o.HTTPProxy = v }}),
	ext(option{Info: Info{Name: "proxy-user", Kind: KindString, Arg: "NAME", Group: GroupProxy,
		Help: "the proxies demand NAME and the password of proxy-password-file (SOCKS5: RFC 1929; HTTP: Basic)"},
		str: func(o *Options, v string) { o.ProxyUser = v }}),
	ext(option{Info: Info{Name: "proxy-password-file", Kind: KindString, Arg: "FILE", Group: GroupProxy,
		Help: "the proxies' password: the first line of FILE"},
		str: func(o *Options, v string) { o.ProxyPasswordFile = v }}),

	{Info: Info{Name: "file", Kind: KindInclude, Arg: "PATH", Group: GroupFiles, Help: "read options from PATH"}},
	{Info: Info{Name: "call", Kind: KindInclude, Arg: "NAME", Group: GroupFiles, Help: "read options from " + "PPPDIR/peers/NAME"}},

	flagOpt(GroupCompat, "lock", "", func(o *Options) { o.Lock = true }),
	flagOpt(GroupCompat, "nodetach", "", func(o *Options) { o.NoDetach = true }),
	flagOpt(GroupCompat, "updetach", "", func(o *Options) { o.UpDetach = true }),
	flagOpt(GroupCompat, "noipv6", "", func(o *Options) { o.NoIPv6 = true }),
	noOp("nolock", ""),
	noOp("ipcp-accept-local", "we always accept the address the peer assigns"),
	noOp("ipcp-accept-remote", "we always accept the peer's address"),
	noOp("crtscts", "serial line option"),
	noOp("nocrtscts", "serial line option"),
	noOp("modem", "serial line option"),
	noOp("local", "serial line option"),
	noOp("hide-password", "passwords are never logged"),
	noOp("show-password", "passwords are never logged"),
	noOp("noipx", "IPX is not supported"),
	noOp("nologfd", ""),
}

func init() {
	for i := range table {
		if table[i].Group == GroupCompat {
			table[i].NoOp = true
			if table[i].Help == "" {
				table[i].Help = "accepted, no effect"
			}
		}
	}
	if len(table) > 128 {
		panic("pppconf: option table outgrew Options.given")
	}
}

// Table lists every option in help order.
func Table() []Info {
	out := make([]Info, len(table))
	for i := range table {
		out[i] = table[i].Info
	}
	return out
}

// Lookup finds an option by its exact name.
func Lookup(name string) (Info, bool) {
	if i := index(name); i >= 0 {
		return table[i].Info, true
	}
	return Info{}, false
}

func index(name string) int {
	for i := range table {
		if table[i].Name == name {
			return i
		}
	}
	return -1
}

// IsSet reports whether the option called name was given explicitly (an alias counts
// only for its own name: "noencrypt" does not set "nomppe").
func (o *Options) IsSet(name string) bool {
	if name == "local:remote" {
		return o.LocalIP.IsValid() || o.RemoteIP.IsValid()
	}
	i := index(name)
	return i >= 0 && o.given[i/64]&(1<<(i%64)) != 0
}

// AuthName is the name we authenticate as: user, else name.
func (o *Options) AuthName() string {
	if o.User != "" {
		return o.User
	}
	return o.Name
}

// PtyCommand splits the pty command of a peers file into words.
func (o *Options) PtyCommand() ([]string, error) { return SplitWords(o.Pty) }

func (o *Options) warn(s string) { o.Warnings = append(o.Warnings, s) }

// Apply applies one option word with the words that follow it (args) and returns how many
// of args it consumed. `file` and `call` read the named files. Errors are *Error without
// a place (the caller knows it); ParseWords and ParseFile fill it in.
func (o *Options) Apply(word string, args []string) (consumed int, err error) {
	return o.apply(&includes{}, word, args)
}

// includes tracks the files being read, to report loops.
type includes struct{ stack []string }

const maxIncludeDepth = 16

func (o *Options) apply(inc *includes, word string, args []string) (int, error) {
	i := index(word)
	if i < 0 {
		return 0, o.applyOther(word)
	}
	opt := &table[i]
	if opt.Kind.TakesArg() && len(args) == 0 {
		return 0, &Error{Option: word, Msg: fmt.Sprintf("option %q needs %s", word, argNoun(opt.Kind))}
	}
	var arg string
	if opt.Kind.TakesArg() {
		arg = args[0]
	}
	bad := func(extra string) error {
		return &Error{Option: word, Msg: fmt.Sprintf("option %q needs %s, got %q%s", word, argNoun(opt.Kind), arg, extra)}
	}
	switch opt.Kind {
	case KindFlag:
		opt.flag(o)
	case KindInt:
		v, err := strconv.Atoi(arg)
		if err != nil {
			return 0, bad("")
		}
		if v < opt.min || v > opt.max {
			return 0, &Error{Option: word, Msg: fmt.Sprintf("option %q must be between %d and %d, got %d", word, opt.min, opt.max, v)}
		}
		opt.num(o, v)
	case KindHex32:
		v, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimPrefix(arg, "0x"), "0X"), 16, 32)
		if err != nil {
			return 0, bad("")
		}
		opt.num(o, int(v))
	case KindString:
		if opt.check != nil {
			if err := opt.check(arg); err != nil {
				return 0, &Error{Option: word, Msg: fmt.Sprintf("option %q: %v", word, err)}
			}
		}
		opt.str(o, arg)
	case KindIPv4:
		a, err := netip.ParseAddr(arg)
		if err != nil || !a.Is4() {
			return 0, bad("")
		}
		opt.ip(o, a)
	case KindPrefix:
		p, err := netip.ParsePrefix(arg)
		if err != nil || !p.Addr().Is4() {
			return 0, bad("")
		}
		if p.Masked() != p {
			return 0, bad(fmt.Sprintf(" (host bits set; did you mean %s?)", p.Masked()))
		}
		opt.prefix(o, p)
	case KindHexKey:
		// Never echo the value: it is key material.
		k, err := hex.DecodeString(arg)
		if err != nil || (len(k) != 16 && len(k) != 32) {
			return 0, &Error{Option: word, Msg: fmt.Sprintf("option %q needs 32 or 64 hex digits", word)}
		}
		opt.bytes(o, k)
	case KindAddr:
		if _, port, err := net.SplitHostPort(arg); err != nil || port == "" {
			return 0, bad("")
		} else if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return 0, bad("")
		}
		opt.str(o, arg)
	case KindInclude:
		path := arg
		if word == "call" {
			if arg == "" || arg == "." || arg == ".." || strings.ContainsRune(arg, '/') {
				return 0, &Error{Option: word, Msg: fmt.Sprintf("option \"call\": invalid peer name %q", arg)}
			}
			path = filepath.Join(PPPDir, "peers", arg)
		}
		if err := o.parseFile(inc, path); err != nil {
			if e, ok := err.(*Error); ok && e.Src.File != "" {
				return 0, err // an error inside the included file keeps its own place
			}
			return 0, &Error{Option: word, Msg: fmt.Sprintf("option %q: %v", word, err)}
		}
	}
	o.given[i/64] |= 1 << (i % 64)
	if opt.Kind.TakesArg() {
		return 1, nil
	}
	return 0, nil
}

// applyOther handles words that are not named options: pppd's "local:remote" address pair
// and a bare tty speed; everything else is an unknown option.
func (o *Options) applyOther(word string) error {
	if l, r, ok := strings.Cut(word, ":"); ok && !strings.HasPrefix(word, "-") {
		var la, ra netip.Addr
		var err1, err2 error
		if l != "" {
			la, err1 = netip.ParseAddr(l)
		}
		if r != "" {
			ra, err2 = netip.ParseAddr(r)
		}
		if err1 != nil || err2 != nil || (l == "" && r == "") ||
			(la.IsValid() && !la.Is4()) || (ra.IsValid() && !ra.Is4()) {
			return &Error{Option: word, Msg: fmt.Sprintf("bad local:remote IPv4 address pair %q", word)}
		}
		if la.IsValid() {
			o.LocalIP = la
		}
		if ra.IsValid() {
			o.RemoteIP = ra
		}
		return nil
	}
	if _, err := strconv.ParseUint(word, 10, 32); err == nil {
		return nil // a tty speed (pppd accepts "38400"); meaningless for a tunnel
	}
	msg := fmt.Sprintf("unknown option %q", word)
	if s := Closest(word, func(yield func(string) bool) {
		for i := range table {
			if !yield(table[i].Name) {
				return
			}
		}
	}); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return &Error{Option: word, Msg: msg}
}

func argNoun(k Kind) string {
	switch k {
	case KindInt:
		return "a number"
	case KindHex32:
		return "a hexadecimal number"
	case KindIPv4:
		return "an IPv4 address"
	case KindPrefix:
		return "an IPv4 network like 10.0.0.0/8"
	case KindHexKey:
		return "hex digits"
	case KindAddr:
		return "a listen address host:port"
	case KindInclude:
		return "a file name"
	}
	return "a value"
}

// ParseWords applies a list of option words, e.g. pppd options from a command line. src
// names them in errors ({} for the command line).
func (o *Options) ParseWords(words []string, src Source) error {
	return o.parseWords(&includes{}, words, nil, src)
}

// parseWords applies words; lines, when non-nil, gives each word's line in src.File.
func (o *Options) parseWords(inc *includes, words []string, lines []int, src Source) error {
	for i := 0; i < len(words); i++ {
		at := src
		if lines != nil {
			at.Line = lines[i]
		}
		n, err := o.apply(inc, words[i], words[i+1:])
		if err != nil {
			if e, ok := err.(*Error); ok && e.Src.File == "" {
				e.Src = at
			}
			return err
		}
		i += n
	}
	return nil
}

// ParseFile applies the options in a pppd options file (or peers file).
func (o *Options) ParseFile(path string) error { return o.parseFile(&includes{}, path) }

func (o *Options) parseFile(inc *includes, path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	for _, p := range inc.stack {
		if p == abs {
			return fmt.Errorf("include loop: %s -> %s", strings.Join(inc.stack, " -> "), abs)
		}
	}
	if len(inc.stack) >= maxIncludeDepth {
		return fmt.Errorf("includes nested deeper than %d", maxIncludeDepth)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	ws, err := Tokenize(path, data)
	if err != nil {
		return err
	}
	words := make([]string, len(ws))
	lines := make([]int, len(ws))
	for i, w := range ws {
		words[i], lines[i] = w.Text, w.Line
	}
	inc.stack = append(inc.stack, abs)
	defer func() { inc.stack = inc.stack[:len(inc.stack)-1] }()
	return o.parseWords(inc, words, lines, Source{File: path})
}

// Call applies PPPDir/peers/name, like pppd's `call name`.
func (o *Options) Call(name string) error {
	_, err := o.Apply("call", []string{name})
	return err
}

// LoadDefaults applies PPPDir/options when it exists (pppd always reads it; the built-in
// client does so when its caller decides to). It reports whether the file was read.
func (o *Options) LoadDefaults() (bool, error) {
	path := filepath.Join(PPPDir, "options")
	if _, err := os.Stat(path); err != nil {
		if os.IsNotExist(err) {
			return false, nil
		}
		return false, err
	}
	return true, o.ParseFile(path)
}

// ReadPasswordFile returns the first line of path (without the line ending) and a warning
// when group or others may read the file.
func ReadPasswordFile(path string) (password, warning string, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", "", err
	}
	line, _, _ := strings.Cut(string(data), "\n")
	return strings.TrimSuffix(line, "\r"), PermWarning(path), nil
}

// PermWarning returns a warning when group or others can read path, or when it belongs to
// neither root nor us (its owner could change the secret), else "".
func PermWarning(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Sprintf("%s is accessible by group or others (mode %04o): it holds secrets, chmod 600 it", path, fi.Mode().Perm())
	}
	if uid, ok := fileOwner(fi); ok && uid != 0 && uid != os.Geteuid() {
		return fmt.Sprintf("%s belongs to uid %d, not to root or us: its owner can change the secrets, chown it", path, uid)
	}
	return ""
}
