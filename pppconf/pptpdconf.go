// SPDX-License-Identifier: MIT

package pppconf

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pptp-go/pptp/proxy"
)

// poptop's defaults (defaults.h).
const (
	DefaultPPTPDConfPath  = "/etc/pptpd.conf"
	DefaultPPTPDPidFile   = "/var/run/pptpd.pid"
	DefaultConnections    = 100
	DefaultStartTimeout   = 10 * time.Second
	DefaultLocalIPList    = "192.168.0.1-100"
	DefaultRemoteIPList   = "192.168.1.1-100"
	maxPPTPDConfLineBytes = 4096
)

// PPTPDConf is poptop's pptpd.conf: one keyword per line, the rest of the line is its value,
// '#' starts a comment. As in poptop, the first occurrence of a keyword wins.
type PPTPDConf struct {
	Path         string
	Option       string        // option: pppd options file for every call
	Debug        bool          // debug
	StartTimeout time.Duration // stimeout: first SCCRQ must arrive within (default 10s)
	NoIPParam    bool          // noipparam
	LogWTMP      bool          // logwtmp (accepted; wtmp is not written)
	Connections  int           // connections (default 100)
	LocalIP      []netip.Addr  // localip, expanded (default 192.168.0.1-100)
	RemoteIP     []netip.Addr  // remoteip, expanded (default 192.168.1.1-100)
	Listen       netip.Addr    // listen (zero = all addresses of both families)
	PidFile      string        // pidfile (default /var/run/pptpd.pid)
	Speed        string        // speed (accepted; a tunnel has no baud rate)
	PPP          string        // ppp (accepted and ignored: the built-in engine runs PPP)
	GRETx        string        // gre-tx: "auto" (default) or "ip" (ours; see pptpd(8))
	GREOwn       int           // gre-own-sockets: calls with a GRE socket of their own (ours), -1 = default
	NoMSSClamp   bool          // nomssclamp (ours): leave TCP SYNs' MSS alone (default: clamp to MTU − 40)
	// Limits against hostile clients (ours; see pptpd(8)). Zero = the default.
	AuthTimeout    time.Duration  // auth-timeout: from the call to authentication done (default 60 s)
	HalfOpen       int            // max-half-open: connections per source not logged in yet (default 8; -1 = no limit)
	CallsPerSource int            // max-calls-per-source (default: connections)
	FailDelay      time.Duration  // fail-delay: after one failed login (default 1 s; -1 = none)
	RoutedSubnets  []netip.Prefix // routed-subnet: client sources allowed besides their address
	// Ours, for sessions with no TUN (pptpd(8) EGRESS):
	Egress      string         // egress: "tun" (default) or "netstack"
	EgressProxy string         // egress-proxy: socks5:// or http:// URL every flow goes through
	EgressDeny  []netip.Prefix // egress-deny: destinations refused besides loopback and link-local
	EgressFlows int            // egress-flows: flows open at once per session (0 = default)
	EgressDNS   []netip.Addr   // egress-resolver: where clients' DNS goes (default: resolv.conf's)
	// Ours, for IPv6 inside the tunnel (pptpd(8) IPV6):
	RemoteIP6 netip.Prefix // remoteip6: a /64 of it per session, in Router Advertisements
	DNS6      []netip.Addr // dns6: IPv6 DNS servers in those RAs (RDNSS, RFC 8106)
	// Metrics (ours) is the address:port of a Prometheus /metrics listener; zero = none.
	Metrics netip.AddrPort

	Notes []string // non-fatal remarks (ignored keywords, duplicates) to log at start

	lines map[string]int // keyword → line it was taken from
}

// DefaultPPTPDConf is what pptpd uses with no configuration file.
func DefaultPPTPDConf() *PPTPDConf {
	c := &PPTPDConf{
		StartTimeout: DefaultStartTimeout,
		Connections:  DefaultConnections,
		PidFile:      DefaultPPTPDPidFile,
		GRETx:        GRETxAuto,
		GREOwn:       -1,
		lines:        map[string]int{},
	}
	c.LocalIP, _ = ParseIPList(DefaultLocalIPList)
	c.RemoteIP, _ = ParseIPList(DefaultRemoteIPList)
	return c
}

// IsSet reports whether keyword appeared in the file.
func (c *PPTPDConf) IsSet(keyword string) bool { _, ok := c.lines[keyword]; return ok }

// ParsePPTPDConf reads and parses a pptpd.conf.
func ParsePPTPDConf(path string) (*PPTPDConf, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParsePPTPDConfData(path, data)
}

var pptpdKeywords = []string{"option", "debug", "stimeout", "noipparam", "logwtmp", "connections",
	"localip", "remoteip", "listen", "pidfile", "speed", "ppp", "bcrelay", "delegate", "vrf", "gre-tx", "gre-own-sockets",
	"auth-timeout", "max-half-open", "max-calls-per-source", "fail-delay", "routed-subnet",
	"egress", "egress-proxy", "egress-deny", "egress-flows", "egress-resolver", "nomssclamp", "remoteip6", "dns6", "metrics"}

// GRE send modes (pptp --gre-tx, pptpd gre-tx).
const (
	GRETxAuto = "auto" // a packet socket on the egress Ethernet device when safe
	GRETxIP   = "ip"   // every packet through the kernel's IP output
)

// ParseGRETx checks a gre-tx value.
func ParseGRETx(v string) (string, error) {
	if v != GRETxAuto && v != GRETxIP {
		return "", fmt.Errorf("gre-tx must be %q or %q, got %q", GRETxAuto, GRETxIP, v)
	}
	return v, nil
}

// ParsePPTPDConfData parses pptpd.conf contents; path names the file in errors.
func ParsePPTPDConfData(path string, data []byte) (*PPTPDConf, error) {
	c := DefaultPPTPDConf()
	c.Path = path
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, maxPPTPDConfLineBytes)
	n := 1
	for ; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		kw, val := strings.TrimSpace(line), ""
		if j := strings.IndexAny(kw, " \t"); j >= 0 {
			kw, val = kw[:j], strings.TrimSpace(kw[j+1:])
		}
		if kw == "" {
			continue
		}
		if err := c.keyword(kw, val, n); err != nil {
			err.Src = Source{path, n}
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			return nil, &Error{Src: Source{path, n}, Msg: fmt.Sprintf("line longer than %d bytes", maxPPTPDConfLineBytes)}
		}
		return nil, &Error{Src: Source{path, n}, Msg: err.Error()}
	}
	return c, nil
}

func (c *PPTPDConf) keyword(kw, val string, n int) *Error {
	fail := func(format string, args ...any) *Error {
		return &Error{Option: kw, Msg: fmt.Sprintf(format, args...)}
	}
	switch kw {
	case "bcrelay", "delegate", "vrf":
		return fail("keyword %q is not supported by this pptpd", kw)
	}
	known := false
	for _, k := range pptpdKeywords {
		known = known || k == kw
	}
	if !known {
		msg := fmt.Sprintf("unknown keyword %q", kw)
		if s := Closest(kw, func(yield func(string) bool) {
			for _, k := range pptpdKeywords {
				if !yield(k) {
					return
				}
			}
		}); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		return fail("%s", msg)
	}
	if first, dup := c.lines[kw]; dup {
		c.Notes = append(c.Notes, fmt.Sprintf("%s:%d: %q repeated; the first one (line %d) is used, as poptop does", c.Path, n, kw, first))
		return nil
	}
	flag := kw == "debug" || kw == "noipparam" || kw == "logwtmp" || kw == "nomssclamp"
	switch {
	case flag && val != "":
		return fail("keyword %q takes no value, got %q", kw, val)
	case !flag && val == "":
		return fail("keyword %q needs a value", kw)
	}
	positive := func() (int, *Error) {
		v, err := strconv.Atoi(val)
		if err != nil || v <= 0 {
			return 0, fail("keyword %q needs a positive number, got %q", kw, val)
		}
		return v, nil
	}
	switch kw {
	case "option":
		c.Option = val
	case "debug":
		c.Debug = true
	case "noipparam":
		c.NoIPParam = true
	case "nomssclamp":
		c.NoMSSClamp = true
	case "logwtmp":
		c.LogWTMP = true
		c.Notes = append(c.Notes, fmt.Sprintf("%s:%d: logwtmp accepted; wtmp is not written", c.Path, n))
	case "stimeout":
		v, err := positive()
		if err != nil {
			return err
		}
		c.StartTimeout = time.Duration(v) * time.Second
	case "connections":
		v, err := positive()
		if err != nil {
			return err
		}
		c.Connections = v
	case "localip", "remoteip":
		l, err := ParseIPList(val)
		if err != nil {
			return fail("%s: %v", kw, err)
		}
		if kw == "localip" {
			c.LocalIP = l
		} else {
			c.RemoteIP = l
		}
	case "listen":
		a, err := ParseListenAddr(val)
		if err != nil {
			return fail("keyword \"listen\": %v", err)
		}
		c.Listen = a
	case "pidfile":
		c.PidFile = val
	case "gre-tx":
		v, err := ParseGRETx(val)
		if err != nil {
			return fail("%v", err)
		}
		c.GRETx = v
	case "gre-own-sockets":
		v, err := strconv.Atoi(val)
		if err != nil || v < 0 || v > 1024 {
			return fail("keyword %q needs a number from 0 to 1024, got %q", kw, val)
		}
		c.GREOwn = v
	case "egress":
		if val != "tun" && val != "netstack" {
			return fail("keyword %q needs \"tun\" or \"netstack\", got %q", kw, val)
		}
		c.Egress = val
	case "egress-proxy":
		if _, err := proxy.ParseUpstream(val); err != nil {
			return fail("%v", err)
		}
		c.EgressProxy = val
	case "egress-deny":
		for _, f := range strings.Fields(val) {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				a, aerr := netip.ParseAddr(f)
				if aerr != nil {
					return fail("keyword %q needs address prefixes (10.0.0.0/8, 192.0.2.7), got %q", kw, f)
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			c.EgressDeny = append(c.EgressDeny, p.Masked())
		}
	case "egress-resolver":
		for _, f := range strings.Fields(val) {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return fail("keyword %q needs IP addresses, got %q", kw, f)
			}
			c.EgressDNS = append(c.EgressDNS, a.Unmap())
		}
	case "metrics":
		a, err := netip.ParseAddrPort(val)
		if err != nil || a.Port() == 0 {
			return fail("keyword %q needs ADDRESS:PORT (127.0.0.1:9523), got %q", kw, val)
		}
		c.Metrics = a
	case "egress-flows":
		v, err := positive()
		if err != nil {
			return err
		}
		c.EgressFlows = v
	case "remoteip6":
		p, err := netip.ParsePrefix(val)
		switch {
		case err != nil || !p.Addr().Is6() || p.Addr().Is4In6():
			return fail("keyword %q needs an IPv6 prefix such as 2001:db8:99::/56, got %q", kw, val)
		case p.Bits() > 64:
			return fail("keyword %q: %v is longer than /64; each session needs a /64 of it", kw, p)
		case p.Masked() != p:
			return fail("keyword %q: %v has host bits set; did you mean %v?", kw, p, p.Masked())
		}
		c.RemoteIP6 = p
	case "dns6":
		for _, f := range strings.Fields(val) {
			a, err := netip.ParseAddr(f)
			if err != nil || !a.Is6() || a.Is4In6() {
				return fail("keyword %q needs IPv6 addresses, got %q", kw, f)
			}
			c.DNS6 = append(c.DNS6, a)
		}
	case "auth-timeout":
		v, err := positive()
		if err != nil {
			return err
		}
		c.AuthTimeout = time.Duration(v) * time.Second
	case "max-half-open", "max-calls-per-source", "fail-delay":
		v, err := strconv.Atoi(val)
		if err != nil || v < 0 || v > 65535 {
			return fail("keyword %q needs a number from 0 to 65535, got %q", kw, val)
		}
		switch kw {
		case "max-half-open":
			c.HalfOpen = cmp.Or(v, -1) // 0 = no limit
		case "max-calls-per-source":
			c.CallsPerSource = v
		case "fail-delay":
			c.FailDelay = cmp.Or(time.Duration(v)*time.Second, -1) // 0 = none
		}
	case "routed-subnet":
		for _, f := range strings.Split(val, ",") {
			p, err := netip.ParsePrefix(strings.TrimSpace(f))
			if err != nil || !p.Addr().Is4() {
				return fail("keyword %q needs IPv4 prefixes such as 192.168.50.0/24, got %q", kw, f)
			}
			c.RoutedSubnets = append(c.RoutedSubnets, p.Masked())
		}
	case "speed":
		c.Speed = val
	case "ppp":
		c.PPP = val
		c.Notes = append(c.Notes, fmt.Sprintf("%s:%d: ppp %s ignored: the built-in PPP engine is used, no pppd is started", c.Path, n, val))
	}
	c.lines[kw] = n
	return nil
}

// ParseIPList expands poptop's address list syntax: comma-separated addresses and ranges,
// where one octet may be a range ("192.168.0.234-238", "10.0-3.0.1"). No spaces.
func ParseIPList(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, item := range strings.Split(s, ",") {
		if item == "" {
			return nil, fmt.Errorf("empty entry in address list %q", s)
		}
		if !strings.Contains(item, "-") {
			a, err := netip.ParseAddr(item)
			if err != nil || !a.Is4() {
				return nil, fmt.Errorf("bad IPv4 address %q", item)
			}
			out = append(out, a)
			continue
		}
		oct := strings.Split(item, ".")
		if len(oct) != 4 || strings.Count(item, "-") != 1 {
			return nil, fmt.Errorf("bad address range %q (one octet may be a range, e.g. 192.168.0.10-20)", item)
		}
		var lo, hi [4]int
		for k, o := range oct {
			a, b, isRange := strings.Cut(o, "-")
			x, err1 := parseOctet(a)
			y, err2 := x, error(nil)
			if isRange {
				y, err2 = parseOctet(b)
			}
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("bad address range %q", item)
			}
			lo[k], hi[k] = x, y
		}
		for k := range 4 {
			if hi[k] < lo[k] {
				return nil, fmt.Errorf("bad address range %q: %d-%d runs backwards", item, lo[k], hi[k])
			}
		}
		for k := range 4 {
			if lo[k] == hi[k] {
				continue
			}
			for v := lo[k]; v <= hi[k]; v++ {
				b := [4]byte{byte(lo[0]), byte(lo[1]), byte(lo[2]), byte(lo[3])}
				b[k] = byte(v)
				out = append(out, netip.AddrFrom4(b))
			}
		}
		if lo == hi { // "10.0.0.5-5"
			out = append(out, netip.AddrFrom4([4]byte{byte(lo[0]), byte(lo[1]), byte(lo[2]), byte(lo[3])}))
		}
	}
	return out, nil
}

func parseOctet(s string) (int, error) {
	if s == "" || len(s) > 3 {
		return 0, strconv.ErrSyntax
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 || v > 255 {
		return 0, strconv.ErrSyntax
	}
	return v, nil
}

// AddrPair is the (our address, peer address) of one call.
type AddrPair struct{ Local, Remote netip.Addr }

// ExpandPairs pairs local and remote addresses like poptop: a single local address serves
// every call; otherwise the i-th local goes with the i-th remote. The number of pairs is the
// smallest of connections and the list lengths; notes say when a limit cut the list.
func ExpandPairs(local, remote []netip.Addr, connections int) (pairs []AddrPair, notes []string, err error) {
	if len(local) == 0 || len(remote) == 0 {
		return nil, nil, fmt.Errorf("localip and remoteip need at least one address each")
	}
	// A client given our own address, or one given to another client, gets a link that
	// cannot work (and a repeated one only counts twice towards connections).
	seen := make(map[netip.Addr]bool, len(remote))
	for _, a := range local {
		seen[a] = true
	}
	for _, a := range remote {
		if seen[a] {
			if slices.Contains(local, a) {
				return nil, nil, fmt.Errorf("remoteip %v is also a localip address", a)
			}
			return nil, nil, fmt.Errorf("remoteip lists %v twice", a)
		}
		seen[a] = true
	}
	n := min(connections, len(remote))
	if len(remote) > connections {
		notes = append(notes, fmt.Sprintf("connections limit (%d) reached, extra remote addresses ignored", connections))
	}
	if len(local) != 1 && len(local) < n {
		notes = append(notes, fmt.Sprintf("only %d local addresses for %d remote ones: %d calls at most", len(local), n, len(local)))
		n = len(local)
	}
	if n < connections {
		notes = append(notes, fmt.Sprintf("maximum of %d connections reduced to %d, not enough IP addresses given", connections, n))
	}
	pairs = make([]AddrPair, n)
	for i := range pairs {
		l := local[0]
		if len(local) > 1 {
			l = local[i]
		}
		pairs[i] = AddrPair{Local: l, Remote: remote[i]}
	}
	return pairs, notes, nil
}

// Pairs expands c's localip/remoteip within c.Connections.
func (c *PPTPDConf) Pairs() ([]AddrPair, []string, error) {
	pairs, notes, err := ExpandPairs(c.LocalIP, c.RemoteIP, c.Connections)
	if n, ok := c.lines["remoteip"]; err != nil && ok {
		err = fmt.Errorf("%s:%d: %w", c.Path, n, err)
	}
	return pairs, notes, err
}

// ParseListenAddr parses the address of pptpd.conf's listen (and pptpd --listen): an IPv4
// or IPv6 address (the port is PPTP's, 1723); a link-local IPv6 address needs its zone.
func ParseListenAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%q is not an IPv4 or IPv6 address", s)
	}
	a = a.Unmap()
	if a.Is6() && a.Zone() == "" && a.IsLinkLocalUnicast() {
		return netip.Addr{}, fmt.Errorf("link-local address %s needs its zone, the interface (as in %s%%eth0)", a, a)
	}
	return a, nil
}
