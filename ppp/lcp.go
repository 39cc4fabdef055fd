// SPDX-License-Identifier: MIT

package ppp

import (
	"encoding/binary"
	"fmt"

	"github.com/pptp-go/pptp/ppp/auth"
)

// LCP configuration option types (RFC 1661 §6, RFC 1570, RFC 1990).
const (
	LCPOptMRU          = 1
	LCPOptACCM         = 2
	LCPOptAuthProtocol = 3
	LCPOptQuality      = 4
	LCPOptMagic        = 5
	LCPOptPFC          = 7
	LCPOptACFC         = 8
	LCPOptCallback     = 13
	LCPOptMRRU         = 17
)

const (
	defaultMRU = 1400 // our MRU unless Config.MRU says otherwise
	pppMRU     = 1500 // RFC 1661 default when the peer does not negotiate it
	minMRU     = 128  // pppd's floor; smaller requests are Nak'd up to it
	maxLoops   = 10   // Naks of our own magic before we call the line looped back
)

// methodPreference is the order we offer and ask for authentication protocols.
var methodPreference = [...]auth.Method{auth.MSCHAPv2, auth.MSCHAPv1, auth.CHAPMD5, auth.PAP}

// lcpOptions is one side's view of the LCP options.
type lcpOptions struct {
	mru        uint16
	neg        struct{ mru, accm, auth, magic, pfc, acfc bool }
	accm       uint32
	authMethod auth.Method
	magic      uint32
}

// lcp is the LCP codec (RFC 1661 §6) plus echo keepalives and Protocol-Reject.
type lcp struct {
	cfg *Config
	p   lcpParent

	want lcpOptions // what we ask for from a fresh start
	got  lcpOptions // our current request
	his  lcpOptions // what we acked of the peer's request

	authTried [len(methodPreference)]bool // server: methods the client refused
	loops     int
	refused   auth.MethodSet // client: keyless methods refused for MPPE, logged once each
	opened    bool           // between tlu and tld: Protocol-Reject counts only then (RFC 1661 §5.7)

	echoID uint8
}

func newLCP(cfg *Config, p lcpParent) *lcp {
	l := &lcp{cfg: cfg, p: p}
	l.want.mru = cfg.MRU
	l.want.neg.mru = l.want.mru != pppMRU
	// pppd over PPTP asks for asyncmap 0; harmless on a synchronous link and it keeps the
	// pty side cheap for peers that relay through HDLC.
	l.want.neg.accm = true
	l.want.neg.magic = true
	l.want.neg.pfc = true
	l.want.neg.acfc = true
	if cfg.Server {
		if m := l.nextServerMethod(); m != auth.None {
			l.want.neg.auth = true
			l.want.authMethod = m
		}
	}
	return l
}

// nextServerMethod is the most preferred required method the client has not refused yet.
func (l *lcp) nextServerMethod() auth.Method {
	for i, m := range methodPreference {
		if l.cfg.Require.Has(m) && !l.authTried[i] {
			return m
		}
	}
	return auth.None
}

func (l *lcp) clientAccepts(m auth.Method) bool {
	switch m {
	case auth.PAP, auth.CHAPMD5, auth.MSCHAPv1, auth.MSCHAPv2:
		return !l.cfg.Refuse.Has(m)
	}
	return false
}

// clientSuggestion is the method we Nak with: the most preferred one we accept.
func (l *lcp) clientSuggestion() auth.Method {
	for _, m := range methodPreference {
		if l.clientAccepts(m) {
			return m
		}
	}
	return auth.None
}

func (l *lcp) resetci() {
	l.got = l.want
	l.got.magic = l.p.randUint32()
	l.loops = 0
	clear(l.authTried[:])
	if l.cfg.Server {
		l.got.authMethod = l.nextServerMethod()
		l.got.neg.auth = l.got.authMethod != auth.None
	}
}

func (l *lcp) addci(b []byte) []byte {
	g := &l.got
	if g.neg.mru {
		b = append(b, LCPOptMRU, 4, uint8(g.mru>>8), uint8(g.mru))
	}
	if g.neg.accm {
		b = append(b, LCPOptACCM, 6)
		b = binary.BigEndian.AppendUint32(b, g.accm)
	}
	if g.neg.auth {
		d := g.authMethod.ConfigData()
		b = append(b, LCPOptAuthProtocol, uint8(2+len(d)))
		b = append(b, d...)
	}
	if g.neg.magic {
		b = append(b, LCPOptMagic, 6)
		b = binary.BigEndian.AppendUint32(b, g.magic)
	}
	if g.neg.pfc {
		b = append(b, LCPOptPFC, 2)
	}
	if g.neg.acfc {
		b = append(b, LCPOptACFC, 2)
	}
	return b
}

func (l *lcp) ackci(opts []byte) bool { return true }

func (l *lcp) nakci(opts []byte, treatAsReject bool) bool {
	try := l.got
	for o, err := range Options(opts) {
		if err != nil {
			return false
		}
		d := o.Data()
		switch o.Type() {
		case LCPOptMRU:
			if len(d) != 2 {
				return false
			}
			if treatAsReject {
				try.neg.mru = false
			} else if v := binary.BigEndian.Uint16(d); v <= l.want.mru || v <= pppMRU {
				try.mru, try.neg.mru = v, true
			}
		case LCPOptACCM:
			if len(d) != 4 {
				return false
			}
			if treatAsReject {
				try.neg.accm = false
			} else {
				try.accm |= binary.BigEndian.Uint32(d)
			}
		case LCPOptAuthProtocol:
			if !l.cfg.Server || !try.neg.auth {
				// We did not ask; the peer wants us to authenticate ourselves
				// to it, which nothing in PPTP needs. Ignore the hint.
				continue
			}
			l.markTried(try.authMethod)
			if m, ok := auth.ParseConfigData(d); ok && l.cfg.Require.Has(m) && !l.tried(m) && !treatAsReject {
				try.authMethod = m
			} else {
				try.authMethod = l.nextServerMethod()
			}
			if try.authMethod == auth.None {
				l.p.fail(inLayer(ErrLCP, fmt.Errorf("authentication negotiation failed: client refused %s", l.cfg.Require)), "Authentication negotiation failed")
				return true
			}
		case LCPOptMagic:
			if len(d) != 4 {
				return false
			}
			try.magic = l.p.randUint32()
			l.loops++
		case LCPOptPFC, LCPOptACFC:
			// Naking a boolean option means the peer does not want it (RFC 1661 §6.5).
			if o.Type() == LCPOptPFC {
				try.neg.pfc = false
			} else {
				try.neg.acfc = false
			}
		}
	}
	if l.loops >= maxLoops {
		l.p.fail(inLayer(ErrLCP, fmt.Errorf("the line is looped back (our magic number came back %d times)", l.loops)), "")
	}
	l.got = try
	return true
}

func (l *lcp) markTried(m auth.Method) {
	for i, p := range methodPreference {
		if p == m {
			l.authTried[i] = true
		}
	}
}

func (l *lcp) tried(m auth.Method) bool {
	for i, p := range methodPreference {
		if p == m {
			return l.authTried[i]
		}
	}
	return true
}

func (l *lcp) rejci(opts []byte) bool {
	try := l.got
	for o, err := range Options(opts) {
		if err != nil {
			return false
		}
		switch o.Type() {
		case LCPOptMRU:
			try.neg.mru = false
		case LCPOptACCM:
			try.neg.accm = false
		case LCPOptAuthProtocol:
			if try.neg.auth {
				l.p.fail(inLayer(ErrLCP, fmt.Errorf("authentication negotiation failed: client rejected authentication (we require %s)", l.cfg.Require)), "Authentication negotiation failed")
			}
			try.neg.auth = false
		case LCPOptMagic:
			try.neg.magic = false
		case LCPOptPFC:
			try.neg.pfc = false
		case LCPOptACFC:
			try.neg.acfc = false
		}
	}
	l.got = try
	return true
}

// reqci judges the peer's request; what it acks is recorded in l.his as it goes.
func (l *lcp) reqci(r *confReply) {
	l.his = lcpOptions{mru: pppMRU}
	for o := range r.Options() {
		l.judge(o, r)
	}
}

// judge decides one option of the peer's request.
func (l *lcp) judge(o Option, r *confReply) {
	d := o.Data()
	switch o.Type() {
	case LCPOptMRU:
		if len(d) != 2 {
			r.Reject(o)
			return
		}
		v := binary.BigEndian.Uint16(d)
		if v < minMRU {
			r.Nak(o, []byte{minMRU >> 8, minMRU & 0xFF})
			return
		}
		l.his.mru, l.his.neg.mru = v, true
	case LCPOptACCM:
		if len(d) != 4 {
			r.Reject(o)
			return
		}
		// Any map is fine: nothing we send goes through an async escaper.
		l.his.accm, l.his.neg.accm = binary.BigEndian.Uint32(d), true
	case LCPOptAuthProtocol:
		if l.cfg.Server {
			// We authenticate; we do not get authenticated.
			r.Reject(o)
			return
		}
		m, ok := auth.ParseConfigData(d)
		if ok && l.cfg.MPPE.Require && (m == auth.PAP || m == auth.CHAPMD5) && !l.cfg.Refuse.Has(m) {
			// Neither yields MPPE keys, so the link would fail after authentication, and
			// PAP would have sent the password in clear by then: refuse at once.
			if !l.refused.Has(m) {
				l.refused = l.refused.Add(m)
				l.p.logf("refusing %s: MPPE is required and only MS-CHAP yields MPPE keys", m)
			}
			ok = false
		}
		if !ok || !l.clientAccepts(m) {
			if s := l.clientSuggestion(); s != auth.None {
				r.Nak(o, s.ConfigData())
			} else {
				r.Reject(o)
			}
			return
		}
		l.his.authMethod, l.his.neg.auth = m, true
	case LCPOptMagic:
		if len(d) != 4 {
			r.Reject(o)
			return
		}
		v := binary.BigEndian.Uint32(d)
		if l.got.neg.magic && v == l.got.magic || v == 0 {
			// Our own magic: looped back, or the peer picked the same value.
			l.loops++
			var nv [4]byte
			binary.BigEndian.PutUint32(nv[:], l.p.randUint32())
			r.Nak(o, nv[:])
			return
		}
		l.his.magic, l.his.neg.magic = v, true
	case LCPOptPFC, LCPOptACFC:
		if len(d) != 0 {
			r.Reject(o)
			return
		}
		if o.Type() == LCPOptPFC {
			l.his.neg.pfc = true
		} else {
			l.his.neg.acfc = true
		}
	default:
		// Quality, callback, MRRU, endpoint discriminator, BACP …: not for PPTP.
		r.Reject(o)
		return
	}
	r.Ack(o)
}

func (l *lcp) up() {
	l.opened = true
	l.p.layerUp(ProtoLCP)
}

func (l *lcp) down() {
	l.opened = false
	l.p.layerDown(ProtoLCP)
}

func (l *lcp) starting() {}
func (l *lcp) finished() { l.p.layerFinished(ProtoLCP) }

func (l *lcp) isRXR(code uint8) bool {
	return code == CodeEchoRequest || code == CodeEchoReply || code == CodeDiscardRequest
}

func (l *lcp) rxr(code, id uint8, data []byte) {
	switch code {
	case CodeEchoRequest:
		if len(data) >= 4 && l.got.neg.magic && binary.BigEndian.Uint32(data) == l.got.magic {
			l.p.debugf("LCP: Echo-Request with our own magic number: looped back?")
		}
		var m [4]byte
		if l.got.neg.magic {
			binary.BigEndian.PutUint32(m[:], l.got.magic)
		}
		// Keep any data after the magic, as RFC 1661 §5.8 allows the peer to add it.
		reply := append(m[:], data[min(4, len(data)):]...)
		l.p.sendPacket(ProtoLCP, CodeEchoReply, id, reply)
	case CodeEchoReply:
		l.p.echoReply(id)
	}
}

func (l *lcp) extcode(code, id uint8, data []byte) bool {
	switch code {
	case CodeProtocolReject:
		if len(data) >= 2 && l.opened {
			l.p.protocolRejected(binary.BigEndian.Uint16(data))
		}
		return true
	case CodeIdentification, CodeTimeRemaining:
		// Windows sends Identification; nothing to do (RFC 1570).
		return true
	}
	return false
}

// echo sends an Echo-Request and returns its Identifier.
func (l *lcp) echo() uint8 {
	var m [4]byte
	if l.got.neg.magic {
		binary.BigEndian.PutUint32(m[:], l.got.magic)
	}
	id := l.echoID
	l.p.sendPacket(ProtoLCP, CodeEchoRequest, id, m[:])
	l.echoID++
	return id
}
