// SPDX-License-Identifier: MIT

package control

import (
	"errors"
	"fmt"
	"io"
)

// ErrMalformed is wrapped by every error ReadMessage returns for bytes that are not a
// PPTP control message. The connection cannot be resynchronised after one.
var ErrMalformed = errors.New("malformed PPTP control message")

// ReadMessage reads exactly one control or management message from r and returns it,
// header included, in buf when it fits (then it allocates nothing), else in a new slice.
//
// It checks the magic cookie, that the PPTP Message Type is 1 or 2, and that Length is at
// least 12, at least the RFC 2637 size of the control type (so the matching wire type's
// getters are safe on the result) and at most MaxMessageLen. A longer-than-defined message
// is returned whole; its extra bytes are for the caller to ignore. Unknown control types
// are returned too. Errors: io.EOF if r ended cleanly before a message,
// io.ErrUnexpectedEOF inside one, an error wrapping ErrMalformed for a bad header, or
// r's own error.
func ReadMessage(r io.Reader, buf []byte) ([]byte, error) {
	if len(buf) < HeaderLen {
		buf = make([]byte, MaxMessageLen)
	}
	if _, err := io.ReadFull(r, buf[:HeaderLen]); err != nil {
		return nil, err
	}
	h := Header(buf)
	if c := h.MagicCookie(); c != MagicCookie {
		return nil, fmt.Errorf("%w: magic cookie 0x%08x", ErrMalformed, c)
	}
	n := int(h.Length())
	if n > MaxMessageLen {
		return nil, fmt.Errorf("%w: length %d exceeds %d", ErrMalformed, n, MaxMessageLen)
	}
	switch h.MessageType() {
	case MessageControl:
		if min := max(HeaderLen, h.ControlType().Size()); n < min {
			return nil, fmt.Errorf("%w: %v with length %d, want at least %d", ErrMalformed, h.ControlType(), n, min)
		}
	case MessageManage:
		if n < HeaderLen {
			return nil, fmt.Errorf("%w: length %d", ErrMalformed, n)
		}
	default:
		return nil, fmt.Errorf("%w: PPTP message type %d", ErrMalformed, h.MessageType())
	}
	if n > len(buf) {
		nb := make([]byte, n)
		copy(nb, buf[:HeaderLen])
		buf = nb
	}
	if _, err := io.ReadFull(r, buf[HeaderLen:n]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf[:n], nil
}
