// SPDX-License-Identifier: MIT

package pptp

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/pptp-go/pptp/control"
	"github.com/pptp-go/pptp/gre"
	"github.com/pptp-go/pptp/ppp"
	"github.com/pptp-go/pptp/ppp/auth"
	"github.com/pptp-go/pptp/pppconf"
)

// Config configures a tunnel. The zero value of every field is the safe default; weaker
// choices are explicit.
type Config struct {
	// Server is the PPTP server: a host name or an IPv4 or IPv6 address, optionally with
	// ":port" (default 1723; "[2001:db8::1]:1723"). A name's addresses are tried happy
	// eyeballs style (RFC 8305), IPv6 and IPv4 interleaved; GRE goes to the one whose
	// control connection completed first.
	Server string
	// User and Password authenticate us. The password is never logged.
	User, Password string
	// Auth is the set of authentication methods we agree to; 0 means MS-CHAPv2 alone,
	// whose server authenticator (S=) is always verified.
	Auth AuthMethods
	// Encryption is what we demand of MPPE; the zero value requires 128-bit MPPE.
	Encryption Encryption
	// MTU caps the link's MTU and is our MRU: 0 means 1400, else 576..1500.
	MTU int
	// Logf receives one line per stage (connected, authenticated, link up) and, with
	// Debug, pppd-style packet traces, from several goroutines at once. nil means silent.
	// Secrets never reach it.
	Logf  func(format string, args ...any)
	Debug bool

	// Control and Link are the PPTP control connection's and the GRE datapath's settings
	// (pptp's --idle-wait, --localbind, --nobuffer …). Control's zero fields are control's
	// defaults (no PPTP Echo-Request of ours: the LCP echo finds a dead peer; Logf silent);
	// its bind address and mark also bind GRE. A zero Link means DefaultLinkOptions, any
	// other is used as it is.
	Control control.ClientConfig
	Link    gre.LinkOptions
	// PPP, when set, is the whole PPP configuration and User, Password, Auth, Encryption
	// and MTU are not used: pptp builds it from pppd's option files (pppconf). Its Up,
	// Down and TxReset callbacks are still called, on the engine's goroutine: they must not
	// block or call Close.
	PPP *ppp.Config
}

// AuthMethods is a set of authentication methods.
type AuthMethods uint8

const (
	MSCHAPv2 AuthMethods = 1 << iota // RFC 2759; yields MPPE keys
	MSCHAPv1                         // RFC 2433; yields MPPE keys
	CHAPMD5                          // RFC 1994; no MPPE keys, offline-crackable
	PAP                              // RFC 1334; the password in clear text
	allAuth  = MSCHAPv2 | MSCHAPv1 | CHAPMD5 | PAP
)

var authMethods = [...]struct {
	a AuthMethods
	m auth.Method
}{{MSCHAPv2, auth.MSCHAPv2}, {MSCHAPv1, auth.MSCHAPv1}, {CHAPMD5, auth.CHAPMD5}, {PAP, auth.PAP}}

// String lists the methods, strongest first ("MS-CHAPv2|PAP"); 0 is "MS-CHAPv2 (default)".
func (a AuthMethods) String() string {
	if a == 0 {
		return "MS-CHAPv2 (default)"
	}
	var names []string
	for _, m := range authMethods {
		if a&m.a != 0 {
			names = append(names, m.m.String())
		}
	}
	if rest := a &^ allAuth; rest != 0 {
		names = append(names, fmt.Sprintf("%#x", uint8(rest)))
	}
	return strings.Join(names, "|")
}

// Encryption is what a tunnel demands of MPPE (RFC 3078).
type Encryption uint8

const (
	// RequireMPPE128: 128-bit MPPE or no link (pppd require-mppe-128). The default.
	RequireMPPE128 Encryption = iota
	// RequireMPPE: 40- or 128-bit MPPE, the stronger preferred (pppd require-mppe).
	RequireMPPE
	// AllowMPPE: MPPE when the server agrees, else a cleartext link.
	AllowMPPE
	// NoEncryption refuses MPPE: every packet in clear text (pppd nomppe).
	NoEncryption
	numEncryption
)

var encryptionNames = [...]string{"RequireMPPE128", "RequireMPPE", "AllowMPPE", "NoEncryption"}

func (e Encryption) String() string {
	if e < numEncryption {
		return encryptionNames[e]
	}
	return fmt.Sprintf("Encryption(%d)", uint8(e))
}

const (
	// DefaultMTU is the MTU (and our MRU) unless Config.MTU says otherwise.
	DefaultMTU = pppconf.DefaultMRU
	// placeTimeout bounds resolving the server, the TCP connection and the control
	// exchange together; each step has its own shorter timeout too.
	placeTimeout = 60 * time.Second
)

// DefaultLinkOptions is the datapath of a Config whose Link is zero: GRE sent through the
// packet-socket path whenever that is safe (gre.Options.FastPath), the socket in the runtime's
// poller (a process may hold many tunnels), the adaptive reorder hold, gre's defaults for the
// rest.
func DefaultLinkOptions() gre.LinkOptions {
	return gre.LinkOptions{Socket: gre.Options{FastPath: true}, Reorder: gre.ReorderConfig{MinTimeout: gre.DefaultMinTimeout}}
}

// policy sets e's MPPE policy from enc and returns the methods a (zero: MS-CHAPv2),
// refusing a choice that requires MPPE without the MS-CHAP that keys it; what names the
// struct in errors.
func policy(e *ppp.Config, what string, a AuthMethods, enc Encryption) (AuthMethods, error) {
	if a == 0 {
		a = MSCHAPv2
	}
	if enc <= RequireMPPE && a&(MSCHAPv2|MSCHAPv1) == 0 {
		return a, fmt.Errorf("pptp: %s.Auth has no MS-CHAP method, but %s.Encryption requires MPPE, whose keys come from MS-CHAP", what, what)
	}
	switch enc {
	case RequireMPPE128:
		e.MPPE.Require, e.MPPE.Allow40 = true, false
	case RequireMPPE:
		e.MPPE.Require = true
	case NoEncryption:
		e.MPPE = ppp.MPPEPolicy{}
	}
	return a, nil
}

// engineConfig turns the public fields into the engine's configuration, or names the field
// that is wrong.
func (c *Config) engineConfig() (ppp.Config, error) {
	if c.Server == "" {
		return ppp.Config{}, errors.New("pptp: Config.Server is empty")
	}
	if c.PPP != nil {
		switch {
		case c.PPP.Server:
			return ppp.Config{}, errors.New("pptp: Config.PPP.Server is set: a tunnel is a client")
		case c.PPP.User == "":
			return ppp.Config{}, errors.New("pptp: Config.PPP.User is empty")
		}
		return *c.PPP, nil
	}
	e := pppconf.DefaultClientConfig()
	switch {
	case c.User == "":
		return e, errors.New("pptp: Config.User is empty")
	case c.Password == "":
		return e, errors.New("pptp: Config.Password is empty")
	case c.Auth&^allAuth != 0:
		return e, fmt.Errorf("pptp: Config.Auth has unknown bits %#x", uint8(c.Auth&^allAuth))
	case c.Encryption >= numEncryption:
		return e, fmt.Errorf("pptp: Config.Encryption %d is not one of the constants", c.Encryption)
	case c.MTU != 0 && (c.MTU < 576 || c.MTU > 1500):
		return e, fmt.Errorf("pptp: Config.MTU %d out of range (576..1500)", c.MTU)
	}
	methods, err := policy(&e, "Config", c.Auth, c.Encryption)
	if err != nil {
		return e, err
	}
	e.User, e.Password = c.User, c.Password
	for _, m := range authMethods {
		if methods&m.a == 0 {
			e.Refuse = e.Refuse.Add(m.m)
		}
	}
	if c.MTU != 0 {
		e.MRU, e.MTU = uint16(c.MTU), uint16(c.MTU)
	}
	return e, nil
}

// Params describes a tunnel that is up.
type Params struct {
	Interface   string     // the TUN device; "" in netstack mode
	Server      netip.Addr // the server's address the call went to
	CallID      uint16     // ours; the server's is PeerCallID
	PeerCallID  uint16
	Local, Peer netip.Addr // our address inside the tunnel, and the server's end
	DNS         []netip.Addr
	MTU         int
	User        string // the name we authenticated as
	Auth        string // the method: "MS-CHAPv2", "MS-CHAPv1", "CHAP-MD5", "PAP" or "none"
	// Encryption is "none" or e.g. "MPPE 128-bit stateless"; MPPEBits is 0, 40 or 128.
	Encryption string
	MPPEBits   int

	// Local6 and Peer6 are the link-local addresses IPV6CP agreed, zero until it opened;
	// a global address, if any, comes from the server's Router Advertisement.
	Local6, Peer6 netip.Addr
}

// Stats are a tunnel's counters: the IP datapath's and the GRE link's.
type Stats struct {
	TxPackets, TxBytes, RxPackets, RxBytes uint64        // IP packets through the tunnel
	TxDropped                              uint64        // packets we could not send (too big, not IP)
	RxDecryptErrors                        uint64        // MPPE packets that failed to decrypt
	RxUnencrypted                          uint64        // cleartext packets on an MPPE link: dropped
	RxBadIP                                uint64        // decrypted to a bad IPv4 header: dropped
	RxMPPESanity                           uint64        // MPPE packets past the sanity limit (a hostile or broken peer)
	RxLost                                 uint64        // GRE sequence numbers that never arrived
	RxReordered                            uint64        // packets that arrived out of order and were held
	RxInvalid                              uint64        // GRE packets that failed validation
	TxFailed                               uint64        // packets the kernel refused to send
	CCPResets                              uint64        // CCP Reset-Requests we sent (stateful MPPE losses)
	RTT                                    time.Duration // smoothed GRE round trip, 0 = unknown
	EchoRTT                                time.Duration // last control-connection Echo-Request's round trip, 0 = none yet
}
