// SPDX-License-Identifier: MIT

package ppp

import "errors"

// Kinds of link failure. Run's error matches one of them with errors.Is (besides the cause it
// wraps, e.g. *mschap.Failure), so callers can map failures to exit statuses without reading
// the text.
var (
	ErrAuthFailed     = errors.New("authentication failed")
	ErrNegotiation    = errors.New("negotiation failed")
	ErrPeerTerminated = errors.New("peer terminated the link")
	ErrPeerDead       = errors.New("peer not responding")
)

// The layer whose negotiation failed: a negotiation failure matches one of these too, so
// that a caller can say which stage of the set-up failed.
var (
	ErrLCP  = errors.New("LCP")
	ErrCCP  = errors.New("CCP")
	ErrIPCP = errors.New("IPCP")
)

// ErrNoAnswer is matched by a layer's failure after its Configure-Requests ran out without
// an Ack: the peer never agreed, or never heard us (the session tells which from GRE).
var ErrNoAnswer = errors.New("no answer to Configure-Requests")

// inLayer tags err with the layer it failed in, keeping its text and kind.
func inLayer(layer, err error) error { return &kindError{layer, err} }

// kindError gives err a kind while keeping its text.
type kindError struct{ kind, err error }

func (k *kindError) Error() string   { return k.err.Error() }
func (k *kindError) Unwrap() []error { return []error{k.kind, k.err} }

func withKind(kind, err error) error {
	if err == nil || hasKind(err) {
		return err
	}
	return &kindError{kind, err}
}

func hasKind(err error) bool {
	for _, k := range []error{ErrAuthFailed, ErrNegotiation, ErrPeerTerminated, ErrPeerDead} {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}
