// SPDX-License-Identifier: MIT

package session

import "github.com/pptp-go/pptp/mppe"

// resyncPoint is the GRE link's resync hint (gre.Link.SetResyncHint): with stateful MPPE, a
// frame behind a gap that carries the flushed bit outside a flag packet is the sender's answer
// to our Reset-Request. Everything from the gap up to it is undecryptable unless the missing
// packet still comes, and by now (a round trip after the request) it will not, so holding
// the answer for the reorder timeout would only stall the link: each loss cost 300 ms of
// silence. Flag packets (count xFF, flushed every 256) are ordinary re-keys and keep
// waiting.
func (d *datapath) resyncPoint(frame []byte) bool {
	st := d.state.Load()
	if st == nil || !st.stateful {
		return false
	}
	if len(frame) >= 2 && frame[0] == 0xFF && frame[1] == 0x03 {
		frame = frame[2:]
	}
	switch {
	case len(frame) >= 1 && frame[0] == 0xFD: // protocol field compressed (PFC)
		frame = frame[1:]
	case len(frame) >= 2 && frame[0] == 0x00 && frame[1] == 0xFD:
		frame = frame[2:]
	default:
		return false
	}
	if len(frame) < mppe.HeaderLen {
		return false
	}
	h := mppe.Header(frame)
	return h.Flags()&mppe.FlagFlushed != 0 && h.Flags()&mppe.FlagEncrypted != 0 && h.Count()&0xFF != 0xFF
}
