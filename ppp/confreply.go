// SPDX-License-Identifier: MIT

package ppp

import "iter"

// confReply gathers the verdicts on the peer's Configure-Request, one per option, in the
// spirit of FreeBSD ppp's fsm_decode: a codec only judges options, and the automaton alone
// picks the reply from what was gathered (RFC 1661 §5.2–5.4): any Reject makes it a
// Configure-Reject of the rejected options, else any Nak a Configure-Nak of the Nak'd
// ones, else a Configure-Ack echoing the request. Either list keeps the request's order.
//
// The capitalised methods are the codec's side, the others the automaton's. The buffers
// live on the fsm and are reused: judging allocates nothing once they have grown.
type confReply struct {
	req        []byte // the request's options
	nak, rej   []byte // reply options of a Configure-Nak and of a Configure-Reject
	rejectNaks bool   // Max-Failure Naks were sent: a Nak turns into a Reject (RFC 1661 §4.6)
	judged     bool   // the option being walked has its verdict
}

// begin starts a request: its options and whether Naks are now Rejects.
func (r *confReply) begin(req []byte, rejectNaks bool) {
	r.req, r.nak, r.rej = req, r.nak[:0], r.rej[:0]
	r.rejectNaks = rejectNaks
}

// Options walks the request for the codec to judge, in order. Bytes that are no
// well-formed option are rejected as one, as is an option the codec leaves unjudged:
// what it does not know it must not seem to accept.
func (r *confReply) Options() iter.Seq[Option] {
	return func(yield func(Option) bool) {
		for o, err := range Options(r.req) {
			if err != nil {
				r.Reject(o)
				return
			}
			r.judged = false
			if !yield(o) {
				return
			}
			if !r.judged {
				r.Reject(o)
			}
		}
	}
}

// Ack accepts o as requested.
func (r *confReply) Ack(o Option) { r.judged = true }

// Nak refuses o's value and suggests data instead, under o's type; once Max-Failure Naks
// were sent it rejects o instead, so that negotiation converges (RFC 1661 §4.6).
func (r *confReply) Nak(o Option, data []byte) {
	if r.rejectNaks {
		r.Reject(o)
		return
	}
	r.judged = true
	r.nak = append(r.nak, o.Type(), uint8(2+len(data)))
	r.nak = append(r.nak, data...)
}

// Reject refuses o altogether.
func (r *confReply) Reject(o Option) {
	r.judged = true
	r.rej = append(r.rej, o...)
}

// code is the reply the verdicts call for. Codecs may read it once every option is judged,
// to keep what they agreed to only if it is acked.
func (r *confReply) code() uint8 {
	switch {
	case len(r.rej) > 0:
		return CodeConfigureReject
	case len(r.nak) > 0:
		return CodeConfigureNak
	}
	return CodeConfigureAck
}

// data is the reply's options for code().
func (r *confReply) data() []byte {
	switch r.code() {
	case CodeConfigureReject:
		return r.rej
	case CodeConfigureNak:
		return r.nak
	}
	return r.req
}
