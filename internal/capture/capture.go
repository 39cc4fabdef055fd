// SPDX-License-Identifier: MIT

// Package capture reads the libpcap files under ../shared/captures for tests.
//
// It understands just enough of the classic pcap format (microsecond and nanosecond
// variants, either byte order), Ethernet (with 802.1Q tags), Linux cooked (SLL, SLL2) and
// raw-IP link types, IPv4 (RFC 791), TCP (RFC 9293) and the enhanced GRE header of PPTP
// (RFC 2637 §4.1) to hand tests the control stream and the PPP frames of a session.
// It is test support: it allocates freely and favours clear errors over speed.
package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"time"
)

// IP protocol numbers the helpers care about.
const (
	ProtoTCP = 6
	ProtoGRE = 47
)

// ControlPort is the PPTP control connection's TCP port (RFC 2637 §2).
const ControlPort = 1723

// Packet is one IPv4 packet of a capture.
type Packet struct {
	Time       time.Time
	Src, Dst   netip.Addr
	Proto      uint8
	Payload    []byte // everything after the IPv4 header, trimmed to the IPv4 total length
	TCPPayload []byte // when Proto == ProtoTCP
	SrcPort    uint16 // TCP only
	DstPort    uint16 // TCP only
	TCPSeq     uint32 // TCP only: sequence number of TCPPayload[0]
}

// Link types (www.tcpdump.org/linktypes.html).
const (
	linkEthernet = 1
	linkRaw      = 101
	linkSLL      = 113
	linkIPv4     = 228
	linkSLL2     = 276
)

const (
	etherTypeIPv4 = 0x0800
	etherTypeVLAN = 0x8100
	etherTypeQinQ = 0x88A8
)

// Open reads every IPv4 packet of the pcap file at path. Non-IPv4 frames are skipped;
// truncated or malformed records make it fail, so a broken capture is noticed.
func Open(path string) ([]Packet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pkts, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return pkts, nil
}

// Parse is Open on the contents of a pcap file. Packets alias data.
func Parse(data []byte) ([]Packet, error) {
	if len(data) < 24 {
		return nil, errors.New("pcap: short file header")
	}
	var bo binary.ByteOrder
	nano := false
	switch binary.LittleEndian.Uint32(data) {
	case 0xa1b2c3d4:
		bo = binary.LittleEndian
	case 0xa1b23c4d:
		bo, nano = binary.LittleEndian, true
	case 0xd4c3b2a1:
		bo = binary.BigEndian
	case 0x4d3cb2a1:
		bo, nano = binary.BigEndian, true
	default:
		return nil, fmt.Errorf("pcap: bad magic %x (pcapng is not supported)", data[:4])
	}
	// The upper bits of the link type field may carry FCS information (pcap spec).
	link := bo.Uint32(data[20:]) & 0x0fffffff
	var pkts []Packet
	for off, n := 24, 0; off < len(data); n++ {
		if len(data)-off < 16 {
			return nil, fmt.Errorf("pcap: record %d: short record header", n)
		}
		sec, frac := bo.Uint32(data[off:]), bo.Uint32(data[off+4:])
		incl := int(bo.Uint32(data[off+8:]))
		off += 16
		if incl < 0 || incl > len(data)-off {
			return nil, fmt.Errorf("pcap: record %d: length %d past end of file", n, incl)
		}
		frame := data[off : off+incl]
		off += incl
		ns := int64(frac) * 1000
		if nano {
			ns = int64(frac)
		}
		ip, err := linkPayload(link, frame)
		if err != nil {
			return nil, fmt.Errorf("pcap: record %d: %w", n, err)
		}
		if ip == nil {
			continue
		}
		p, err := parseIPv4(ip)
		if err != nil {
			return nil, fmt.Errorf("pcap: record %d: %w", n, err)
		}
		p.Time = time.Unix(int64(sec), ns)
		pkts = append(pkts, p)
	}
	return pkts, nil
}

// linkPayload returns the IPv4 packet inside frame, or nil when frame holds something else.
func linkPayload(link uint32, frame []byte) ([]byte, error) {
	var etherType uint16
	switch link {
	case linkEthernet:
		if len(frame) < 14 {
			return nil, errors.New("short Ethernet header")
		}
		etherType, frame = binary.BigEndian.Uint16(frame[12:]), frame[14:]
		for etherType == etherTypeVLAN || etherType == etherTypeQinQ {
			if len(frame) < 4 {
				return nil, errors.New("short VLAN tag")
			}
			etherType, frame = binary.BigEndian.Uint16(frame[2:]), frame[4:]
		}
	case linkSLL:
		if len(frame) < 16 {
			return nil, errors.New("short Linux cooked header")
		}
		etherType, frame = binary.BigEndian.Uint16(frame[14:]), frame[16:]
	case linkSLL2:
		if len(frame) < 20 {
			return nil, errors.New("short Linux cooked v2 header")
		}
		etherType, frame = binary.BigEndian.Uint16(frame[0:]), frame[20:]
	case linkRaw, linkIPv4:
		if len(frame) == 0 || frame[0]>>4 != 4 {
			return nil, nil
		}
		return frame, nil
	default:
		return nil, fmt.Errorf("unsupported link type %d", link)
	}
	if etherType != etherTypeIPv4 {
		return nil, nil
	}
	return frame, nil
}

func parseIPv4(b []byte) (Packet, error) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return Packet{}, errors.New("not an IPv4 packet")
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:]))
	if ihl < 20 || total < ihl || total > len(b) {
		return Packet{}, fmt.Errorf("bad IPv4 lengths: header %d, total %d, captured %d", ihl, total, len(b))
	}
	if frag := binary.BigEndian.Uint16(b[6:]); frag&0x3fff != 0 {
		return Packet{}, errors.New("IPv4 fragments are not supported")
	}
	p := Packet{
		Src:     netip.AddrFrom4([4]byte(b[12:16])),
		Dst:     netip.AddrFrom4([4]byte(b[16:20])),
		Proto:   b[9],
		Payload: b[ihl:total],
	}
	if p.Proto == ProtoTCP {
		t := p.Payload
		if len(t) < 20 {
			return Packet{}, errors.New("short TCP header")
		}
		doff := int(t[12]>>4) * 4
		if doff < 20 || doff > len(t) {
			return Packet{}, fmt.Errorf("bad TCP data offset %d", doff)
		}
		p.SrcPort = binary.BigEndian.Uint16(t[0:])
		p.DstPort = binary.BigEndian.Uint16(t[2:])
		p.TCPSeq = binary.BigEndian.Uint32(t[4:])
		p.TCPPayload = t[doff:]
	}
	return p, nil
}

// ControlStream concatenates the TCP payload sent to (fromClient) or from port 1723, in
// capture order. Segments that only repeat bytes already taken (retransmissions, by TCP
// sequence number) are skipped; there is no reassembly beyond that.
func ControlStream(pkts []Packet, fromClient bool) []byte {
	var out []byte
	var next uint32
	started := false
	for _, p := range pkts {
		if p.Proto != ProtoTCP || len(p.TCPPayload) == 0 {
			continue
		}
		if fromClient && p.DstPort != ControlPort || !fromClient && p.SrcPort != ControlPort {
			continue
		}
		data := p.TCPPayload
		if started {
			// Serial arithmetic: how far this segment starts behind what we already have.
			behind := int32(next - p.TCPSeq)
			if behind >= int32(len(data)) {
				continue
			}
			if behind > 0 {
				data = data[behind:]
			}
		}
		started = true
		out = append(out, data...)
		next = p.TCPSeq + uint32(len(p.TCPPayload))
	}
	return out
}

// GREPayloads returns the PPP frame of every PPTP GRE data packet from src, in capture
// order (acknowledgement-only packets carry none and are skipped). Each frame is trimmed
// to the GRE Payload Length and aliases the capture. Packets whose GRE header does not
// parse are skipped.
func GREPayloads(pkts []Packet, src netip.Addr) [][]byte {
	var out [][]byte
	for _, p := range pkts {
		if p.Proto != ProtoGRE || p.Src != src {
			continue
		}
		if frame, ok := grePPP(p.Payload); ok && len(frame) > 0 {
			out = append(out, frame)
		}
	}
	return slices.Clip(out)
}

// GRE header flag bits (RFC 2784/2890 and RFC 2637 §4.1).
const (
	greChecksum = 0x8000
	greRouting  = 0x4000
	greKey      = 0x2000
	greSeq      = 0x1000
	greAck      = 0x0080
	greVersion  = 0x0007
	greProtoPPP = 0x880B
)

// grePPP strips an enhanced GRE header (version 1, key = payload length + call ID).
func grePPP(b []byte) ([]byte, bool) {
	if len(b) < 8 {
		return nil, false
	}
	flags := binary.BigEndian.Uint16(b)
	if flags&greVersion != 1 || flags&greKey == 0 || flags&(greChecksum|greRouting) != 0 ||
		binary.BigEndian.Uint16(b[2:]) != greProtoPPP {
		return nil, false
	}
	plen := int(binary.BigEndian.Uint16(b[4:]))
	off := 8
	if flags&greSeq != 0 {
		off += 4
	}
	if flags&greAck != 0 {
		off += 4
	}
	if off > len(b) || plen > len(b)-off {
		return nil, false
	}
	return b[off : off+plen], true
}
