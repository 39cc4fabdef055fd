// SPDX-License-Identifier: MIT

package aaa

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pptp-go/pptp/pppconf"
)

// Server is one RADIUS server: its address and shared secret (never log Secret).
type Server struct {
	Addr   string // host:port as configured
	Secret []byte
}

func (s Server) String() string { return s.Addr }

// Config is a radiusclient.conf (pppd's radius plugin) with its servers file read.
type Config struct {
	Auth, Acct    []Server
	Timeout       time.Duration // radius_timeout: wait per try (default 10 s, as radiusclient)
	Retries       int           // radius_retries: tries per server (default 3)
	DeadTime      time.Duration // radius_deadtime: skip a server this long after it failed (default 0: never)
	Bind          netip.Addr    // bindaddr: our source address; invalid = any
	NASIdentifier string        // nas-identifier; "" = the host name
	NASIP         netip.Addr    // nas-ip-address (extension): else bindaddr, else the call's local address
	DAE           string        // dae-server (extension): listen address for Disconnect/CoA (RFC 5176), "" = none
	Dictionary    string        // dictionary: read only to check it exists (the attributes we use are built in)
	Notes         []string      // remarks for the log (a missing dictionary, ignored keywords)
}

// Bound is the longest an exchange can take: every server, every try.
func (c *Config) Bound(servers []Server) time.Duration {
	return time.Duration(len(servers)*c.Retries) * c.Timeout
}

// radiusclient.conf keywords we accept without using (login programs, sequence file …).
var ignoredKeys = map[string]bool{
	"auth_order": true, "login_tries": true, "login_timeout": true, "nologin": true, "issue": true,
	"login_radius": true, "seqfile": true, "mapfile": true, "default_realm": true,
	"login_local": true, "clientdebug": true,
}

// ParseConfig reads a radiusclient.conf and the servers file it names; an error names the
// file and line.
func ParseConfig(path string) (*Config, error) {
	c := &Config{Timeout: 10 * time.Second, Retries: 3}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var authWords, acctWords []string
	var authLine, acctLine int
	servers := ""
	serversLine := 0
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		words := strings.Fields(text)
		key, val := words[0], strings.Join(words[1:], " ")
		bad := func(msg string, a ...any) error {
			return &pppconf.Error{Src: pppconf.Source{File: path, Line: line}, Option: key, Msg: fmt.Sprintf(msg, a...)}
		}
		if val == "" && !ignoredKeys[key] {
			return nil, bad("%s needs a value", key)
		}
		switch key {
		case "authserver":
			authWords, authLine = append(authWords, splitList(val)...), line
		case "acctserver":
			acctWords, acctLine = append(acctWords, splitList(val)...), line
		case "servers":
			servers, serversLine = val, line
		case "dictionary":
			c.Dictionary = val
		case "radius_timeout", "radius_retries", "radius_deadtime":
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 || n > 86400 || (n == 0 && key != "radius_deadtime") {
				return nil, bad("%s needs a positive number, got %q", key, val)
			}
			switch key {
			case "radius_timeout":
				c.Timeout = time.Duration(n) * time.Second
			case "radius_retries":
				c.Retries = n
			default:
				c.DeadTime = time.Duration(n) * time.Second
			}
		case "bindaddr":
			if val == "*" {
				continue
			}
			a, err := netip.ParseAddr(val)
			if err != nil || !a.Is4() {
				return nil, bad("bindaddr needs an IPv4 address or *, got %q", val)
			}
			c.Bind = a
		case "dae-server", "dae_server":
			addr := val
			if _, _, err := net.SplitHostPort(addr); err != nil {
				addr = net.JoinHostPort(addr, "3799")
			}
			if _, p, err := net.SplitHostPort(addr); err != nil || p == "0" {
				return nil, bad("dae-server needs an address or address:port, got %q", val)
			}
			c.DAE = addr
		case "nas-identifier", "nas_identifier":
			c.NASIdentifier = val
		case "nas-ip-address", "nas_ip_address":
			a, err := netip.ParseAddr(val)
			if err != nil || !a.Is4() {
				return nil, bad("%s needs an IPv4 address, got %q", key, val)
			}
			c.NASIP = a
		default:
			if !ignoredKeys[key] {
				return nil, bad("unknown keyword %q", key)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(authWords) == 0 {
		return nil, &pppconf.Error{Src: pppconf.Source{File: path}, Msg: "no authserver"}
	}
	if servers == "" {
		return nil, &pppconf.Error{Src: pppconf.Source{File: path}, Msg: "no servers file (servers /etc/radiusclient/servers)"}
	}
	servers = relTo(path, servers)
	secrets, err := parseServers(servers)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &pppconf.Error{Src: pppconf.Source{File: path, Line: serversLine}, Option: "servers", Msg: err.Error()}
		}
		return nil, err
	}
	if c.Auth, err = resolveServers(authWords, "1812", secrets, path, authLine, servers); err != nil {
		return nil, err
	}
	if len(acctWords) > 0 {
		if c.Acct, err = resolveServers(acctWords, "1813", secrets, path, acctLine, servers); err != nil {
			return nil, err
		}
	}
	if c.Dictionary != "" {
		c.Dictionary = relTo(path, c.Dictionary)
		if _, err := os.Stat(c.Dictionary); err != nil {
			c.Notes = append(c.Notes, fmt.Sprintf("%s: dictionary %s cannot be read (%v); the attributes we use are built in", path, c.Dictionary, errors.Unwrap(err)))
		}
	}
	return c, nil
}

func relTo(conf, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(conf), p)
}

func splitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}

// resolveServers gives each host[:port] its port and its secret from the servers file.
func resolveServers(words []string, defPort string, secrets map[string][]byte, conf string, line int, serversPath string) ([]Server, error) {
	var out []Server
	for _, w := range words {
		host, port := w, defPort
		if h, p, err := net.SplitHostPort(w); err == nil {
			host, port = h, p
		} else if strings.Count(w, ":") == 1 {
			host, port, _ = strings.Cut(w, ":")
		}
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 || host == "" {
			return nil, &pppconf.Error{Src: pppconf.Source{File: conf, Line: line}, Msg: fmt.Sprintf("bad server %q (want host or host:port)", w)}
		}
		secret, ok := secrets[host]
		if !ok {
			secret, ok = secrets[net.JoinHostPort(host, port)]
		}
		if !ok {
			return nil, &pppconf.Error{Src: pppconf.Source{File: conf, Line: line}, Msg: fmt.Sprintf("server %s has no secret in %s", host, serversPath)}
		}
		out = append(out, Server{Addr: net.JoinHostPort(host, port), Secret: secret})
	}
	return out, nil
}

// parseServers reads a radiusclient servers file: "host secret" per line.
func parseServers(path string) (map[string][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[string][]byte{}
	for i, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' {
			continue
		}
		f := strings.Fields(l)
		if len(f) != 2 {
			// Never echo the line: it holds a secret.
			return nil, &pppconf.Error{Src: pppconf.Source{File: path, Line: i + 1}, Msg: fmt.Sprintf("want \"server secret\", got %d words", len(f))}
		}
		m[f[0]] = []byte(f[1])
	}
	return m, nil
}
