// SPDX-License-Identifier: MIT

// Package pppconf reads pppd-style configuration: option words from files and command lines
// (the option set of pppd(8) that a PPTP link over RFC 1661 PPP needs, plus a few extensions
// of the built-in client), peers files, chap-secrets/pap-secrets (RFC 1994 / RFC 1334
// secrets as pppd stores them) and poptop's pptpd.conf.
//
// Every option lives in one table entry (name, kind, setter, help), so the command line,
// the file parser and the help text cannot disagree. Errors name the option and, for
// files, the file and line ("/etc/ppp/peers/vpn:7: unknown option …"). An option we do
// not implement is an error, never silently ignored; the few accepted no-ops (lock,
// crtscts, noipv6 …) are listed as such in the table.
//
// Nothing here logs. Error messages never contain passwords, secrets or keys.
package pppconf
