// SPDX-License-Identifier: MIT

// Package pptp is a PPTP VPN client for Go programs: it places a call to a PPTP server
// (Windows RRAS, MikroTik, poptop, ours), runs the whole PPP stack itself (LCP, MS-CHAPv2,
// MPPE, IPCP) and ends the link in a user-space TCP/IP stack, so a program can reach the
// network behind the server without a TUN device, routes or kernel PPP:
//
//	t, err := pptp.Dial(ctx, pptp.Config{
//		Server: "vpn.example.com", User: "alice", Password: pw,
//	})
//	if err != nil {
//		return err // a *DialError: which stage failed, and why
//	}
//	defer t.Close()
//	c, err := t.DialContext(ctx, "tcp", "10.0.0.5:443") // through the tunnel
//	ln, err := t.Listen("tcp", ":8080")                  // and the other way
//
// # Safety
//
// PPTP's cryptography is weak: MS-CHAPv2 falls to an offline attack on a captured
// handshake, and MPPE is RC4 without integrity protection. Use it to reach gateways that
// speak nothing else, not as a security boundary.
//
// The zero Config is the least weak choice: MS-CHAPv2 alone (the server's authenticator
// response is verified, so a server that does not know the password cannot complete the
// login) and 128-bit MPPE required — a server that will not encrypt gets no link. Weaker
// choices are explicit: Config.Auth adds MS-CHAPv1, CHAP-MD5 or PAP; Config.Encryption
// allows 40-bit, optional or no MPPE. A field that makes no sense is refused by Dial with an
// error that names it (a *DialError at StageConfig).
//
// # Platform and privileges
//
// The package runs on Linux. PPTP carries its data in GRE (IP protocol 47), which needs a raw socket: Dial needs root
// or CAP_NET_RAW, and nothing else. Without it Dial fails at StageSetup with "raw GRE socket
// needs root or CAP_NET_RAW". DialTUN also needs CAP_NET_ADMIN for the TUN device, its
// addresses and routes.
//
// # Set-up and tear-down
//
// Dial returns once the link can carry traffic: IPCP has given us an address and, with
// MPPE, CCP has agreed on it and the keys are in place. Its ctx bounds the set-up: when ctx
// ends or a stage fails, Dial tears down what it had started in order (an LCP
// Terminate-Request and the call's clearing, which give a silent server a few seconds), and
// everything (goroutines, sockets, the Call ID claim, a TUN) is gone before it returns. A *DialError says which Stage failed:
// connect (DNS, TCP), PPTP control (the server refused the call), LCP, authentication (an
// MS-CHAP failure such as E=691 in words), encryption (CCP) or IPCP.
//
// Close ends the link in order — LCP Terminate-Request, Call-Clear-Request,
// Stop-Control-Connection-Request — and returns when nothing of the tunnel is left. Done is
// closed when the tunnel ends for any reason; Err then says why (the server hung up, LCP
// echoes went unanswered), and is nil after a clean Close. Callbacks (TUNConfig.Up and
// Down, Config.PPP's) run on the tunnel's goroutines and must not call Close; Logf is
// called from several goroutines at once.
//
// # Traffic
//
// DialContext, Listen and ListenPacket work like their net package namesakes, through the
// tunnel's user-space stack (gVisor's TCP/IP, package netstack); DialContext also opens
// ICMP echo sockets ("ping4", "ping6"). Names are resolved with the DNS servers the server assigned,
// through the tunnel: Resolver returns a *net.Resolver that does so for other code, and
// LookupHost is a shortcut. The tunnel carries IPv4, and IPv6 when the server opens IPV6CP
// (Config.PPP's IPv6.Mode; the default answers a server that does): the stack takes its
// global address, default route and DNS servers from the server's Router Advertisement,
// and DialContext reaches IPv6 destinations ("tcp6", "udp6", or an IPv6 literal; a name
// goes to its IPv4 address first). Listen and ListenPacket take networks as net.Listen does:
// "tcp" on ":port" hears both families, "tcp4" and "tcp6" one each.
//
// DialTUN puts the link on a kernel TUN device instead, configured with the negotiated
// addresses, the routes of TUNConfig and, if asked, DNS; Close removes every change. Its
// tunnel's DialContext and Listen then use kernel sockets bound to the interface.
//
// Params describes the link (addresses, DNS, MTU, cipher, Call IDs) and Stats counts what
// went through it (packets, bytes, GRE losses and reordering, decryption errors, the GRE
// round trip).
//
// # A server whose sessions need no TUN
//
// Serve runs a PPTP server in the program (ServerConfig: who may log in, the addresses, the
// same safe defaults as Config). Each session ends in a user-space stack of its own that
// takes the client's packets to any address; ServerConfig.Handle, called once a session's
// link is up, returns the netstack.Handler that decides each connection and flow. Package
// egress has the one pptpd uses ("egress netstack"): every flow re-originated from the
// server process, directly or through a SOCKS5 or HTTP proxy, with deny ranges and limits:
//
//	err := pptp.Serve(ctx, ln, pptp.ServerConfig{
//		Password: users.Lookup,
//		Local:    netip.MustParseAddr("10.0.0.1"),
//		Pool:     pool, // the clients' addresses
//		Handle: func(s *pptp.ServerSession) (netstack.Handler, func()) {
//			es := egress.NewSession(egress.Config{}, s.User, nil)
//			return es.Handler(), es.Close
//		},
//	})
//
// Serve needs CAP_NET_RAW (GRE), and CAP_NET_BIND_SERVICE for port 1723.
//
// # Beyond the defaults
//
// Config.Control and Config.Link hold the settings of pptp(8)'s command line (echo timers,
// bind address, routing mark, reordering, windows). Config.PPP takes a whole engine
// configuration, as pptp builds it from pppd's option files with package pppconf.
//
// The pptp command (cmd/pptp) is built on this package: its proxy mode (SOCKS5 and HTTP
// through a tunnel) is Dial, its default mode DialTUN. examples/socks5 is a SOCKS5 front
// for a PPTP link in a few dozen lines.
package pptp
