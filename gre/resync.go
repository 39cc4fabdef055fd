// SPDX-License-Identifier: MIT

package gre

// SetResyncHint installs f, called on the Receive goroutine for every data packet the
// reorder buffer holds behind a gap, with its payload (the PPP frame). When f reports that
// the packet restarts the layer above on its own — a stateful MPPE packet answering the CCP
// Reset-Request sent when the gap opened: the missing packet is later than that request's
// round trip, lost in all likelihood, and the held packets behind the gap cannot be
// decrypted without it — the Link delivers everything up to it at once instead of holding
// it for the reorder timeout, counting the gap lost. Call it before Receive; f must not block or keep payload.
func (l *Link) SetResyncHint(f func(payload []byte) bool) { l.rx.resync = f }

// ReleaseThrough delivers every held packet up to and including seq at once, whatever the
// gaps before them (counted lost), then any that follow in order.
func (r *Reorder[T]) ReleaseThrough(seq uint32) {
	for r.n > 0 && !SeqAfter(r.at(0).seq, seq) {
		r.forceHead()
	}
}
