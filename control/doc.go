// SPDX-License-Identifier: MIT

// Package control implements the PPTP control connection of RFC 2637 §2: the TCP
// messages on port 1723 as wire types, and both ends of one call — the client (PNS,
// [Dial]) and the server (PAC, [Accept]).
//
// Wire types follow gVisor's tcpip/header: every message is a named []byte with getters
// and setters over fixed offsets. [ReadMessage] validates a message's header and length so
// that the getters of the matching type can be used without further checks, and it
// allocates nothing when the caller's buffer is big enough.
//
// Unlike pptp-linux, framing is strict about the header (a bad magic cookie or length ends
// the connection instead of skipping bytes until something looks right) and tolerant about
// the body (a message longer than RFC 2637 defines is accepted; the extra bytes are
// ignored).
//
// After setup one goroutine per [Call] owns the connection: it answers Echo-Requests,
// probes a silent peer with its own, and handles the messages that end the call.
package control
