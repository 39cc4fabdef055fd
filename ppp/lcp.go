// SPDX-License-Identifier: MIT

package ppp

import (
	"encoding/binary"
	"fmt"

	"github.com/pptp-go/pptp/ppp/auth"
)

// LCP configuration option types (RFC 1661 §6, RFC 1570, RFC 1990).
const (
	lcpMRU      = 1
	lcpACCM     = 2
	lcpAuth     = 3
	lcpQuality  = 4
	lcpMagic    = 5
	lcpPFC      = 7
	lcpACFC     = 8
	lcpCallback = 13
	lcpMRRU     = 17
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
	e *Engine

	want lcpOptions // what we ask for from a fresh start
	got  lcpOptions // our current request
	his  lcpOptions // what we acked of the peer's request

	authTried [len(methodPreference)]bool // server: methods the client refused
	loops     int

	echoID      uint8
	echoPending int
}

func newLCP(e *Engine) *lcp {
	l := &lcp{e: e}
	l.want.mru = e.cfg.MRU
	l.want.neg.mru = l.want.mru != pppMRU
	// pppd over PPTP asks for asyncmap 0; harmless on a synchronous link and it keeps the
	// pty side cheap for peers that relay through HDLC.
	l.want.neg.accm = true
	l.want.neg.magic = true
	l.want.neg.pfc = true
	l.want.neg.acfc = true
	if e.cfg.Server {
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
		if l.e.cfg.Require.Has(m) && !l.authTried[i] {
			return m
		}
	}
	return auth.None
}

func (l *lcp) clientAccepts(m auth.Method) bool {
	switch m {
	case auth.PAP, auth.CHAPMD5, auth.MSCHAPv1, auth.MSCHAPv2:
		return !l.e.cfg.Refuse.Has(m)
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
	l.got.magic = l.e.randUint32()
	l.loops = 0
	clear(l.authTried[:])
	if l.e.cfg.Server {
		l.got.authMethod = l.nextServerMethod()
		l.got.neg.auth = l.got.authMethod != auth.None
	}
}

func (l *lcp) addci(b []byte) []byte {
	g := &l.got
	if g.neg.mru {
		b = append(b, lcpMRU, 4, uint8(g.mru>>8), uint8(g.mru))
	}
	if g.neg.accm {
		b = append(b, lcpACCM, 6)
		b = binary.BigEndian.AppendUint32(b, g.accm)
	}
	if g.neg.auth {
		d := g.authMethod.ConfigData()
		b = append(b, lcpAuth, uint8(2+len(d)))
		b = append(b, d...)
	}
	if g.neg.magic {
		b = append(b, lcpMagic, 6)
		b = binary.BigEndian.AppendUint32(b, g.magic)
	}
	if g.neg.pfc {
		b = append(b, lcpPFC, 2)
	}
	if g.neg.acfc {
		b = append(b, lcpACFC, 2)
	}
	return b
}

func (l *lcp) ackci(opts []byte) bool { return true }

func (l *lcp) nakci(opts []byte, treatAsReject bool) bool {
	try := l.got
	for len(opts) > 0 {
		o, rest, err := nextOption(opts)
		if err != nil {
			return false
		}
		opts = rest
		d := o.Data()
		switch o.Type() {
		case lcpMRU:
			if len(d) != 2 {
				return false
			}
			if treatAsReject {
				try.neg.mru = false
			} else if v := binary.BigEndian.Uint16(d); v <= l.want.mru || v <= pppMRU {
				try.mru, try.neg.mru = v, true
			}
		case lcpACCM:
			if len(d) != 4 {
				return false
			}
			if treatAsReject {
				try.neg.accm = false
			} else {
				try.accm |= binary.BigEndian.Uint32(d)
			}
		case lcpAuth:
			if !l.e.cfg.Server || !try.neg.auth {
				// We did not ask; the peer wants us to authenticate ourselves
				// to it, which nothing in PPTP needs. Ignore the hint.
				continue
			}
			l.markTried(try.authMethod)
			if m, ok := auth.ParseConfigData(d); ok && l.e.cfg.Require.Has(m) && !l.tried(m) && !treatAsReject {
				try.authMethod = m
			} else {
				try.authMethod = l.nextServerMethod()
			}
			if try.authMethod == auth.None {
				l.e.failReason(fmt.Errorf("authentication negotiation failed: client refused %s", l.e.cfg.Require), "Authentication negotiation failed")
				return true
			}
		case lcpMagic:
			if len(d) != 4 {
				return false
			}
			try.magic = l.e.randUint32()
			l.loops++
		case lcpPFC, lcpACFC:
			// Naking a boolean option means the peer does not want it (RFC 1661 §6.5).
			if o.Type() == lcpPFC {
				try.neg.pfc = false
			} else {
				try.neg.acfc = false
			}
		}
	}
	if l.loops >= maxLoops {
		l.e.fail(fmt.Errorf("the line is looped back (our magic number came back %d times)", l.loops))
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
	for len(opts) > 0 {
		o, rest, err := nextOption(opts)
		if err != nil {
			return false
		}
		opts = rest
		switch o.Type() {
		case lcpMRU:
			try.neg.mru = false
		case lcpACCM:
			try.neg.accm = false
		case lcpAuth:
			if try.neg.auth {
				l.e.failReason(fmt.Errorf("authentication negotiation failed: client rejected authentication (we require %s)", l.e.cfg.Require), "Authentication negotiation failed")
			}
			try.neg.auth = false
		case lcpMagic:
			try.neg.magic = false
		case lcpPFC:
			try.neg.pfc = false
		case lcpACFC:
			try.neg.acfc = false
		}
	}
	l.got = try
	return true
}

// reqci judges the peer's request. Option order is kept; the reply is built in one pass
// per code so that the Nak and Reject lists hold only their own options.
func (l *lcp) reqci(opts []byte, reply []byte, rejectIfDisagree bool) (uint8, []byte) {
	l.his = lcpOptions{mru: pppMRU}
	var rej, nak bool
	// First pass: classify. Second pass: emit only the options of the winning code.
	code := uint8(codeConfAck)
	emit := func(pass uint8) []byte {
		out := reply
		rest := opts
		for len(rest) > 0 {
			o, r, err := nextOption(rest)
			if err != nil {
				if pass == codeConfRej {
					out = append(out, rest...)
				}
				rej = true
				break
			}
			rest = r
			c, nakOpt := l.judge(o, rejectIfDisagree, pass == 0)
			switch {
			case c == codeConfRej:
				rej = true
				if pass == codeConfRej {
					out = append(out, o...)
				}
			case c == codeConfNak:
				nak = true
				if pass == codeConfNak {
					out = append(out, nakOpt...)
				}
			case pass == codeConfAck:
				out = append(out, o...)
			}
		}
		return out
	}
	emit(0)
	switch {
	case rej:
		code = codeConfRej
	case nak:
		code = codeConfNak
	}
	return code, emit(code)
}

// judge decides one option. record=true on the first pass stores accepted values in l.his.
func (l *lcp) judge(o Option, rejectIfDisagree, record bool) (uint8, []byte) {
	d := o.Data()
	nak := func(v []byte) (uint8, []byte) {
		if rejectIfDisagree {
			return codeConfRej, nil
		}
		return codeConfNak, v
	}
	switch o.Type() {
	case lcpMRU:
		if len(d) != 2 {
			return codeConfRej, nil
		}
		v := binary.BigEndian.Uint16(d)
		if v < minMRU {
			return nak([]byte{lcpMRU, 4, minMRU >> 8, minMRU & 0xFF})
		}
		if record {
			l.his.mru, l.his.neg.mru = v, true
		}
	case lcpACCM:
		if len(d) != 4 {
			return codeConfRej, nil
		}
		// Any map is fine: nothing we send goes through an async escaper.
		if record {
			l.his.accm, l.his.neg.accm = binary.BigEndian.Uint32(d), true
		}
	case lcpAuth:
		m, ok := auth.ParseConfigData(d)
		if l.e.cfg.Server {
			// We authenticate; we do not get authenticated.
			return codeConfRej, nil
		}
		if !ok || !l.clientAccepts(m) {
			s := l.clientSuggestion()
			if s == auth.None {
				return codeConfRej, nil
			}
			cd := s.ConfigData()
			return nak(append([]byte{lcpAuth, uint8(2 + len(cd))}, cd...))
		}
		if record {
			l.his.authMethod, l.his.neg.auth = m, true
		}
	case lcpMagic:
		if len(d) != 4 {
			return codeConfRej, nil
		}
		v := binary.BigEndian.Uint32(d)
		if l.got.neg.magic && v == l.got.magic || v == 0 {
			// Our own magic: looped back, or the peer picked the same value.
			nv := l.e.randUint32()
			if record {
				l.loops++
			}
			return nak(binary.BigEndian.AppendUint32([]byte{lcpMagic, 6}, nv))
		}
		if record {
			l.his.magic, l.his.neg.magic = v, true
		}
	case lcpPFC, lcpACFC:
		if len(d) != 0 {
			return codeConfRej, nil
		}
		if record {
			if o.Type() == lcpPFC {
				l.his.neg.pfc = true
			} else {
				l.his.neg.acfc = true
			}
		}
	default:
		// Quality, callback, MRRU, endpoint discriminator, BACP …: not for PPTP.
		return codeConfRej, nil
	}
	return codeConfAck, nil
}

func (l *lcp) up()       { l.e.lcpUp() }
func (l *lcp) down()     { l.e.lcpDown() }
func (l *lcp) starting() {}
func (l *lcp) finished() { l.e.lcpFinished() }

func (l *lcp) isRXR(code uint8) bool {
	return code == codeEchoReq || code == codeEchoRep || code == codeDiscReq
}

func (l *lcp) rxr(code, id uint8, data []byte) {
	switch code {
	case codeEchoReq:
		if len(data) >= 4 && l.got.neg.magic && binary.BigEndian.Uint32(data) == l.got.magic {
			l.e.debugf("LCP: Echo-Request with our own magic number: looped back?")
		}
		var m [4]byte
		if l.got.neg.magic {
			binary.BigEndian.PutUint32(m[:], l.got.magic)
		}
		// Keep any data after the magic, as RFC 1661 §5.8 allows the peer to add it.
		reply := append(m[:], data[min(4, len(data)):]...)
		l.e.sendPacket(ProtoLCP, codeEchoRep, id, reply)
	case codeEchoRep:
		l.echoPending = 0
		if id == l.e.readyID {
			l.e.peerReady() // a no-op unless the readiness probe waits
		}
	}
}

func (l *lcp) extcode(code, id uint8, data []byte) bool {
	switch code {
	case codeProtRej:
		if len(data) >= 2 && l.e.lcp.state == stOpened {
			l.e.protocolRejected(binary.BigEndian.Uint16(data))
		}
		return true
	case codeIdentify, codeTimeRem:
		// Windows sends Identification; nothing to do (RFC 1570).
		return true
	}
	return false
}

// sendEcho sends the next keepalive Echo-Request.
func (l *lcp) sendEcho() {
	l.echo()
	l.echoPending++
}

// echo sends an Echo-Request and returns its Identifier.
func (l *lcp) echo() uint8 {
	var m [4]byte
	if l.got.neg.magic {
		binary.BigEndian.PutUint32(m[:], l.got.magic)
	}
	id := l.echoID
	l.e.sendPacket(ProtoLCP, codeEchoReq, id, m[:])
	l.echoID++
	return id
}
