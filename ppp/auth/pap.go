// SPDX-License-Identifier: MIT

package auth

import (
	"crypto/subtle"
	"fmt"
)

// Messages of our PAP authenticator, as pppd words them.
const (
	papAckMessage = "Login ok"
	papNakMessage = "Login incorrect"
)

// papPeer sends Authenticate-Requests until the authenticator answers.
type papPeer struct {
	user, password string
	id             byte
	tries          int
	sent           [4]uint64 // identifiers used so far: an Ack to any of them counts
	req            []byte
	err            error // the request cannot be built
	done           bool
}

func newPAPPeer(user, password string) *papPeer {
	return &papPeer{user: user, password: password}
}

func (p *papPeer) Start() []byte {
	p.tries, p.done, p.sent = 0, false, [4]uint64{}
	return p.send()
}

// send builds a request with a fresh Identifier: pppd changes it on every
// retransmission so that replies can be matched.
func (p *papPeer) send() []byte {
	p.id++
	p.tries++
	p.sent[p.id/64] |= 1 << (p.id % 64)
	var err error
	p.req, err = AppendPAPRequest(p.req[:0], p.id, p.user, p.password)
	if err != nil {
		p.err = fmt.Errorf("PAP: user name or password longer than 255 bytes")
		return nil
	}
	return p.req
}

func (p *papPeer) Input(pkt []byte) ([]byte, *Result) {
	if p.done || p.tries == 0 {
		return nil, nil
	}
	pp, err := ParsePAP(pkt)
	if err != nil {
		return nil, nil
	}
	id := pp.Identifier()
	if p.sent[id/64]&(1<<(id%64)) == 0 {
		return nil, nil
	}
	msg := string(pp.Message())
	switch pp.Code() {
	case PAPAuthAck:
		p.done = true
		return nil, &Result{User: p.user, Message: msg}
	case PAPAuthNak:
		p.done = true
		return nil, &Result{Err: &RejectedError{Method: PAP, Message: msg}, User: p.user, Message: msg}
	}
	return nil, nil
}

func (p *papPeer) Timeout() ([]byte, *Result) {
	switch {
	case p.done:
		return nil, nil
	case p.err != nil:
		p.done = true
		return nil, &Result{Err: p.err, User: p.user}
	case p.tries >= MaxTries:
		p.done = true
		return nil, &Result{Err: &TimeoutError{Method: PAP, What: "an Authenticate-Ack or -Nak"}, User: p.user}
	}
	return p.send(), nil
}

// papAuthenticator checks Authenticate-Requests against the secrets.
type papAuthenticator struct {
	secret   func(user string) (string, bool)
	verifier Verifier // if set, replaces secret
	waits    int
	done     bool
	ok       bool
	reply    []byte
}

func newPAPAuthenticator(secret func(string) (string, bool)) *papAuthenticator {
	return &papAuthenticator{secret: secret}
}

func (a *papAuthenticator) Start() []byte { return nil }

func (a *papAuthenticator) Input(pkt []byte) ([]byte, *Result) {
	pp, err := ParsePAP(pkt)
	if err != nil || pp.Code() != PAPAuthRequest {
		return nil, nil
	}
	if a.done {
		// The peer did not hear our answer and retransmitted (with a new
		// Identifier): repeat the verdict, as pppd does.
		return a.answer(pp.Identifier()), nil
	}
	user := string(pp.PeerID())
	if a.verifier != nil {
		return a.delegate(user, pp)
	}
	want, found := a.secret(user)
	// Compare in constant time even for unknown users.
	a.ok = subtle.ConstantTimeCompare([]byte(want), pp.Password()) == 1 && found
	a.done = true
	res := &Result{User: user, Message: papAckMessage}
	if !a.ok {
		res.Message = papNakMessage
		if found {
			res.Err = fmt.Errorf("PAP: peer %q sent a wrong password", user)
		} else {
			res.Err = fmt.Errorf("PAP: no secret for peer %q", user)
		}
	}
	return a.answer(pp.Identifier()), res
}

func (a *papAuthenticator) answer(id byte) []byte {
	if a.ok {
		a.reply = AppendPAPReply(a.reply[:0], PAPAuthAck, id, papAckMessage)
	} else {
		a.reply = AppendPAPReply(a.reply[:0], PAPAuthNak, id, papNakMessage)
	}
	return a.reply
}

func (a *papAuthenticator) Timeout() ([]byte, *Result) {
	if a.done {
		return nil, nil
	}
	a.waits++
	if a.waits >= MaxTries {
		a.done = true
		return nil, &Result{Err: &TimeoutError{Method: PAP, What: "an Authenticate-Request"}}
	}
	return nil, nil
}

// delegate hands the request to the verifier.
func (a *papAuthenticator) delegate(user string, pp PAPPacket) ([]byte, *Result) {
	v := a.verifier(&VerifyRequest{Method: PAP, User: user, Password: pp.Password()})
	if v == nil {
		v = &Verdict{}
	}
	a.ok, a.done = v.OK, true
	res := &Result{User: user, Message: papAckMessage, Grant: v.Grant}
	if !v.OK {
		res.Message, res.Grant = papNakMessage, nil
		res.Err = v.Err
		if res.Err == nil {
			res.Err = fmt.Errorf("PAP: peer %q rejected", user)
		}
	}
	return a.answer(pp.Identifier()), res
}
