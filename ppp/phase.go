// SPDX-License-Identifier: MIT

package ppp

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/pptp-go/pptp/mppe"
	"github.com/pptp-go/pptp/ppp/auth"
)

// phase is the RFC 1661 §3.2 link phase.
type phase uint8

const (
	phaseDead phase = iota
	phaseEstablish
	phaseAuthenticate
	phaseNetwork
	phaseTerminate
)

var phaseNames = [...]string{"Dead", "Establish", "Authenticate", "Network", "Terminate"}

func (p phase) String() string { return phaseNames[p] }

// The Engine is every codec's parent: it routes their signals to the phase logic.
var (
	_ lcpParent = (*Engine)(nil)
	_ ccpParent = (*Engine)(nil)
)

func (e *Engine) layerUp(proto uint16) {
	switch proto {
	case ProtoLCP:
		e.lcpUp()
	case ProtoIPCP:
		e.ipcpUp()
	case ProtoCCP:
		e.ccpUp()
	case ProtoIPV6CP:
		e.ipv6cpUp()
	}
}

func (e *Engine) layerDown(proto uint16) {
	switch proto {
	case ProtoLCP:
		e.lcpDown()
	case ProtoIPCP, ProtoCCP:
		e.ncpDown()
	case ProtoIPV6CP:
		e.ipv6cpDown()
	}
}

func (e *Engine) layerFinished(proto uint16) {
	switch proto {
	case ProtoLCP:
		e.lcpFinished()
	case ProtoIPCP:
		e.ipcpFinished()
	case ProtoCCP:
		e.ccpFinished()
	case ProtoIPV6CP:
		e.ipv6cpFinished()
	}
}

// LCP layer signals.

func (e *Engine) lcpUp() {
	m := e.negotiatedAuth()
	authText := "no authentication"
	if m != auth.None {
		authText = "authentication " + m.String()
	}
	e.logf("LCP opened: our MRU %d, peer MRU %d, %s", e.cfg.MRU, e.peerMRU(), authText)
	if e.cfg.EchoInterval > 0 {
		e.echoPending = 0
		e.echoDeadline = e.now().Add(e.cfg.EchoInterval)
	}
	e.authMethod = m
	if m == auth.None {
		if e.cfg.Server && e.cfg.Require != 0 {
			e.fail(inLayer(ErrLCP, fmt.Errorf("authentication negotiation failed: client did not agree to %s", e.cfg.Require)), "Authentication required")
			return
		}
		e.networkPhase()
		return
	}
	e.setPhase(phaseAuthenticate)
	if e.cfg.Server {
		if e.cfg.Verify != nil {
			e.authEx = auth.NewVerifyingAuthenticator(m, e.cfg.Name, e.cfg.Verify, e.authRand)
		} else {
			e.authEx = auth.NewAuthenticator(m, e.cfg.Name, e.cfg.Secret, e.authRand)
		}
	} else {
		if e.authRand != nil {
			e.authEx = auth.NewPeerWithRand(m, e.cfg.User, e.cfg.Password, e.authRand)
		} else {
			e.authEx = auth.NewPeer(m, e.cfg.User, e.cfg.Password)
		}
	}
	if e.authEx == nil {
		e.fail(inLayer(ErrLCP, fmt.Errorf("authentication method %s is not available", m)), "")
		return
	}
	e.authDone = false
	if pkt := e.authEx.Start(); pkt != nil {
		e.sendPacketRaw(m.Protocol(), pkt)
	}
	e.authDeadline = e.now().Add(e.cfg.Restart)
}

func (e *Engine) negotiatedAuth() auth.Method {
	if e.cfg.Server {
		if e.lcpc.got.neg.auth {
			return e.lcpc.got.authMethod
		}
		return auth.None
	}
	if e.lcpc.his.neg.auth {
		return e.lcpc.his.authMethod
	}
	return auth.None
}

func (e *Engine) lcpDown() {
	// Leave the network phase first: the NCPs' tlf below must not read as NCP failures.
	if e.closing {
		e.setPhase(phaseTerminate)
	} else {
		e.setPhase(phaseEstablish)
	}
	e.echoDeadline = time.Time{}
	e.authDeadline = time.Time{}
	if !e.authenticated && !e.closing {
		// A fresh Configure-Request in Opened restarts LCP with full counters and a new
		// authentication exchange: allow a few, not an endless series.
		if e.lcpRestarts++; e.lcpRestarts > maxPreAuthLCPRestarts {
			e.fail(inLayer(ErrLCP, fmt.Errorf("LCP renegotiated %d times before authentication", e.lcpRestarts)), "Too many LCP restarts")
		}
	}
	e.authEx = nil
	e.authDone = false
	e.keys, e.startKeys = nil, nil
	for _, f := range []*fsm{e.ipcp, e.ccp, e.ipv6cp} {
		if f.state != stInitial {
			f.lowerDown()
			f.handle(evClose)
		}
	}
}

func (e *Engine) lcpFinished() {
	e.finished = true
	if e.closing {
		return
	}
	switch {
	case e.peerTerm != "":
		e.err = cmpErr(e.err, withKind(ErrPeerTerminated, fmt.Errorf("peer terminated the link: %s", e.peerTerm)))
	default:
		e.err = cmpErr(e.err, withKind(ErrNegotiation, inLayer(ErrLCP, inLayer(ErrNoAnswer, fmt.Errorf("LCP negotiation failed: no agreement with the %s after %d Configure-Requests", e.cfg.peerRole(), e.lcp.maxConfigure)))))
	}
}

// Authentication.

func (e *Engine) authTimeout() {
	e.authDeadline = time.Time{}
	if e.authEx == nil || e.authDone {
		return
	}
	resend, res := e.authEx.Timeout()
	if resend != nil {
		e.sendPacketRaw(e.authMethod.Protocol(), resend)
	}
	if res != nil {
		e.authFinished(res)
		return
	}
	e.authDeadline = e.now().Add(e.cfg.Restart)
}

func (e *Engine) authFinished(res *auth.Result) {
	e.authDone = true
	e.authDeadline = time.Time{}
	if res.Err != nil {
		var err error
		reason := "Authentication failed"
		if e.cfg.Server {
			err = withKind(ErrAuthFailed, fmt.Errorf("authentication failed: client %q (%s): %w", res.User, e.authMethod, res.Err))
		} else {
			err = withKind(ErrAuthFailed, fmt.Errorf("authentication failed (%s): %w", e.authMethod, res.Err))
			reason = "Failed to authenticate ourselves to peer" // pppd's words
		}
		e.fail(err, reason)
		return
	}
	e.authUser = res.User
	e.keys, e.startKeys = res.Keys, res.StartKeys
	if e.startKeys == nil {
		e.startKeys = e.cfg.StartKeys
	}
	if g := res.Grant; g != nil && e.cfg.Server {
		// The verifier (RADIUS) decides the peer's address, DNS, MTU and IPv6 identifier;
		// IPCP and IPV6CP read them from cfg when they open, after this.
		if g.PeerIP.Is4() {
			e.cfg.PeerIP = g.PeerIP
		}
		if len(g.DNS) > 0 {
			e.cfg.DNS = g.DNS
		}
		if g.MTU > 0 && (e.cfg.MTU == 0 || g.MTU < int(e.cfg.MTU)) {
			e.cfg.MTU = uint16(min(g.MTU, 65535))
		}
		if g.RequireMPPE {
			e.cfg.MPPE.Require = true
		}
		if id := InterfaceID(g.IPv6PeerID); !id.IsZero() {
			e.cfg.IPv6.PeerID = id // IPV6CP's resetci reads it when it opens, after this
		}
	}
	if e.cfg.Server {
		e.logf("%s: client %q authenticated", e.authMethod, res.User)
	} else {
		e.logf("%s: authenticated as %q", e.authMethod, res.User)
	}
	e.networkPhase()
}

// Network phase.

func (e *Engine) mppeAllowed() bool { return e.cfg.MPPE.Allow40 || e.cfg.MPPE.Allow128 }

func (e *Engine) networkPhase() {
	e.setPhase(phaseNetwork)
	if !e.authenticated && e.cfg.Assign != nil {
		// PeerIP is set here only if the verifier (RADIUS Framed-IP-Address) granted it.
		local, peer, err := e.cfg.Assign(e.authUser, e.cfg.PeerIP)
		if err != nil {
			e.fail(inLayer(ErrIPCP, fmt.Errorf("no address for %q: %w", e.authUser, err)), "No IP address")
			return
		}
		e.cfg.LocalIP, e.cfg.PeerIP = local, peer
	}
	e.authenticated = true
	e.preAuthDeadline = time.Time{}
	e.ccpUsed = false
	e.ccpErr = nil
	if e.mppeAllowed() {
		if e.keys != nil && (e.authMethod == auth.MSCHAPv1 || e.authMethod == auth.MSCHAPv2) {
			e.ccpUsed = true
		} else if e.cfg.MPPE.Require {
			e.fail(inLayer(ErrCCP, fmt.Errorf("encryption negotiation failed: MPPE is required but %s authentication yields no MPPE keys (use MS-CHAP)", e.authMethod)), "MPPE required")
			return
		}
	} else if e.cfg.MPPE.Require {
		e.fail(inLayer(ErrCCP, errors.New("encryption negotiation failed: MPPE is required but neither 40- nor 128-bit is allowed")), "MPPE required")
		return
	}
	e.ipcpStarted = false
	if e.ccpUsed {
		e.ccp.open()
		e.ccp.lowerUp()
		if e.cfg.MPPE.Require {
			// Like pppd, IPCP waits for CCP when encryption is required.
			return
		}
	}
	e.startIPCP()
}

// startIPCP opens IPCP once (after CCP settled, when CCP runs).
func (e *Engine) startIPCP() {
	if e.ipcpStarted || e.closing || e.phase != phaseNetwork {
		return
	}
	e.ipcpStarted = true
	e.ipcp.open()
	e.ipcp.lowerUp()
	if e.cfg.IPv6.Mode == IPv6Active {
		e.ipv6cp.open()
		e.ipv6cp.lowerUp()
	}
}

func (e *Engine) ipcpUp() {
	c := e.ipcpc
	if !c.reqAddr || !c.addr.IsValid() || c.addr == zeroIP {
		if !e.cfg.LocalIP.Is4() {
			e.fail(inLayer(ErrIPCP, fmt.Errorf("IPCP: could not determine our IP address (the %s did not assign one)", e.cfg.peerRole())), "No IP address")
			return
		}
	}
	e.maybeUp()
}

func (e *Engine) ccpUp() {
	if _, _, err := e.ccpc.params(); err != nil && e.cfg.MPPE.Require {
		e.fail(inLayer(ErrCCP, err), "MPPE required but peer negotiation failed")
		return
	}
	if e.ipcpStarted {
		// A peer that requires MPPE (pppd, pptpd) drops IPCP until its CCP is up, so our
		// request sent beside CCP's is likely lost: resend it now, not after the
		// restart timer (3 s), if the peer has sent nothing of that protocol yet.
		e.ipcp.retransmit()
		e.ipv6cp.retransmit()
	}
	e.startIPCP()
	e.maybeUp()
}

// mppeFailed is the CCP codec's verdict that MPPE cannot be agreed.
func (e *Engine) mppeFailed(err error) {
	e.ccpErr = cmpErr(e.ccpErr, err)
	if e.cfg.MPPE.Require {
		e.fail(inLayer(ErrCCP, err), "MPPE required but peer negotiation failed")
	}
}

func (e *Engine) ccpFinished() {
	if e.closing || e.phase != phaseNetwork {
		return
	}
	if e.cfg.MPPE.Require {
		err := e.ccpErr
		if err == nil {
			err = fmt.Errorf("encryption negotiation failed: CCP did not open (the %s did not answer)", e.cfg.peerRole())
		}
		e.fail(inLayer(ErrCCP, err), "MPPE required but peer negotiation failed")
		return
	}
	e.logf("CCP: no encryption negotiated, continuing without MPPE")
	e.startIPCP()
	e.maybeUp()
}

func (e *Engine) ipcpFinished() {
	if e.closing || e.phase != phaseNetwork {
		return
	}
	e.fail(inLayer(ErrIPCP, fmt.Errorf("IPCP negotiation failed: no agreement with the %s", e.cfg.peerRole())), "No network protocols running")
}

// ncpDown is tld of IPCP or CCP: the network layer is no longer usable.
func (e *Engine) ncpDown() {
	e.readyOK, e.readyDeadline = false, time.Time{}
	if e.upCalled {
		e.upCalled = false
		e.logf("network layer down")
		if e.cfg.Down != nil {
			e.cfg.Down()
		}
	}
}

// maybeUp calls Up once IPCP is Opened and CCP is Opened or settled without MPPE.
func (e *Engine) maybeUp() {
	if e.upCalled || e.closing || e.ipcp.state != stOpened {
		return
	}
	var mp *MPPEParams
	if e.ccpUsed {
		switch e.ccp.state {
		case stOpened:
			bits, stateless, err := e.ccpc.params()
			if err != nil {
				if e.cfg.MPPE.Require {
					e.fail(inLayer(ErrCCP, err), "MPPE required but peer negotiation failed")
					return
				}
				e.logf("%v; continuing without MPPE", err)
			} else if bits != 0 {
				send, recv := deriveKeys(e.keys, e.cfg.Server)
				if e.startKeys != nil {
					send, recv = e.startKeys.Send, e.startKeys.Recv // from the verifier, not derived
				}
				mp = &MPPEParams{Bits: bits, Stateless: stateless, SendKey: send, RecvKey: recv}
			}
		case stClosed, stStopped, stInitial, stStarting:
			// CCP gave up without MPPE (allowed, not required).
		default:
			return // still negotiating
		}
	}
	if e.cfg.MPPE.Require && mp == nil {
		e.fail(inLayer(ErrCCP, cmpErr(e.ccpErr, fmt.Errorf("encryption negotiation failed: the %s did not agree to MPPE", e.cfg.peerRole()))), "MPPE required but peer negotiation failed")
		return
	}
	// Only the client waits: a server sends data only in answer to the client's, and if it
	// waited too, a client as quick as ours could send before the server was up.
	if !e.cfg.Server && !e.readyOK {
		if e.readyDeadline.IsZero() {
			e.readyID = e.lcpc.echo()
			e.readyDeadline = e.now().Add(readyWait)
		}
		return
	}
	mtu := int(e.peerMRU())
	if e.cfg.MTU != 0 && int(e.cfg.MTU) < mtu {
		mtu = int(e.cfg.MTU)
	}
	if mp != nil {
		mtu -= mppePad
	}
	p := LinkParams{
		Local:    e.ipcpc.addr,
		Peer:     e.ipcpc.peerAddr,
		MTU:      mtu,
		TxACFC:   e.lcpc.his.neg.acfc,
		TxPFC:    e.lcpc.his.neg.pfc,
		MPPE:     mp,
		AuthUser: e.authUser,
		Auth:     e.authMethod,
	}
	if !p.Local.IsValid() || p.Local == zeroIP {
		p.Local = e.cfg.LocalIP
	}
	if e.cfg.Server {
		if !p.Peer.IsValid() {
			p.Peer = e.cfg.PeerIP
		}
		p.DNS = append(p.DNS, e.cfg.DNS...)
	} else {
		if !p.Peer.IsValid() {
			p.Peer = e.cfg.PeerIP
		}
		for _, d := range [...]netip.Addr{e.ipcpc.dns1, e.ipcpc.dns2} {
			if d.Is4() && d != zeroIP {
				p.DNS = append(p.DNS, d)
			}
		}
	}
	enc := "no encryption"
	if mp != nil {
		mode := "stateful"
		if mp.Stateless {
			mode = "stateless"
		}
		enc = fmt.Sprintf("MPPE %d-bit %s", mp.Bits, mode)
	}
	e.logf("link up: local %v, peer %v, DNS %v, MTU %d, %s", p.Local, p.Peer, p.DNS, p.MTU, enc)
	e.upCalled = true
	if e.cfg.Up != nil {
		e.cfg.Up(p)
	}
}

// deriveKeys turns the MS-CHAP key material into MPPE start keys (RFC 3079, pppd 2.4.9).
func deriveKeys(km *auth.KeyMaterial, server bool) (send, recv [16]byte) {
	switch km.Method {
	case auth.MSCHAPv2:
		return mppe.KeysV2(km.PasswordHashHash, km.NTResponse, server)
	case auth.MSCHAPv1:
		return mppe.KeysV1(km.PasswordHashHash, km.Challenge)
	}
	return send, recv
}
