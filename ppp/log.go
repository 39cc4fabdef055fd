// SPDX-License-Identifier: MIT

package ppp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"

	"github.com/pptp-go/pptp/ppp/auth"
)

// protoName names a PPP protocol for logs.
func protoName(p uint16) string {
	switch p {
	case ProtoLCP:
		return "LCP"
	case ProtoPAP:
		return "PAP"
	case ProtoCHAP:
		return "CHAP"
	case ProtoEAP:
		return "EAP"
	case ProtoIPCP:
		return "IPCP"
	case ProtoCCP:
		return "CCP"
	case ProtoIPV6CP:
		return "IPV6CP"
	case ProtoIPv4:
		return "IP"
	case ProtoIPv6:
		return "IPv6"
	case ProtoCompressed:
		return "CompressedDatagram"
	}
	if n := extraProtoNames[p]; n != "" {
		return n
	}
	return fmt.Sprintf("0x%04x", p)
}

var codeNames = [...]string{"", "ConfReq", "ConfAck", "ConfNak", "ConfRej", "TermReq", "TermAck",
	"CodeRej", "ProtRej", "EchoReq", "EchoRep", "DiscReq", "Ident", "TimeRem", "ResetReq", "ResetAck"}

// printable keeps the readable part of a peer-supplied message.
func printable(b []byte) string {
	if len(b) > 64 {
		b = b[:64]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7F || r == 0xFFFD {
			return '.'
		}
		return r
	}, string(b))
}

// describePacket renders a control packet the way pppd's debug log does, e.g.
// "[LCP ConfReq id=0x1 <mru 1400> <magic 0x1234abcd>]". Authentication packets show only
// their code and length: their contents are credentials.
func describePacket(proto uint16, info []byte) string {
	var sb strings.Builder
	sb.WriteString("[")
	sb.WriteString(protoName(proto))
	p, err := ParsePacket(info)
	if err != nil {
		fmt.Fprintf(&sb, " malformed len=%d]", len(info))
		return sb.String()
	}
	code := p.Code()
	switch {
	case proto == ProtoPAP || proto == ProtoCHAP || proto == ProtoEAP:
		fmt.Fprintf(&sb, " code=%d id=%#x len=%d]", code, p.ID(), p.Length())
		return sb.String()
	case int(code) < len(codeNames) && code != 0:
		fmt.Fprintf(&sb, " %s id=%#x", codeNames[code], p.ID())
	default:
		fmt.Fprintf(&sb, " code=%d id=%#x", code, p.ID())
	}
	d := p.Data()
	switch code {
	case CodeConfigureRequest, CodeConfigureAck, CodeConfigureNak, CodeConfigureReject:
		for o, err := range Options(d) {
			if err != nil {
				fmt.Fprintf(&sb, " <bad option % x>", []byte(o))
				break
			}
			sb.WriteString(" <")
			sb.WriteString(describeOption(proto, o))
			sb.WriteString(">")
		}
	case CodeTerminateRequest, CodeTerminateAck:
		if len(d) > 0 {
			fmt.Fprintf(&sb, " %q", printable(d))
		}
	case CodeEchoRequest, CodeEchoReply, CodeDiscardRequest:
		if proto == ProtoLCP && len(d) >= 4 {
			fmt.Fprintf(&sb, " magic=%#x", binary.BigEndian.Uint32(d))
		}
	case CodeIdentification, CodeTimeRemaining:
		if proto == ProtoLCP {
			sb.WriteString(describeRFC1570(p.Code(), d))
		}
	case CodeProtocolReject:
		if proto == ProtoLCP && len(d) >= 2 {
			fmt.Fprintf(&sb, " %s", protoName(binary.BigEndian.Uint16(d)))
		}
	}
	sb.WriteString("]")
	return sb.String()
}

func describeOption(proto uint16, o Option) string {
	d := o.Data()
	switch proto {
	case ProtoLCP:
		if s := describeLCPExtra(o); s != "" {
			return s
		}
		switch {
		case o.Type() == LCPOptMRU && len(d) == 2:
			return fmt.Sprintf("mru %d", binary.BigEndian.Uint16(d))
		case o.Type() == LCPOptACCM && len(d) == 4:
			return fmt.Sprintf("asyncmap %#x", binary.BigEndian.Uint32(d))
		case o.Type() == LCPOptAuthProtocol:
			if m, ok := auth.ParseConfigData(d); ok {
				return "auth " + m.String()
			}
			return fmt.Sprintf("auth % x", d)
		case o.Type() == LCPOptMagic && len(d) == 4:
			return fmt.Sprintf("magic %#x", binary.BigEndian.Uint32(d))
		case o.Type() == LCPOptPFC:
			return "pcomp"
		case o.Type() == LCPOptACFC:
			return "accomp"
		case o.Type() == LCPOptCallback:
			return "callback"
		case o.Type() == LCPOptMRRU:
			return "mrru"
		}
	case ProtoIPCP:
		if len(d) == 4 {
			a := netip.AddrFrom4([4]byte(d)).String()
			switch o.Type() {
			case ipcpAddress:
				return "addr " + a
			case ipcpDNS1:
				return "ms-dns1 " + a
			case ipcpDNS2:
				return "ms-dns2 " + a
			case ipcpNBNS1:
				return "ms-wins1 " + a
			case ipcpNBNS2:
				return "ms-wins2 " + a
			}
		}
		if o.Type() == ipcpCompress {
			return fmt.Sprintf("compress % x", d)
		}
	case ProtoCCP:
		if o.Type() == ccpMPPE && len(d) == 4 {
			return "mppe " + describeMPPE(binary.BigEndian.Uint32(d))
		}
		switch o.Type() {
		case 21:
			return "bsd"
		case 24:
			return "deflate(old)"
		case 26:
			return "deflate"
		}
	}
	return fmt.Sprintf("opt%d % x", o.Type(), d)
}
