// SPDX-License-Identifier: MIT

// Package ppp is the PPP engine of RFC 1661: one table-driven option-negotiation automaton
// (RFC 1661 §4, the state transition table written out as data) shared by LCP, IPCP
// (RFC 1332 with the DNS options of RFC 1877) and CCP (RFC 1962, carrying only the MPPE
// option of RFC 3078); link phases, Protocol-Reject, LCP echo keepalives, and the
// authentication phase driven through package ppp/auth.
//
// One goroutine (Engine.Run) owns all negotiation state; frames arrive through Engine.Input
// and leave through Lower.SendFrame, always as FF 03 + 2-byte protocol. The data path (IP,
// MPPE) never enters the engine: it learns the negotiated parameters from Config.Up and
// reports stateful MPPE loss with Engine.SendResetRequest.
//
// A control protocol is a codec (lcp.go, ipcp.go, ccp.go) plugged into the automaton
// (fsm.go). The codec builds our requests and judges each option of the peer's into the
// automaton's reply accumulator (confreply.go), which alone picks Configure-Ack, -Nak or
// -Reject; it reaches the rest of the link only through its parent interface, so a new
// NCP is a codec plus its cases in the Engine's layer signals (phase.go).
//
// Interop choices follow Linux pppd 2.4.9, the peer behind pptpd: asyncmap 0 in our LCP
// request, MS-CHAPv2 → MS-CHAPv1 → CHAP-MD5 → PAP preference, both MPPE directions forced
// to the same bits, the MTU lowered by 4 when MPPE is on, MS-CHAPv1 MPPE keys derived as
// pppd 2.4.9 does.
package ppp
