// SPDX-License-Identifier: MIT

package cli

import (
	"errors"
	"fmt"
	"testing"

	"github.com/pptp-go/pptp/ppp"
	"github.com/pptp-go/pptp/ppp/auth"
)

func TestAuthFailureReason(t *testing.T) {
	for err, want := range map[error]string{
		nil:                             "",
		errors.New("LCP: no agreement"): "",
		fmt.Errorf("%w: client %q (MS-CHAPv2): MS-CHAPv2: peer %q failed authentication", ppp.ErrAuthFailed, "bob", "bob"): "bad_password",
		fmt.Errorf("%w: client %q (PAP): PAP: peer %q sent a wrong password", ppp.ErrAuthFailed, "bob", "bob"):             "bad_password",
		fmt.Errorf("%w: client %q (MS-CHAPv2): MS-CHAPv2: no secret for peer %q", ppp.ErrAuthFailed, "eve", "eve"):         "unknown_user",
		fmt.Errorf("%w: %w", ppp.ErrAuthFailed, &auth.TimeoutError{Method: auth.PAP, What: "an Authenticate-Request"}):     "timeout",
		fmt.Errorf("%w: RADIUS: no server answered", ppp.ErrAuthFailed):                                                    "other",
	} {
		if got := authFailureReason(err); got != want {
			t.Errorf("authFailureReason(%v) = %q, want %q", err, got, want)
		}
	}
}
