// SPDX-License-Identifier: MIT

package mschap

import (
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
)

// Failure codes of the MS-CHAP Failure message (RFC 2759 §6, RFC 2433 §3).
const (
	ErrRestrictedLogonHours  = 646
	ErrAccountDisabled       = 647
	ErrPasswordExpired       = 648
	ErrNoDialinPermission    = 649
	ErrAuthenticationFailure = 691
	ErrChangingPassword      = 709
)

// Failure is the parsed message of an MS-CHAP Failure packet,
// "E=eeee R=r C=cccc V=vvvv M=<msg>" (RFC 2759 §6). It is also the error the
// peer reports when authentication fails.
type Failure struct {
	Code      int    // E=: one of the Err... codes
	Retry     bool   // R=1: the authenticator allows a retry
	Challenge []byte // C=: new authenticator challenge (8 bytes v1, 16 bytes v2); nil if absent
	Version   int    // V=: password change protocol version (3 for RFC 2759); 0 if absent
	Message   string // M=: text for the user; "" if absent
}

var (
	errNoCode         = errors.New("mschap: failure message has no E= field")
	errBadField       = errors.New("mschap: malformed field in failure message")
	errDuplicateField = errors.New("mschap: repeated field in failure message")
)

// ParseFailure parses the message of an MS-CHAP Failure packet. Fields may
// come in any order separated by spaces; M= must be last because its text
// runs to the end and may contain spaces. Only E= is required. Unknown
// single-letter fields are skipped for compatibility; any other token, a
// non-numeric E= or V=, an R= other than 0/1, or a C= that is not 8 or 16
// bytes of hex is an error. The returned Failure does not alias msg.
func ParseFailure(msg string) (*Failure, error) {
	f := &Failure{}
	var seen [4]bool // E R C V
	rest := msg
	haveCode := false
	for rest != "" {
		if rest[0] == ' ' {
			rest = rest[1:]
			continue
		}
		if len(rest) < 2 || rest[1] != '=' {
			return nil, errBadField
		}
		key := rest[0]
		if key == 'M' {
			f.Message = strings.Clone(rest[2:])
			break
		}
		tok := rest[2:]
		if i := strings.IndexByte(tok, ' '); i >= 0 {
			tok, rest = tok[:i], tok[i:]
		} else {
			rest = ""
		}
		idx := strings.IndexByte("ERCV", key)
		if idx < 0 {
			if key < 'A' || key > 'Z' {
				return nil, errBadField
			}
			continue // a field of a later revision
		}
		if seen[idx] {
			return nil, errDuplicateField
		}
		seen[idx] = true
		switch key {
		case 'E':
			n, err := parseSmallUint(tok)
			if err != nil {
				return nil, errBadField
			}
			f.Code, haveCode = n, true
		case 'R':
			switch tok {
			case "0":
			case "1":
				f.Retry = true
			default:
				return nil, errBadField
			}
		case 'C':
			if len(tok) != 2*ChallengeLenV1 && len(tok) != 2*ChallengeLenV2 {
				return nil, errBadField
			}
			c, err := hex.DecodeString(tok)
			if err != nil {
				return nil, errBadField
			}
			f.Challenge = c
		case 'V':
			n, err := parseSmallUint(tok)
			if err != nil {
				return nil, errBadField
			}
			f.Version = n
		}
	}
	if !haveCode {
		return nil, errNoCode
	}
	return f, nil
}

// parseSmallUint accepts 1 to 9 decimal digits, so the value fits any int.
func parseSmallUint(s string) (int, error) {
	if len(s) == 0 || len(s) > 9 {
		return 0, errBadField
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errBadField
		}
	}
	return strconv.Atoi(s)
}

// CodeText describes a failure code in words.
func CodeText(code int) string {
	switch code {
	case ErrRestrictedLogonHours:
		return "restricted logon hours"
	case ErrAccountDisabled:
		return "account disabled"
	case ErrPasswordExpired:
		return "password expired"
	case ErrNoDialinPermission:
		return "no dial-in permission"
	case ErrAuthenticationFailure:
		return "authentication failure (access denied)"
	case ErrChangingPassword:
		return "error changing password"
	}
	return "unknown error"
}

// Error returns for example
// `MS-CHAP E=691 authentication failure (access denied): "Access denied"`.
func (f *Failure) Error() string {
	s := "MS-CHAP E=" + strconv.Itoa(f.Code) + " " + CodeText(f.Code)
	if f.Message != "" {
		s += ": " + strconv.Quote(f.Message)
	}
	return s
}

// String formats f as the message of a Failure packet, the inverse of
// ParseFailure. Fields that are zero are still written (E, R, V), C only
// when Challenge is set, M only when Message is set.
func (f *Failure) String() string {
	var b strings.Builder
	b.WriteString("E=")
	b.WriteString(strconv.Itoa(f.Code))
	if f.Retry {
		b.WriteString(" R=1")
	} else {
		b.WriteString(" R=0")
	}
	if f.Challenge != nil {
		b.WriteString(" C=")
		b.WriteString(hex.EncodeToString(f.Challenge)) // lower case, as pppd sends it
	}
	b.WriteString(" V=")
	b.WriteString(strconv.Itoa(f.Version))
	if f.Message != "" {
		b.WriteString(" M=")
		b.WriteString(f.Message)
	}
	return b.String()
}
