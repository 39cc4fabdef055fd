// SPDX-License-Identifier: MIT

package pppconf

import (
	"errors"
	"time"

	"github.com/pptp-go/pptp/ppp"
	"github.com/pptp-go/pptp/ppp/auth"
)

// Defaults of the engine that pppd's options change: Debian's /etc/ppp/options keeps the
// LCP echo at 30 s and 4 misses, and so do we when no file says otherwise.
const (
	DefaultEchoInterval = 30 * time.Second
	DefaultEchoFailure  = 4
)

// DefaultClientConfig is a client's engine configuration before any option: our MRU and
// MTU, the LCP echo, MPPE allowed (stateless, either key length) but not required.
func DefaultClientConfig() ppp.Config {
	return ppp.Config{
		MRU:          DefaultMRU,
		MTU:          DefaultMRU,
		EchoInterval: DefaultEchoInterval,
		EchoFailure:  DefaultEchoFailure,
		MPPE:         ppp.MPPEPolicy{Allow40: true, Allow128: true, Stateless: true},
	}
}

// DefaultServerConfig is a server's before any option: as a client's, named "pptpd", and
// accepting any CHAP flavour (pppd's defaults with auth; PAP only when asked for).
func DefaultServerConfig() ppp.Config {
	c := DefaultClientConfig()
	c.Server, c.Name = true, "pptpd"
	c.Require = auth.MethodSet(0).Add(auth.MSCHAPv2).Add(auth.MSCHAPv1).Add(auth.CHAPMD5)
	return c
}

// EngineConfig maps the options that shape the PPP engine (MRU and MTU, LCP echo,
// authentication methods, MPPE, addresses, DNS, debug) onto the default configuration of a
// client or a server. The caller adds what files do not say: the client's user name and
// password, the server's secrets, Logf.
func (o *Options) EngineConfig(server bool) (ppp.Config, error) {
	e := DefaultClientConfig()
	if server {
		e = DefaultServerConfig()
	}
	if o.MRU > 0 {
		e.MRU = uint16(o.MRU)
	}
	if o.MTU > 0 {
		e.MTU = uint16(o.MTU)
	}
	// Each keeps its default unless set: a file with only lcp-echo-interval still gives
	// the peer up after DefaultEchoFailure misses.
	if o.IsSet("lcp-echo-interval") {
		e.EchoInterval = time.Duration(o.LCPEchoInterval) * time.Second
	}
	if o.IsSet("lcp-echo-failure") {
		e.EchoFailure = o.LCPEchoFailure
	}
	if o.IsSet("lcp-restart") {
		e.Restart = time.Duration(o.LCPRestart) * time.Second
	}
	e.Debug = o.Debug
	var err error
	if e.MPPE, err = o.mppePolicy(); err != nil {
		return e, err
	}
	if k := o.SetMPPEKey; len(k) > 0 {
		e.StartKeys = &auth.StartKeys{Send: [16]byte(k[:16]), Recv: [16]byte(k[len(k)-16:])}
	}
	if server {
		if o.Name != "" {
			e.Name = o.Name
		}
		e.DNS = o.MSDNS
		if e.Require, err = o.acceptedMethods(); err != nil {
			return e, err
		}
		return e, nil
	}
	e.Name = o.RemoteName
	e.UsePeerDNS = o.UsePeerDNS
	e.LocalIP, e.PeerIP = o.LocalIP, o.RemoteIP
	e.Refuse, err = o.refusedMethods()
	return e, err
}

// acceptedMethods is a server's: the require-* options, else the default CHAP flavours,
// less the refuse-* ones.
func (o *Options) acceptedMethods() (auth.MethodSet, error) {
	r := methods(o.RequireMSCHAPv2, o.RequireMSCHAP, o.RequireCHAP, o.RequirePAP)
	if r == 0 {
		r = DefaultServerConfig().Require
	}
	r &^= methods(o.RefuseMSCHAPv2, o.RefuseMSCHAP, o.RefuseCHAP, o.RefusePAP)
	if r == 0 {
		return r, errors.New("every authentication method is refused")
	}
	return r, nil
}

// refusedMethods maps the refuse-* options to the methods a client refuses. pppd's auth
// asks the peer to authenticate itself, which a PPTP server never does; Debian's
// /etc/ppp/options sets it and its options.pptp undoes it with noauth, so on the client it
// has no effect, whichever came last.
func (o *Options) refusedMethods() (auth.MethodSet, error) {
	return methods(o.RefuseMSCHAPv2, o.RefuseMSCHAP, o.RefuseCHAP, o.RefusePAP), nil
}

// methods is the set of the methods whose flag is on, the flags in preference order
// (MS-CHAPv2, MS-CHAPv1, CHAP-MD5, PAP).
func methods(mschapv2, mschapv1, chap, pap bool) auth.MethodSet {
	var s auth.MethodSet
	for i, on := range [...]bool{mschapv2, mschapv1, chap, pap} {
		if on {
			s = s.Add(auth.DefaultOrder[i])
		}
	}
	return s
}

// mppePolicy maps pppd's MPPE options. Like pppd we allow MPPE when asked and require it only
// with require-mppe*; unlike pppd 2.4.9 (which rejects MPPE unless required) we accept it when
// a peer offers it, since an encrypted link is never worse.
func (o *Options) mppePolicy() (ppp.MPPEPolicy, error) {
	p := ppp.MPPEPolicy{Allow40: true, Allow128: true, Stateless: !o.MPPEStatefulOnly, Stateful: o.MPPEStateful}
	if o.RequireMPPE || o.RequireMPPE40 || o.RequireMPPE128 {
		p.Require = true
		if o.RequireMPPE128 && !o.RequireMPPE40 {
			p.Allow40 = false
		}
		if o.RequireMPPE40 && !o.RequireMPPE128 {
			p.Allow128 = false
		}
	}
	if o.NoMPPE40 {
		p.Allow40 = false
	}
	if o.NoMPPE128 {
		p.Allow128 = false
	}
	if p.Require {
		// Fail closed: an option that takes MPPE away must not quietly turn a required
		// encryption into none.
		switch {
		case o.NoCCP:
			return p, errors.New("require-mppe needs CCP, but noccp is set: remove one of them")
		case o.NoMPPE:
			return p, errors.New("require-mppe and nomppe (or noencrypt) contradict each other: remove one of them")
		case !p.Allow40 && !p.Allow128:
			return p, errors.New("require-mppe with both key lengths refused (nomppe-40, nomppe-128, require-mppe-40/128): no MPPE is left to require")
		}
	}
	if o.NoMPPE || o.NoCCP {
		p = ppp.MPPEPolicy{}
	}
	return p, nil
}
