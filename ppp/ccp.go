// SPDX-License-Identifier: MIT

package ppp

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/pptp-go/pptp/mppe"
)

// CCP option types we recognise (RFC 1962 §4, RFC 3078 §2).
const (
	ccpMPPE = 18
)

const (
	mppeStrengths = mppe.BitS | mppe.BitL | mppe.BitM
	mppeKnown     = mppe.BitH | mppe.BitS | mppe.BitL | mppe.BitM | mppe.BitD | mppe.BitC
	mppePad       = 4 // MPPE header + encrypted protocol overhead pppd takes off the MTU
)

// ccp is the CCP codec carrying only MPPE.
type ccp struct {
	cfg *Config
	p   ccpParent

	reqMPPE  bool   // our request still carries the MPPE option
	bits     uint32 // our requested bitmap
	peerBits uint32 // what we acked of the peer's request (0 = none)
	offered  uint32 // the last bitmap the peer asked for or Nak'd to us (for error text)
	refused  bool   // the peer rejected MPPE
	acked    uint32 // our bitmap as the peer acked it (0 = not yet)
	opened   bool   // between tlu and tld: Reset-Requests count only then
}

func newCCP(cfg *Config, p ccpParent) *ccp { return &ccp{cfg: cfg, p: p} }

// policyBits is the bitmap our policy allows, strongest first in meaning.
func (c *ccp) policyBits() uint32 {
	p := c.cfg.MPPE
	var b uint32
	if p.Allow128 {
		b |= mppe.BitS
	}
	if p.Allow40 {
		b |= mppe.BitL
	}
	if p.Stateless || !p.Stateful {
		b |= mppe.BitH
	}
	return b
}

// acceptable reports whether b names exactly one strength and a mode our policy allows.
func (c *ccp) acceptable(b uint32) bool {
	p := c.cfg.MPPE
	s := b & mppeStrengths
	if b&^(mppe.BitH|mppeStrengths) != 0 {
		return false
	}
	switch s {
	case mppe.BitS:
		if !p.Allow128 {
			return false
		}
	case mppe.BitL:
		if !p.Allow40 {
			return false
		}
	default:
		return false
	}
	if b&mppe.BitH != 0 {
		return p.Stateless || !p.Stateful
	}
	return p.Stateful
}

// preferred is our single best choice given an offer: strongest common strength, stateless
// unless we are stateful-only (or the peer is and we allow it).
func (c *ccp) preferred(offer uint32) uint32 {
	p := c.cfg.MPPE
	var b uint32
	switch {
	case p.Allow128 && (offer&mppe.BitS != 0 || offer&mppeStrengths == 0 || !p.Allow40):
		b = mppe.BitS
	case p.Allow40:
		b = mppe.BitL
	}
	stateless := p.Stateless || !p.Stateful
	if stateless && (offer&mppe.BitH != 0 || !p.Stateful) {
		b |= mppe.BitH
	}
	return b
}

func (c *ccp) resetci() {
	c.bits = c.policyBits()
	c.reqMPPE = c.bits&mppeStrengths != 0
	c.peerBits = 0
	c.acked = 0
	c.refused = false
}

func (c *ccp) addci(b []byte) []byte {
	if c.reqMPPE {
		b = append(b, ccpMPPE, 6)
		b = binary.BigEndian.AppendUint32(b, c.bits)
	}
	return b
}

func (c *ccp) ackci(opts []byte) bool {
	if c.reqMPPE && len(opts) == 6 {
		c.acked = normalize(binary.BigEndian.Uint32(opts[2:]))
	}
	return true
}

// normalize keeps the strongest strength of b: a peer that acks several strengths gets the
// strongest, as the Linux MPPE code would use.
func normalize(b uint32) uint32 {
	switch {
	case b&mppe.BitS != 0:
		return b&^mppeStrengths | mppe.BitS
	case b&mppe.BitM != 0:
		return b&^mppeStrengths | mppe.BitM
	}
	return b
}

func (c *ccp) nakci(opts []byte, treatAsReject bool) bool {
	for o, err := range Options(opts) {
		if err != nil {
			return false
		}
		if o.Type() != ccpMPPE || !c.reqMPPE {
			continue
		}
		if len(o.Data()) != 4 {
			return false
		}
		b := binary.BigEndian.Uint32(o.Data())
		c.offered = b
		if treatAsReject || !c.acceptable(b) {
			c.reqMPPE = false
			c.p.mppeFailed(c.mismatch(b))
			continue
		}
		c.bits = b
	}
	return true
}

func (c *ccp) rejci(opts []byte) bool {
	for o, err := range Options(opts) {
		if err != nil {
			return false
		}
		if o.Type() == ccpMPPE && c.reqMPPE {
			c.reqMPPE = false
			c.refused = true
			c.p.mppeFailed(fmt.Errorf("encryption negotiation failed: %s refused MPPE", c.cfg.peerRole()))
		}
	}
	return true
}

// reqci judges the peer's request: MPPE alone, one strength, the mode our policy allows.
func (c *ccp) reqci(r *confReply) {
	c.peerBits = 0
	for o := range r.Options() {
		c.judge(o, r)
	}
	switch {
	case r.code() != CodeConfigureAck:
		c.peerBits = 0 // nothing agreed until the peer's request is acked
	case c.peerBits != 0 && c.reqMPPE && c.acked == 0:
		// Both directions must agree (pppd insists): our next request follows the
		// peer's choice.
		c.bits = c.peerBits
	}
}

// judge decides one option of the peer's request.
func (c *ccp) judge(o Option, r *confReply) {
	if o.Type() != ccpMPPE || len(o.Data()) != 4 || c.policyBits()&mppeStrengths == 0 {
		// Deflate, BSD-Compress, predictors …: we only encrypt.
		r.Reject(o)
		return
	}
	b := binary.BigEndian.Uint32(o.Data())
	c.offered = b
	if b&(mppeStrengths|mppe.BitH) == 0 && b&mppe.BitC != 0 {
		// MPPC compression alone: nothing for us in it.
		r.Reject(o)
		return
	}
	if c.acceptable(b) && (c.acked == 0 || b == c.acked) {
		c.peerBits = b
		r.Ack(o)
		return
	}
	// Once the peer acked our request, both directions must use that.
	want := c.preferred(b)
	if c.acked != 0 && c.acceptable(b) {
		want = c.acked
	}
	if want&mppeStrengths == 0 {
		r.Reject(o)
		return
	}
	var v [4]byte
	binary.BigEndian.PutUint32(v[:], want)
	r.Nak(o, v[:])
}

// describe renders an MPPE bitmap for logs and errors: "MPPE-128 stateless".
func describeMPPE(b uint32) string {
	var s []string
	if b&mppe.BitS != 0 {
		s = append(s, "MPPE-128")
	}
	if b&mppe.BitM != 0 {
		s = append(s, "MPPE-56")
	}
	if b&mppe.BitL != 0 {
		s = append(s, "MPPE-40")
	}
	if len(s) == 0 {
		s = append(s, "no MPPE strength")
	}
	mode := " stateful"
	if b&mppe.BitH != 0 {
		mode = " stateless"
	}
	r := strings.Join(s, "/") + mode
	if b&mppe.BitC != 0 {
		r += " +MPPC"
	}
	return r
}

// mismatch builds the error naming both sides' positions.
func (c *ccp) mismatch(offer uint32) error {
	verb := "allow"
	if c.cfg.MPPE.Require {
		verb = "require"
	}
	return fmt.Errorf("encryption negotiation failed: we %s %s, %s offered %s",
		verb, describeMPPE(c.policyBits()), c.cfg.peerRole(), describeMPPE(offer))
}

// params is the negotiated MPPE result once CCP is up, or an error if the directions
// disagree or nothing was negotiated.
func (c *ccp) params() (bits int, stateless bool, err error) {
	if !c.reqMPPE || c.peerBits == 0 {
		if c.refused {
			return 0, false, fmt.Errorf("encryption negotiation failed: %s refused MPPE", c.cfg.peerRole())
		}
		return 0, false, nil
	}
	a := c.acked
	if a&(mppe.BitH|mppeStrengths) != c.peerBits&(mppe.BitH|mppeStrengths) {
		return 0, false, fmt.Errorf("encryption negotiation failed: we send %s, %s sends %s",
			describeMPPE(a), c.cfg.peerRole(), describeMPPE(c.peerBits))
	}
	bits = 40
	if a&mppe.BitS != 0 {
		bits = 128
	}
	return bits, a&mppe.BitH != 0, nil
}

func (c *ccp) up() {
	c.opened = true
	c.p.layerUp(ProtoCCP)
}

func (c *ccp) down() {
	c.opened = false
	c.p.layerDown(ProtoCCP)
}

func (c *ccp) starting()                {}
func (c *ccp) finished()                { c.p.layerFinished(ProtoCCP) }
func (c *ccp) rxr(uint8, uint8, []byte) {}

func (c *ccp) extcode(code, id uint8, data []byte) bool {
	switch code {
	case CodeResetRequest:
		if c.opened {
			c.p.debugf("CCP: Reset-Request id=%#x: resetting our encrypter", id)
			c.p.txReset()
			c.p.sendPacket(ProtoCCP, CodeResetAck, id, nil)
		}
		return true
	case CodeResetAck:
		c.p.resetAck(id)
		return true
	}
	return false
}
