// SPDX-License-Identifier: MIT

// Package pppconf reads pppd-style configuration: option words from files and command lines
// (the option set of pppd(8) that a PPTP link over RFC 1661 PPP needs, plus a few extensions
// of the built-in client), peers files, chap-secrets/pap-secrets (RFC 1994 / RFC 1334
// secrets as pppd stores them) and poptop's pptpd.conf.
//
// Every option lives in one table entry (name, kind, setter, help), so the command line,
// the file parser and the help text cannot disagree. Errors name the option and, for
// files, the file and line ("/etc/ppp/peers/vpn:7: unknown option …"). An option we do
// not know is an error; the few accepted no-ops (lock, crtscts, asyncmap …) say so in
// their help, and options we accept but cannot honour (nopcomp, proxyarp …) add a warning.
//
// Nothing here logs. Error messages never contain passwords, secrets or keys.
package pppconf
