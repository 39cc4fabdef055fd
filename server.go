// SPDX-License-Identifier: MIT

package pptp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"golang.zx2c4.com/wireguard/tun"

	"github.com/pptp-go/pptp/control"
	"github.com/pptp-go/pptp/gre"
	"github.com/pptp-go/pptp/netstack"
	"github.com/pptp-go/pptp/ppp"
	"github.com/pptp-go/pptp/pppconf"
	"github.com/pptp-go/pptp/session"
)

// ServerConfig configures Serve. The zero values of Auth and Encryption are the safe ones,
// as for Config: MS-CHAPv2 only, 128-bit MPPE required.
type ServerConfig struct {
	// Password returns a user's password (MS-CHAP needs it in clear), or false to refuse
	// the login.
	Password func(user string) (password string, ok bool)
	// Auth is the methods clients may log in with (zero: MS-CHAPv2).
	Auth AuthMethods
	// Encryption is what the server requires of MPPE (zero: RequireMPPE128).
	Encryption Encryption
	// Local is the server's address on every link; Pool the clients' addresses, one per
	// session at a time; DNS the servers clients are told to use (the DNS of a session
	// goes to its Handler like any other flow).
	Local netip.Addr
	Pool  []netip.Addr
	DNS   []netip.Addr
	// Handle is called once a session's link is up. It returns how the session's stack
	// treats the client's connections and flows, and a function to call when the session
	// ends (nil for none). egress.NewSession(...).Handler() sends them on from this process,
	// directly or through a proxy.
	Handle func(s *ServerSession) (h netstack.Handler, done func())
	// MaxSessions bounds the sessions at once (zero: 100).
	MaxSessions int
	Logf        func(format string, args ...any)
	Debug       bool // log every PPP negotiation (no secrets)
}

// ServerSession describes a client's session to ServerConfig.Handle.
type ServerSession struct {
	User       string     // whom the client logged in as
	Client     netip.Addr // where the call came from
	Local      netip.Addr // the server's end of the link
	Peer       netip.Addr // the client's address on the link
	Auth       string     // "MS-CHAPv2", …
	Encryption string     // "MPPE 128-bit stateless", or "none"
}

// Serve runs a PPTP server on ln (TCP port 1723, usually) until ctx ends, then closes every
// session and returns nil. Every session ends in a user-space TCP/IP stack of its own
// (netstack.NewForwarding) that takes the client's packets to any address; Handle decides
// what becomes of them. No TUN is made: Serve needs CAP_NET_RAW for GRE, not CAP_NET_ADMIN.
func Serve(ctx context.Context, ln net.Listener, cfg ServerConfig) error {
	sc, err := cfg.sessionConfig()
	if err != nil {
		return err
	}
	srv, err := session.NewServer(sc)
	if err != nil {
		return err
	}
	return srv.Serve(ctx, ln)
}

func (c *ServerConfig) sessionConfig() (session.ServerConfig, error) {
	var sc session.ServerConfig
	switch {
	case c.Password == nil:
		return sc, errors.New("pptp: ServerConfig.Password is nil")
	case c.Handle == nil:
		return sc, errors.New("pptp: ServerConfig.Handle is nil")
	case !c.Local.Is4():
		return sc, fmt.Errorf("pptp: ServerConfig.Local %v is not an IPv4 address", c.Local)
	case len(c.Pool) == 0:
		return sc, errors.New("pptp: ServerConfig.Pool is empty")
	case c.Auth&^allAuth != 0:
		return sc, fmt.Errorf("pptp: ServerConfig.Auth has unknown bits %#x", uint8(c.Auth&^allAuth))
	case c.Encryption >= numEncryption:
		return sc, fmt.Errorf("pptp: ServerConfig.Encryption %d is not one of the constants", c.Encryption)
	}
	pairs := make([]pppconf.AddrPair, 0, len(c.Pool))
	seen := map[netip.Addr]bool{c.Local: true}
	for _, a := range c.Pool {
		if !a.Is4() || seen[a] {
			return sc, fmt.Errorf("pptp: ServerConfig.Pool: %v is not an IPv4 address, is repeated or is Local", a)
		}
		seen[a] = true
		pairs = append(pairs, pppconf.AddrPair{Local: c.Local, Remote: a})
	}
	e := pppconf.DefaultServerConfig()
	methods, err := policy(&e, "ServerConfig", c.Auth, c.Encryption)
	if err != nil {
		return sc, err
	}
	e.Require = 0
	for _, m := range authMethods {
		if methods&m.a != 0 {
			e.Require = e.Require.Add(m.m)
		}
	}
	e.Secret, e.DNS, e.Debug = c.Password, c.DNS, c.Debug
	logf := c.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	e.Logf = logf
	handle := c.Handle
	return session.ServerConfig{
		Control:     control.ServerConfig{HostName: "pptp-go", Logf: logf},
		PPP:         e,
		Pool:        session.NewPool(pairs),
		Connections: min(cmp.Or(max(c.MaxSessions, 0), 100), len(pairs)),
		Link:        gre.LinkOptions{Socket: gre.Options{FastPath: true}},
		Logf:        logf,
		Stack: func(client netip.Addr, p ppp.LinkParams) (tun.Device, func(), error) {
			h, done := handle(&ServerSession{User: p.AuthUser, Client: client, Local: p.Local, Peer: p.Peer,
				Auth: p.Auth.String(), Encryption: session.Cipher(p)})
			st, err := netstack.NewForwarding(p.Local, p.MTU, h)
			if err != nil {
				if done != nil {
					done()
				}
				return nil, nil, err
			}
			if done == nil {
				done = func() {}
			}
			return st, done, nil
		},
	}, nil
}
