// SPDX-License-Identifier: MIT

package auth

import (
	"errors"
	"strings"
	"testing"

	"github.com/pptp-go/pptp/mschap"
)

// A delegated authenticator passes the peer's response to the verifier unchanged and
// sends what the verifier decided: its S= (which the peer checks), its failure text, its
// keys and grant.
func TestVerifyingAuthenticator(t *testing.T) {
	keys := &StartKeys{Send: [16]byte{1}, Recv: [16]byte{2}}
	for _, m := range []Method{PAP, CHAPMD5, MSCHAPv1, MSCHAPv2} {
		for _, good := range []bool{true, false} {
			var got *VerifyRequest
			verify := func(req *VerifyRequest) *Verdict {
				got = req
				// The verifier (RADIUS) checks as a server with the password would.
				ok := false
				switch req.Method {
				case PAP:
					ok = string(req.Password) == "pw"
				case CHAPMD5:
					want := chapMD5(req.ID, "pw", req.Challenge)
					ok = string(req.Response) == string(want[:])
				case MSCHAPv1:
					nt := mschap.NTChallengeResponseV1(req.Challenge, "pw")
					ok = string(req.Response[24:48]) == string(nt[:])
				case MSCHAPv2:
					nt := mschap.GenerateNTResponse(req.Challenge, req.Response[:16], req.User, "pw")
					ok = string(req.Response[24:48]) == string(nt[:])
				}
				if !ok {
					return &Verdict{Err: errors.New("rejected by test"), Message: "E=691 R=0 C=00000000000000000000000000000000 V=3 M=nope"}
				}
				v := &Verdict{OK: true, StartKeys: keys, Grant: &Grant{MTU: 1300}}
				if req.Method == MSCHAPv2 {
					var nt [24]byte
					copy(nt[:], req.Response[24:48])
					v.Message = mschap.GenerateAuthenticatorResponse("pw", nt, req.Response[:16], req.Challenge, req.User) + " M=hi"
				}
				return v
			}
			pw := "pw"
			if !good {
				pw = "bad"
			}
			pr, ar := converse(t, NewPeerWithRand(m, "alice", pw, seeded(1)), NewVerifyingAuthenticator(m, "srv", verify, seeded(2)))
			if got == nil || got.User != "alice" || got.Method != m {
				t.Fatalf("%v: verifier saw %+v", m, got)
			}
			if good {
				if pr.Err != nil || ar.Err != nil || (m >= MSCHAPv1 && ar.StartKeys != keys) || ar.Grant == nil || ar.Grant.MTU != 1300 {
					t.Errorf("%v good: peer %v, authenticator %+v", m, pr.Err, ar)
				}
				if m >= MSCHAPv1 && ar.Keys == nil {
					t.Errorf("%v: no key material: MPPE would be off", m)
				}
				continue
			}
			if pr.Err == nil || ar.Err == nil || ar.Grant != nil {
				t.Errorf("%v bad password: peer %v, authenticator %+v", m, pr.Err, ar)
			}
			if m >= MSCHAPv1 && !strings.Contains(pr.Err.Error(), "691") {
				t.Errorf("%v: peer error %v lacks 691", m, pr.Err)
			}
		}
	}
}

// An MS-CHAPv2 "success" without S= is a failure: the peer would reject it anyway.
func TestVerifierWithoutAuthenticatorResponse(t *testing.T) {
	verify := func(*VerifyRequest) *Verdict { return &Verdict{OK: true} }
	pr, ar := converse(t, NewPeerWithRand(MSCHAPv2, "alice", "pw", seeded(1)), NewVerifyingAuthenticator(MSCHAPv2, "srv", verify, seeded(2)))
	if ar.Err == nil || pr.Err == nil {
		t.Fatalf("accepted without S=: peer %v authenticator %v", pr.Err, ar.Err)
	}
}
