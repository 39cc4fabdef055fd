// SPDX-License-Identifier: MIT

package auth

import (
	"bytes"
	"crypto/md5"
	"crypto/subtle"
	"fmt"
	"io"
	"strings"

	"github.com/pptp-go/pptp/mschap"
)

// Lengths of the challenges our authenticator sends and the responses it
// expects.
const (
	md5ChallengeLen = 16
	md5ResponseLen  = md5.Size
)

// Offsets inside the 49-byte MS-CHAP Response value (RFC 2433 §3,
// RFC 2759 §4).
const (
	v1OffNT       = 24 // after the 24-byte LM response
	v1OffFlag     = 48 // 1 = use the NT response
	v2OffPeerCh   = 0
	v2OffReserved = 16 // 8 zero bytes
	v2OffNT       = 24
	v2OffFlags    = 48 // must be zero
)

// Fixed texts of our authenticator, as pppd sends them.
const (
	msgGranted = "Access granted"
	msgDenied  = "Access denied"
)

func challengeLen(m Method) int {
	switch m {
	case MSCHAPv1:
		return mschap.ChallengeLenV1
	case MSCHAPv2:
		return mschap.ChallengeLenV2
	}
	return md5ChallengeLen
}

// chapMD5 is the RFC 1994 §4.1 response: MD5(Identifier || secret || challenge).
func chapMD5(id byte, secret string, challenge []byte) [md5.Size]byte {
	h := md5.New()
	h.Write([]byte{id})
	h.Write([]byte(secret))
	h.Write(challenge)
	var sum [md5.Size]byte
	h.Sum(sum[:0])
	return sum
}

// chapPeer answers Challenges and waits for Success or Failure.
type chapPeer struct {
	m              Method
	user, password string
	rnd            io.Reader

	have      bool // a Response was sent for (id, challenge)
	id        byte
	challenge []byte
	resp      []byte // the Response packet, resent unchanged for a repeated Challenge
	nt        [24]byte
	peerCh    [mschap.ChallengeLenV2]byte
	waits     int
	done      bool
}

func newCHAPPeer(m Method, user, password string, rnd io.Reader) *chapPeer {
	return &chapPeer{m: m, user: user, password: password, rnd: rnd}
}

func (c *chapPeer) Start() []byte { return nil }

func (c *chapPeer) Input(pkt []byte) ([]byte, *Result) {
	if c.done {
		// Rechallenges after the result (RFC 1994 §3) are not supported.
		return nil, nil
	}
	p, err := ParseCHAP(pkt)
	if err != nil {
		return nil, nil
	}
	switch p.Code() {
	case CHAPChallenge:
		return c.challengeIn(p)
	case CHAPSuccess, CHAPFailure:
		if !c.have || p.Identifier() != c.id {
			return nil, nil
		}
		c.done = true
		if p.Code() == CHAPSuccess {
			return nil, c.success(string(p.Message()))
		}
		return nil, c.failure(string(p.Message()))
	}
	return nil, nil
}

func (c *chapPeer) challengeIn(p CHAPPacket) ([]byte, *Result) {
	ch := p.Value()
	if c.m != CHAPMD5 && len(ch) != challengeLen(c.m) {
		return nil, nil // not a challenge of this algorithm
	}
	if c.have && p.Identifier() == c.id && bytes.Equal(ch, c.challenge) {
		// A retransmission: our Response was lost. Same answer, same
		// peer challenge, so a late Success still verifies.
		return c.resp, nil
	}
	var value [mschap.ResponseLen]byte
	var v []byte
	switch c.m {
	case CHAPMD5:
		sum := chapMD5(p.Identifier(), c.password, ch)
		v = append(value[:0], sum[:]...)
	case MSCHAPv1:
		c.nt = mschap.NTChallengeResponseV1(ch, c.password)
		copy(value[v1OffNT:], c.nt[:])
		value[v1OffFlag] = 1
		v = value[:]
	case MSCHAPv2:
		if _, err := io.ReadFull(c.rnd, c.peerCh[:]); err != nil {
			c.done = true
			return nil, &Result{Err: fmt.Errorf("MS-CHAPv2: reading random peer challenge: %w", err), User: c.user}
		}
		c.nt = mschap.GenerateNTResponse(ch, c.peerCh[:], c.user, c.password)
		copy(value[v2OffPeerCh:], c.peerCh[:])
		copy(value[v2OffNT:], c.nt[:])
		v = value[:]
	}
	resp, err := AppendCHAPValue(c.resp[:0], CHAPResponse, p.Identifier(), v, []byte(c.user))
	if err != nil {
		c.done = true
		return nil, &Result{Err: fmt.Errorf("%v: user name too long", c.m), User: c.user}
	}
	c.resp = resp
	c.have, c.id, c.waits = true, p.Identifier(), 0
	c.challenge = append(c.challenge[:0], ch...)
	return c.resp, nil
}

func (c *chapPeer) keys() *KeyMaterial {
	k := &KeyMaterial{Method: c.m, NTResponse: c.nt}
	k.PasswordHashHash = mschap.HashNTPasswordHash(mschap.NTPasswordHash(c.password))
	if c.m == MSCHAPv1 {
		copy(k.Challenge[:], c.challenge)
	}
	return k
}

func (c *chapPeer) success(msg string) *Result {
	res := &Result{User: c.user, Message: msg}
	switch c.m {
	case MSCHAPv1:
		res.Keys = c.keys()
	case MSCHAPv2:
		// RFC 2759 §5: "S=<40 hex> M=<text>"; the peer MUST check S=.
		ok := mschap.CheckAuthenticatorResponse(c.password, c.nt, c.peerCh[:], c.challenge, c.user, msg)
		if !ok {
			res.Err = ErrAuthenticatorResponse
			return res
		}
		res.Message = ""
		if rest := msg[mschap.AuthResponseLen:]; strings.HasPrefix(rest, " M=") {
			res.Message = rest[3:]
		}
		res.Keys = c.keys()
	}
	return res
}

func (c *chapPeer) failure(msg string) *Result {
	res := &Result{User: c.user, Message: msg}
	if c.m == CHAPMD5 {
		res.Err = &RejectedError{Method: c.m, Message: msg}
		return res
	}
	f, err := mschap.ParseFailure(msg)
	if err != nil {
		res.Err = &RejectedError{Method: c.m, Message: msg}
		return res
	}
	res.Err, res.Message = f, f.Message
	return res
}

func (c *chapPeer) Timeout() ([]byte, *Result) {
	if c.done {
		return nil, nil
	}
	// The authenticator drives retransmission (RFC 1994 §4.1), but only of its
	// Challenge: once pppd has sent Success it moves on to the network phase and never
	// sends it again, so a lost Success left us waiting for good. Repeating our Response
	// gets it back (pppd answers a repeated Response with the same status, as we do).
	c.waits++
	if c.waits < MaxTries {
		if c.have {
			return c.resp, nil
		}
		return nil, nil
	}
	c.done = true
	what := "a Challenge"
	if c.have {
		what = "Success or Failure"
	}
	return nil, &Result{Err: &TimeoutError{Method: c.m, What: what}, User: c.user}
}

// chapAuthenticator sends a Challenge and verifies the Response.
type chapAuthenticator struct {
	m        Method
	name     string
	secret   func(user string) (string, bool)
	verifier Verifier // if set, replaces secret
	rnd      io.Reader

	started   bool
	id        byte
	challenge []byte
	chPkt     []byte
	tries     int
	err       error // from rnd; reported by the next Timeout
	done      bool
	reply     []byte // our Success or Failure, repeated for a retransmitted Response
}

func newCHAPAuthenticator(m Method, name string, secret func(string) (string, bool), rnd io.Reader) *chapAuthenticator {
	return &chapAuthenticator{m: m, name: name, secret: secret, rnd: rnd}
}

func (a *chapAuthenticator) Start() []byte {
	a.started, a.done, a.tries, a.err = true, false, 1, nil
	buf := make([]byte, 1+challengeLen(a.m))
	if _, err := io.ReadFull(a.rnd, buf); err != nil {
		a.err = fmt.Errorf("%v: reading random challenge: %w", a.m, err)
		return nil
	}
	a.id, a.challenge = buf[0], buf[1:]
	pkt, err := AppendCHAPValue(nil, CHAPChallenge, a.id, a.challenge, []byte(a.name))
	if err != nil {
		a.err = fmt.Errorf("%v: our name is too long", a.m)
		return nil
	}
	a.chPkt = pkt
	return a.chPkt
}

func (a *chapAuthenticator) Timeout() ([]byte, *Result) {
	switch {
	case a.done || !a.started:
		return nil, nil
	case a.err != nil:
		a.done = true
		return nil, &Result{Err: a.err}
	case a.tries >= MaxTries:
		a.done = true
		return nil, &Result{Err: &TimeoutError{Method: a.m, What: "a Response"}}
	}
	a.tries++
	return a.chPkt, nil
}

func (a *chapAuthenticator) Input(pkt []byte) ([]byte, *Result) {
	if !a.started || a.chPkt == nil {
		return nil, nil
	}
	p, err := ParseCHAP(pkt)
	if err != nil || p.Code() != CHAPResponse || p.Identifier() != a.id {
		return nil, nil
	}
	if a.done {
		if a.reply != nil {
			return a.reply, nil // our answer was lost: repeat it exactly
		}
		return nil, nil // gave up before any Response came
	}
	a.done = true
	user := string(p.Name())
	var res *Result
	if a.verifier != nil {
		res = a.delegate(user, p.Value())
	} else {
		res = a.verify(user, p.Value())
	}
	res.User = user
	code := byte(CHAPSuccess)
	if res.Err != nil {
		code = CHAPFailure
	}
	a.reply = AppendCHAPMessage(nil, code, a.id, res.Message)
	return a.reply, res
}

// lookup finds the secret for name; for MS-CHAP it retries with the
// name stripped of "DOMAIN\", like pppd.
func (a *chapAuthenticator) lookup(name string) (string, bool) {
	if s, ok := a.secret(name); ok {
		return s, true
	}
	if a.m != CHAPMD5 {
		if bare := mschap.StripDomain(name); bare != name {
			return a.secret(bare)
		}
	}
	return "", false
}

// verify checks a Response value. The returned Result has Message set to
// the text of our Success or Failure.
func (a *chapAuthenticator) verify(user string, value []byte) *Result {
	secret, found := a.lookup(user)
	res := &Result{}
	var nt [24]byte
	ok := false
	switch a.m {
	case CHAPMD5:
		want := chapMD5(a.id, secret, a.challenge)
		ok = len(value) == md5ResponseLen && subtle.ConstantTimeCompare(value, want[:]) == 1
	case MSCHAPv1:
		// Only the NT response is checked: LM-only responses (flag 0) are
		// refused, as by pppd built without MSLANMAN.
		if len(value) == mschap.ResponseLen && value[v1OffFlag] == 1 {
			want := mschap.NTChallengeResponseV1(a.challenge, secret)
			copy(nt[:], value[v1OffNT:])
			ok = subtle.ConstantTimeCompare(nt[:], want[:]) == 1
		}
	case MSCHAPv2:
		if len(value) == mschap.ResponseLen {
			copy(nt[:], value[v2OffNT:])
			want := mschap.GenerateNTResponse(a.challenge, value[v2OffPeerCh:v2OffPeerCh+mschap.ChallengeLenV2], user, secret)
			ok = subtle.ConstantTimeCompare(nt[:], want[:]) == 1
		}
	}
	// An unknown user fails even if the peer answered for an empty secret.
	ok = ok && found

	switch {
	case !ok && found:
		res.Err = fmt.Errorf("%v: peer %q failed authentication", a.m, user)
	case !ok:
		res.Err = fmt.Errorf("%v: no secret for peer %q", a.m, user)
	}
	switch a.m {
	case CHAPMD5:
		res.Message = msgGranted
		if !ok {
			res.Message = msgDenied
		}
	case MSCHAPv1:
		res.Message = msgGranted
		if !ok {
			// pppd sends R=1 but cannot take a retry; we say R=0.
			res.Message = (&mschap.Failure{Code: mschap.ErrAuthenticationFailure,
				Challenge: make([]byte, mschap.ChallengeLenV1)}).String()
		}
	case MSCHAPv2:
		if ok {
			peerCh := value[v2OffPeerCh : v2OffPeerCh+mschap.ChallengeLenV2]
			res.Message = mschap.GenerateAuthenticatorResponse(secret, nt, peerCh, a.challenge, user) + " M=" + msgGranted
		} else {
			res.Message = (&mschap.Failure{Code: mschap.ErrAuthenticationFailure,
				Challenge: make([]byte, mschap.ChallengeLenV2), Version: 3, Message: msgDenied}).String()
		}
	}
	if ok && a.m != CHAPMD5 {
		res.Keys = &KeyMaterial{Method: a.m, NTResponse: nt,
			PasswordHashHash: mschap.HashNTPasswordHash(mschap.NTPasswordHash(secret))}
		if a.m == MSCHAPv1 {
			copy(res.Keys.Challenge[:], a.challenge)
		}
	}
	return res
}

// delegate hands the Response to the verifier and turns its verdict into a Result.
func (a *chapAuthenticator) delegate(user string, value []byte) *Result {
	v := a.verifier(&VerifyRequest{Method: a.m, User: user, ID: a.id, Challenge: a.challenge, Response: value})
	if v == nil {
		v = &Verdict{}
	}
	res := &Result{Message: v.Message}
	if !v.OK || (a.m == MSCHAPv2 && !strings.HasPrefix(v.Message, "S=")) {
		res.Err = v.Err
		if res.Err == nil {
			res.Err = fmt.Errorf("%v: peer %q rejected", a.m, user)
		}
		if v.OK {
			res.Err = fmt.Errorf("%v: verifier accepted peer %q without an authenticator response", a.m, user)
		}
		if _, err := mschap.ParseFailure(v.Message); a.m != CHAPMD5 && err != nil {
			res.Message = a.failureText()
		} else if a.m == CHAPMD5 && v.Message == "" {
			res.Message = msgDenied
		}
		return res
	}
	if res.Message == "" {
		res.Message = msgGranted
	}
	res.StartKeys, res.Grant = v.StartKeys, v.Grant
	if v.Keys != nil {
		res.Keys = v.Keys
	} else if a.m != CHAPMD5 && v.StartKeys != nil {
		res.Keys = &KeyMaterial{Method: a.m} // MPPE is possible; the start keys are given
	}
	return res
}

// failureText is our MS-CHAP Failure message (E=691, no retry).
func (a *chapAuthenticator) failureText() string {
	if a.m == MSCHAPv1 {
		return (&mschap.Failure{Code: mschap.ErrAuthenticationFailure,
			Challenge: make([]byte, mschap.ChallengeLenV1)}).String()
	}
	return (&mschap.Failure{Code: mschap.ErrAuthenticationFailure,
		Challenge: make([]byte, mschap.ChallengeLenV2), Version: 3, Message: msgDenied}).String()
}
