// SPDX-License-Identifier: MIT

package ppp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
)

// LCP options that Windows RRAS, MikroTik and Cisco send and pppd rarely does; we reject
// them all (no multilink, no callback, no BACP), but the debug log names them as pppd does.
const (
	lcpOptSSNHF    = 18 // short sequence number header format, RFC 1990
	lcpOptEndpoint = 19 // endpoint discriminator, RFC 1990
	lcpOptLinkDisc = 23 // link discriminator for BACP, RFC 2125
)

// describeLCPExtra names the multilink, callback and BACP options, or returns "".
func describeLCPExtra(o Option) string {
	d := o.Data()
	switch o.Type() {
	case LCPOptMRRU:
		if len(d) == 2 {
			return fmt.Sprintf("mrru %d", binary.BigEndian.Uint16(d))
		}
	case lcpOptSSNHF:
		return "ssnhf"
	case lcpOptEndpoint:
		if len(d) >= 1 {
			return "endpoint " + endpointString(d[0], d[1:])
		}
	case LCPOptCallback:
		if len(d) >= 1 {
			ops := [...]string{"user-authorised", "dialling-string", "location-id", "E.164", "X.500", "", "CBCP"}
			name := fmt.Sprintf("op %d", d[0])
			if int(d[0]) < len(ops) && ops[d[0]] != "" {
				name = ops[d[0]]
			}
			return "callback " + name
		}
	case lcpOptLinkDisc:
		if len(d) == 2 {
			return fmt.Sprintf("link-discriminator %d", binary.BigEndian.Uint16(d))
		}
	}
	return ""
}

// endpointString renders an endpoint discriminator as pppd's epdisc_to_str does.
func endpointString(class byte, addr []byte) string {
	hex := func(sep string) string {
		var b strings.Builder
		for i, c := range addr {
			if i > 0 {
				b.WriteString(sep)
			}
			fmt.Fprintf(&b, "%02x", c)
		}
		return b.String()
	}
	switch class {
	case 0:
		return "null"
	case 1:
		return "local:" + hex("")
	case 2:
		if len(addr) == 4 {
			return "IP:" + netip.AddrFrom4([4]byte(addr)).String()
		}
	case 3:
		if len(addr) == 6 {
			return "MAC:" + hex(":")
		}
	case 4:
		return "magic:" + hex("")
	case 5:
		return "phone:" + hex("")
	}
	return fmt.Sprintf("class%d:%s", class, hex(""))
}

// Protocols of multilink and bandwidth allocation that RRAS and Cisco start beside IPCP;
// without multilink the engine answers each with a Protocol-Reject (RFC 1661 §5.7).
var extraProtoNames = map[uint16]string{
	0x003D: "MP",   // RFC 1990
	0xC029: "CBCP", // Microsoft's callback control
	0xC02B: "BACP", // RFC 2125
	0xC02D: "BAP",  // RFC 2125
}

// describeRFC1570 renders LCP Identification and Time-Remaining (RFC 1570): magic number,
// the seconds left, the message; the engine ignores both.
func describeRFC1570(code uint8, d []byte) string {
	if len(d) < 4 {
		return ""
	}
	s := fmt.Sprintf(" magic=%#x", binary.BigEndian.Uint32(d))
	d = d[4:]
	if code == CodeTimeRemaining {
		if len(d) < 4 {
			return s
		}
		s += fmt.Sprintf(" seconds=%d", binary.BigEndian.Uint32(d))
		d = d[4:]
	}
	if len(d) > 0 {
		s += fmt.Sprintf(" %q", printable(d))
	}
	return s
}
