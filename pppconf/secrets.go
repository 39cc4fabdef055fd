// SPDX-License-Identifier: MIT

package pppconf

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
)

// Secret is one chap-secrets / pap-secrets record: `client server secret [ip ...]`.
type Secret struct {
	Client, Server string
	Secret         string
	IPs            []string // acceptable addresses for the client, as written ("*", "-", "!a", a)
	Line           int
	// Err is why an @/file secret could not be read; like pppd, which reads the file
	// only for the record it uses, it matters only when this record is used.
	Err error
}

// String leaves the secret out, so a record can be logged by mistake without harm.
func (s Secret) String() string {
	return fmt.Sprintf("%s %s <secret> %s", s.Client, s.Server, strings.Join(s.IPs, " "))
}

// GoString also hides the secret (%#v).
func (s Secret) GoString() string { return "pppconf.Secret{" + s.String() + "}" }

// Secrets is a parsed secrets file.
type Secrets struct {
	Path    string
	Entries []Secret
	Warning string // non-empty when group or others can read the file, or it has a stranger owner
	// FileWarnings are the same about the @/file secrets it names, one per file.
	FileWarnings []string
}

// ParseSecrets parses secrets data: records start at the beginning of a line with client,
// server and secret; the remaining words on that line are addresses. Quoting, escapes and
// comments are as in options files. A record with fewer than three words is an error.
func ParseSecrets(file string, data []byte) ([]Secret, error) {
	ws, err := Tokenize(file, data)
	if err != nil {
		return nil, err
	}
	var out []Secret
	for i := 0; i < len(ws); {
		if !ws[i].BOL {
			return nil, &Error{Src: Source{file, ws[i].Line}, Msg: "secrets record must start at the beginning of a line"}
		}
		j := i + 1
		for j < len(ws) && !ws[j].BOL {
			j++
		}
		if j-i < 3 {
			return nil, &Error{Src: Source{file, ws[i].Line},
				Msg: "secrets record needs client, server and secret (and optional addresses)"}
		}
		s := Secret{Client: ws[i].Text, Server: ws[i+1].Text, Secret: ws[i+2].Text, Line: ws[i].Line}
		for _, w := range ws[i+3 : j] {
			s.IPs = append(s.IPs, w.Text)
		}
		out = append(out, s)
		i = j
	}
	return out, nil
}

// ReadSecrets reads and parses a secrets file. A secret written as @/path is replaced by
// the first line of that file, as pppd does.
func ReadSecrets(path string) (*Secrets, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	es, err := ParseSecrets(path, data)
	if err != nil {
		return nil, err
	}
	out := &Secrets{Path: path, Entries: es, Warning: PermWarning(path)}
	for i := range es {
		if strings.HasPrefix(es[i].Secret, "@/") {
			sec, warn, err := ReadPasswordFile(es[i].Secret[1:])
			if err != nil {
				es[i].Secret, es[i].Err = "", &Error{Src: Source{path, es[i].Line}, Msg: fmt.Sprintf("secret file: %v", err)}
				continue
			}
			if warn != "" {
				out.FileWarnings = append(out.FileWarnings, fmt.Sprintf("%s:%d: %s", path, es[i].Line, warn))
			}
			es[i].Secret = sec
		}
	}
	return out, nil
}

// Lookup finds the record for client and server with pppd's rules: a field matches when
// equal or "*"; an exact client and exact server beat an exact client alone, which beats
// an exact server alone, which beats "* *"; among equals the first record wins.
func (s *Secrets) Lookup(client, server string) (Secret, bool) {
	best, bestScore := -1, -1
	for i, e := range s.Entries {
		score := 0
		switch e.Client {
		case client:
			score |= 2
		case "*":
		default:
			continue
		}
		switch e.Server {
		case server:
			score |= 1
		case "*":
		default:
			continue
		}
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	if best < 0 {
		return Secret{}, false
	}
	return s.Entries[best], true
}

// ForServer returns a secret lookup for our server name, in the shape ppp.Config.Secret
// wants: peer user name → secret.
func (s *Secrets) ForServer(server string) func(user string) (string, bool) {
	return func(user string) (string, bool) {
		e, ok := s.Lookup(user, server)
		return e.Secret, ok
	}
}

// LookupClient is the client's lookup when the server's name is not known yet (no
// remotename): pppd would take the name the server sends in its challenge. The records for
// client (exactly, or "*" if none) that could match some server name must all hold the
// same secret, so that whichever name the server sends gives the same answer; the first of
// them is returned. ambiguous reports records that disagree.
func (s *Secrets) LookupClient(client string) (e Secret, ok, ambiguous bool) {
	for _, want := range []string{client, "*"} {
		for _, c := range s.Entries {
			if c.Client != want {
				continue
			}
			if !ok {
				e, ok = c, true
			} else if c.Secret != e.Secret || c.Err != nil || e.Err != nil {
				return Secret{}, false, true
			}
		}
		if ok {
			return e, true, false
		}
	}
	return Secret{}, false, false
}

// LookupSecret reads path and returns the secret and addresses for client and server.
// No matching record is an error wrapping ErrNoSecret; a file that does not parse, or a
// matching record whose @/file cannot be read, is an error naming the file and line.
func LookupSecret(path, client, server string) (secret string, ips []string, err error) {
	s, err := ReadSecrets(path)
	if err != nil {
		return "", nil, err
	}
	e, ok := s.Lookup(client, server)
	if !ok {
		return "", nil, fmt.Errorf("%s: client %q server %q: %w", path, client, server, ErrNoSecret)
	}
	if e.Err != nil {
		return "", nil, e.Err
	}
	return e.Secret, e.IPs, nil
}

// Permits reports whether the address column allows the client address a, as pppd reads
// it: no addresses or "*" allow any; "-" none; "!addr" or "!addr/len" excludes; "addr" or
// "addr/len" allows; the first word that matches decides, and an address no word matches is
// refused (unless the column is empty). Words that are not addresses (pppd's "+" for the
// options file's addresses) match nothing.
func (s Secret) Permits(a netip.Addr) bool {
	if len(s.IPs) == 0 {
		return true
	}
	for _, w := range s.IPs {
		neg := strings.HasPrefix(w, "!")
		w = strings.TrimPrefix(w, "!")
		var match bool
		switch {
		case w == "*":
			match = true
		case w == "-":
			return false
		case strings.Contains(w, "/"):
			p, err := netip.ParsePrefix(w)
			match = err == nil && p.Contains(a)
		default:
			x, err := netip.ParseAddr(w)
			match = err == nil && x == a
		}
		if match {
			return !neg
		}
	}
	return false
}
