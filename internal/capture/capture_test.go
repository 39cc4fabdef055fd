// SPDX-License-Identifier: MIT

package capture

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"path/filepath"
	"testing"
	"time"
)

const capDir = "../../../shared/captures"

var (
	client = netip.MustParseAddr("192.0.2.3")
	server = netip.MustParseAddr("192.0.2.2")
)

func TestOpenRealCaptures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(capDir, "*.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no captures in", capDir)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			pkts, err := Open(f)
			if err != nil {
				t.Fatal(err)
			}
			if len(pkts) < 20 {
				t.Fatalf("only %d packets", len(pkts))
			}
			for i, p := range pkts {
				if p.Proto != ProtoTCP && p.Proto != ProtoGRE {
					t.Errorf("packet %d: protocol %d outside the capture filter", i, p.Proto)
				}
				if i > 0 && p.Time.Before(pkts[i-1].Time) {
					t.Errorf("packet %d: time goes backwards", i)
				}
			}
			// Both directions start with a control header: length 156 (SCCRQ/SCCRP),
			// message type 1, magic cookie 0x1A2B3C4D, control type 1 / 2.
			for dir, want := range map[bool]uint16{true: 1, false: 2} {
				s := ControlStream(pkts, dir)
				if len(s) < 156 || binary.BigEndian.Uint16(s) != 156 ||
					binary.BigEndian.Uint32(s[4:]) != 0x1A2B3C4D || binary.BigEndian.Uint16(s[8:]) != want {
					t.Errorf("control stream (fromClient=%v) starts %x", dir, s[:min(len(s), 12)])
				}
				// The stream is a whole number of messages.
				for off := 0; off < len(s); {
					n := int(binary.BigEndian.Uint16(s[off:]))
					if n < 12 || off+n > len(s) || binary.BigEndian.Uint32(s[off+4:]) != 0x1A2B3C4D {
						t.Fatalf("control stream (fromClient=%v): bad message at %d", dir, off)
					}
					off += n
				}
			}
			// Both sides open with an LCP Configure-Request: FF 03 C0 21 01.
			for _, src := range []netip.Addr{client, server} {
				frames := GREPayloads(pkts, src)
				if len(frames) < 5 {
					t.Fatalf("%v: %d PPP frames", src, len(frames))
				}
				if !bytes.HasPrefix(frames[0], []byte{0xff, 0x03, 0xc0, 0x21, 0x01}) {
					t.Errorf("%v: first frame %x", src, frames[0])
				}
			}
		})
	}
}

// pcapFile builds a classic pcap with the given byte order, time resolution and link type.
func pcapFile(bo binary.AppendByteOrder, nano bool, link uint32, frames ...[]byte) []byte {
	magic := uint32(0xa1b2c3d4)
	if nano {
		magic = 0xa1b23c4d
	}
	b := bo.AppendUint32(nil, magic)
	b = bo.AppendUint16(b, 2)
	b = bo.AppendUint16(b, 4)
	b = bo.AppendUint32(b, 0)
	b = bo.AppendUint32(b, 0)
	b = bo.AppendUint32(b, 65535)
	b = bo.AppendUint32(b, link)
	for i, f := range frames {
		b = bo.AppendUint32(b, 1700000000+uint32(i))
		b = bo.AppendUint32(b, 500)
		b = bo.AppendUint32(b, uint32(len(f)))
		b = bo.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

// ipv4 builds an IPv4 packet (checksum left zero: the reader does not check it).
func ipv4(proto byte, src, dst netip.Addr, payload []byte) []byte {
	h := make([]byte, 20, 20+len(payload))
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(payload)))
	h[8], h[9] = 64, proto
	copy(h[12:], src.AsSlice())
	copy(h[16:], dst.AsSlice())
	return append(h, payload...)
}

func tcp(sport, dport uint16, seq uint32, data []byte) []byte {
	h := make([]byte, 24) // with 4 bytes of options, to exercise the data offset
	binary.BigEndian.PutUint16(h[0:], sport)
	binary.BigEndian.PutUint16(h[2:], dport)
	binary.BigEndian.PutUint32(h[4:], seq)
	h[12] = 6 << 4
	return append(h, data...)
}

func ether(etherType uint16, vlan bool, p []byte) []byte {
	h := make([]byte, 12, 18+len(p))
	if vlan {
		h = binary.BigEndian.AppendUint16(h, etherTypeVLAN)
		h = binary.BigEndian.AppendUint16(h, 42)
	}
	h = binary.BigEndian.AppendUint16(h, etherType)
	return append(h, p...)
}

func sll(p []byte) []byte {
	h := make([]byte, 14, 16+len(p))
	h = binary.BigEndian.AppendUint16(h, etherTypeIPv4)
	return append(h, p...)
}

func sll2(p []byte) []byte {
	h := binary.BigEndian.AppendUint16(nil, etherTypeIPv4)
	h = append(h, make([]byte, 18)...)
	return append(h, p...)
}

func TestSyntheticLinkTypesAndByteOrders(t *testing.T) {
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	seg1 := ipv4(ProtoTCP, a, b, tcp(40000, ControlPort, 1000, []byte("hello ")))
	seg1dup := ipv4(ProtoTCP, a, b, tcp(40000, ControlPort, 1000, []byte("hello "))) // retransmission
	seg2 := ipv4(ProtoTCP, a, b, tcp(40000, ControlPort, 1006, []byte("world")))
	reply := ipv4(ProtoTCP, b, a, tcp(ControlPort, 40000, 7, []byte("hi")))
	// GRE with seq and ack, payload length 4, then 2 bytes of padding that must be trimmed.
	gre := []byte{0x30, 0x81, 0x88, 0x0b, 0x00, 0x04, 0x00, 0x07, 0, 0, 0, 1, 0, 0, 0, 0, 0xff, 0x03, 0xc0, 0x21, 0xee, 0xee}
	greAckOnly := []byte{0x20, 0x81, 0x88, 0x0b, 0x00, 0x00, 0x00, 0x07, 0, 0, 0, 1}
	pkts := [][]byte{seg1, seg1dup, seg2, reply, ipv4(ProtoGRE, a, b, gre), ipv4(ProtoGRE, a, b, greAckOnly)}

	type linkCase struct {
		name string
		link uint32
		wrap func([]byte) []byte
	}
	links := []linkCase{
		{"ethernet", linkEthernet, func(p []byte) []byte { return ether(etherTypeIPv4, false, p) }},
		{"vlan", linkEthernet, func(p []byte) []byte { return ether(etherTypeIPv4, true, p) }},
		{"sll", linkSLL, sll},
		{"sll2", linkSLL2, sll2},
		{"raw", linkRaw, func(p []byte) []byte { return p }},
	}
	for _, lc := range links {
		for _, bo := range []binary.AppendByteOrder{binary.LittleEndian, binary.BigEndian} {
			for _, nano := range []bool{false, true} {
				var frames [][]byte
				for _, p := range pkts {
					frames = append(frames, lc.wrap(p))
				}
				if lc.link == linkEthernet {
					frames = append(frames, ether(0x86dd, false, make([]byte, 40))) // IPv6: skipped
				}
				pk, err := Parse(pcapFile(bo, nano, lc.link, frames...))
				if err != nil {
					t.Fatalf("%s/%v/nano=%v: %v", lc.name, bo, nano, err)
				}
				if len(pk) != len(pkts) {
					t.Fatalf("%s/%v: %d packets, want %d", lc.name, bo, len(pk), len(pkts))
				}
				wantNs := 500 * time.Microsecond
				if nano {
					wantNs = 500 * time.Nanosecond
				}
				if got := pk[2].Time; !got.Equal(time.Unix(1700000002, int64(wantNs))) {
					t.Errorf("%s/%v/nano=%v: time %v", lc.name, bo, nano, got)
				}
				if pk[0].Src != a || pk[0].Dst != b || pk[0].SrcPort != 40000 || pk[0].DstPort != ControlPort {
					t.Errorf("%s: addresses/ports %+v", lc.name, pk[0])
				}
				if got := string(ControlStream(pk, true)); got != "hello world" {
					t.Errorf("%s: client stream %q", lc.name, got)
				}
				if got := string(ControlStream(pk, false)); got != "hi" {
					t.Errorf("%s: server stream %q", lc.name, got)
				}
				g := GREPayloads(pk, a)
				if len(g) != 1 || !bytes.Equal(g[0], []byte{0xff, 0x03, 0xc0, 0x21}) {
					t.Errorf("%s: GRE payloads %x", lc.name, g)
				}
				if len(GREPayloads(pk, b)) != 0 {
					t.Errorf("%s: GRE payloads from the wrong source", lc.name)
				}
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	good := pcapFile(binary.LittleEndian, false, linkEthernet, ether(etherTypeIPv4, false,
		ipv4(ProtoGRE, client, server, []byte{0x30, 0x81, 0x88, 0x0b, 0, 0, 0, 0})))
	if _, err := Parse(good); err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"empty":         nil,
		"pcapng magic":  append([]byte{0x0a, 0x0d, 0x0d, 0x0a}, good[4:]...),
		"cut record":    good[:len(good)-1],
		"cut rec hdr":   good[:30],
		"unknown link":  pcapFile(binary.LittleEndian, false, 9999, []byte{1}),
		"short ether":   pcapFile(binary.LittleEndian, false, linkEthernet, []byte{1, 2, 3}),
		"bad ip length": pcapFile(binary.LittleEndian, false, linkRaw, append(ipv4(ProtoGRE, client, server, nil)[:2], 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)),
	}
	for name, b := range cases {
		if _, err := Parse(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzParse(f *testing.F) {
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	f.Add(pcapFile(binary.LittleEndian, false, linkEthernet, ether(etherTypeIPv4, false, ipv4(ProtoTCP, a, b, tcp(1, ControlPort, 0, []byte("x"))))))
	f.Add(pcapFile(binary.BigEndian, true, linkSLL, sll(ipv4(ProtoGRE, a, b, []byte{0x30, 0x81, 0x88, 0x0b, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff}))))
	// Malformed: TCP data offset 15 words points past the segment.
	f.Add(pcapFile(binary.LittleEndian, false, linkRaw, ipv4(ProtoTCP, a, b, append(make([]byte, 12), 0xf0, 0, 0, 0, 0, 0, 0, 0))))
	// Malformed: GRE payload length larger than the packet.
	f.Add(pcapFile(binary.LittleEndian, false, linkRaw, ipv4(ProtoGRE, a, b, []byte{0x30, 0x81, 0x88, 0x0b, 0xff, 0xff, 0, 0, 0, 0, 0, 0})))
	// Malformed: record length near 2^32.
	f.Add(append(pcapFile(binary.LittleEndian, false, linkRaw), 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		pkts, err := Parse(data)
		if err != nil {
			return
		}
		ControlStream(pkts, true)
		ControlStream(pkts, false)
		GREPayloads(pkts, a)
	})
}
