// SPDX-License-Identifier: MIT

package ppp

import (
	"net/netip"
	"time"

	"github.com/pptp-go/pptp/ppp/auth"
)

// MPPEPolicy is what we allow and require of MPPE (pppd's require-mppe*, mppe-stateful).
// The zero value allows no MPPE at all (pppd's nomppe); pppconf.DefaultClientConfig allows
// stateless MPPE at either key length without requiring it.
type MPPEPolicy struct {
	Require           bool // link fails unless MPPE is negotiated (require-mppe*)
	Allow40, Allow128 bool
	Stateless         bool // allow stateless
	Stateful          bool // allow stateful (mppe-stateful); Stateful && !Stateless = ask for stateful alone
}

// Config configures an Engine. The zero value of a field means the pppd default.
type Config struct {
	Server       bool
	MRU, MTU     uint16        // our MRU (default 1400), cap on the MTU we use
	EchoInterval time.Duration // lcp-echo-interval; 0 = no keepalive
	EchoFailure  int           // lcp-echo-failure; 0 = never declare the peer dead
	User         string        // client
	Password     string        // client; never logged
	// Refuse lists methods the client refuses; Require lists the methods the server
	// accepts. Preference order is MS-CHAPv2, MS-CHAPv1, CHAP-MD5, PAP.
	Refuse, Require auth.MethodSet
	Name            string                           // our name (CHAP challenge name on the server)
	Secret          func(user string) (string, bool) // server: password of a user
	// Verify, when set, replaces Secret (server): the peer's response goes to it (RADIUS),
	// and its verdict may carry the MPPE start keys and the peer's address, DNS and MTU.
	Verify auth.Verifier
	MPPE   MPPEPolicy
	// StartKeys, when set, are the MPPE start keys (ours: Send is what we encrypt with)
	// instead of keys derived from MS-CHAP (set-mppe-key, testing only). A verifier's keys
	// (RADIUS) take precedence on the server.
	StartKeys *auth.StartKeys
	// LocalIP is our address (server: required; client: requested if set). PeerIP is the
	// address the server assigns. DNS are the servers the server hands out (ms-dns).
	LocalIP, PeerIP netip.Addr
	// Assign, when set (server), is called once authentication succeeded (or was not
	// required), before IPCP, with the authenticated name and the peer address the
	// verifier granted (zero if none): it returns the address pair in place of LocalIP and
	// PeerIP, so nothing (a pool address, a device) is committed to a peer that has not
	// logged in. An error ends the link. It runs on the engine goroutine.
	Assign     func(user string, granted netip.Addr) (local, peer netip.Addr, err error)
	DNS        []netip.Addr
	UsePeerDNS bool // client: ask for DNS servers (RFC 1877)
	// Up is called once the network layer is usable: IPCP Opened and, when MPPE is
	// required or negotiated, CCP Opened. Down is called when it stops being usable.
	// TxReset is called for a CCP Reset-Request from the peer (reset our encrypter).
	// All three run on the engine goroutine and must not block.
	Up      func(LinkParams)
	Down    func()
	TxReset func()
	Logf    func(format string, args ...any) // nil = silent
	// Debug adds one log line per control packet and state change (pppd "debug"). Packets
	// of the authentication protocols are logged by code only; secrets never are.
	Debug bool
	// Restart is the restart timer (default 3 s); tests and lossy links may change it.
	Restart time.Duration
	// AuthTimeout bounds the time from the start of the link to the end of authentication
	// (to the network phase without authentication); no input extends it, so a peer cannot
	// hold a session without logging in. 0 = 60 s; negative = no bound.
	AuthTimeout time.Duration
}

// defaultAuthTimeout is Config.AuthTimeout's default.
const defaultAuthTimeout = 60 * time.Second

// maxPreAuthLCPRestarts is how often the peer may take LCP down again (a fresh
// Configure-Request in Opened) before authentication is done: each restart would otherwise
// begin a new exchange with full retry counters.
const maxPreAuthLCPRestarts = 3

// LinkParams is what the data path needs once the link is up.
type LinkParams struct {
	Local, Peer netip.Addr
	DNS         []netip.Addr
	MTU         int
	TxACFC      bool        // the peer accepts frames without FF 03
	TxPFC       bool        // the peer accepts 1-byte protocol fields
	MPPE        *MPPEParams // nil = no encryption
	AuthUser    string      // client: the name we used; server: the name the client proved
	Auth        auth.Method // the authentication that was done (auth.None: none)
}

// MPPEParams are the negotiated MPPE parameters and start keys (key material: never log).
type MPPEParams struct {
	Bits             int // 40 or 128
	Stateless        bool
	SendKey, RecvKey [16]byte
}

// peerRole names the other end in logs and errors.
func (c *Config) peerRole() string {
	if c.Server {
		return "client"
	}
	return "server"
}
