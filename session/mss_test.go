// SPDX-License-Identifier: MIT

package session

import (
	"encoding/binary"
	"testing"
)

// tcpChecksum computes the TCP checksum of the IPv4 packet pkt from scratch (pseudo-header
// included), as the receiver checks it.
func tcpChecksum(pkt []byte) uint16 {
	ihl := int(pkt[0]&0x0F) * 4
	tot := int(binary.BigEndian.Uint16(pkt[2:4]))
	seg := pkt[ihl:tot]
	var s uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			s += uint32(binary.BigEndian.Uint16(b[i:]))
		}
		if len(b)%2 == 1 {
			s += uint32(b[len(b)-1]) << 8
		}
	}
	add(pkt[12:20])
	s += 6 + uint32(len(seg))
	add(seg)
	for s > 0xFFFF {
		s = s&0xFFFF + s>>16
	}
	return ^uint16(s)
}

// synPacket builds an IPv4 TCP segment with flags and TCP options opts, checksum set.
func synPacket(flags byte, opts []byte, payload int) []byte {
	for len(opts)%4 != 0 {
		opts = append(opts, 0)
	}
	tcpLen := 20 + len(opts) + payload
	p := make([]byte, 20+tcpLen)
	p[0], p[8], p[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	copy(p[12:], []byte{10, 99, 0, 100, 192, 168, 7, 9})
	t := p[20:]
	binary.BigEndian.PutUint16(t[0:], 40000)
	binary.BigEndian.PutUint16(t[2:], 443)
	binary.BigEndian.PutUint32(t[4:], 0x12345678)
	t[12] = byte((20+len(opts))/4) << 4
	t[13] = flags
	binary.BigEndian.PutUint16(t[14:], 64240)
	copy(t[20:], opts)
	for i := range payload {
		t[20+len(opts)+i] = byte(i * 7)
	}
	binary.BigEndian.PutUint16(t[16:], tcpChecksum(p))
	return p
}

func mssOf(p []byte) uint16 {
	t := p[20:]
	opts := t[20 : int(t[12]>>4)*4]
	for i := 0; i < len(opts); {
		switch opts[i] {
		case 0:
			return 0
		case 1:
			i++
			continue
		}
		if opts[i] == 2 {
			return binary.BigEndian.Uint16(opts[i+2:])
		}
		i += int(opts[i+1])
	}
	return 0
}

func TestClampMSS(t *testing.T) {
	const syn, synack, ack = 0x02, 0x12, 0x10
	mss := func(v uint16) []byte { return []byte{2, 4, byte(v >> 8), byte(v)} }
	linux := func(v uint16) []byte { // Linux's SYN: MSS, SACK-permitted, timestamps, NOP, wscale
		return append(mss(v), 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7)
	}
	for _, tc := range []struct {
		name    string
		flags   byte
		opts    []byte
		max     uint16
		changed bool
		want    uint16
	}{
		{"SYN 1460 to 1360", syn, linux(1460), 1360, true, 1360},
		{"SYN-ACK 1460 to 1360", synack, linux(1460), 1360, true, 1360},
		{"already small", syn, linux(1300), 1360, false, 1300},
		{"equal", syn, linux(1360), 1360, false, 1360},
		{"not a SYN", ack, linux(1460), 1360, false, 1460},
		{"MSS after a NOP (odd offset)", syn, append([]byte{1}, mss(1460)...), 1356, true, 1356},
		{"MSS after three NOPs", syn, append([]byte{1, 1, 1}, mss(65495)...), 1360, true, 1360},
		{"MSS after wscale", syn, append([]byte{3, 3, 7}, mss(8960)...), 1360, true, 1360},
		{"no MSS option", syn, []byte{4, 2, 1, 1}, 1360, false, 0},
		{"MSS after end of options", syn, append([]byte{0, 0, 0, 0}, mss(1460)...), 1360, false, 0},
		{"bad MSS length", syn, []byte{2, 3, 5, 0xB4}, 1360, false, 0},
		{"option running past the header", syn, []byte{3, 9, 7, 1}, 1360, false, 0},
	} {
		p := synPacket(tc.flags, tc.opts, 0)
		if got := clampMSS(p, tc.max); got != tc.changed {
			t.Errorf("%s: changed %v, want %v", tc.name, got, tc.changed)
		}
		if tc.want != 0 && mssOf(p) != tc.want {
			t.Errorf("%s: MSS %d, want %d", tc.name, mssOf(p), tc.want)
		}
		if c := tcpChecksum(p); c != 0 && c != 0xFFFF {
			// Recomputing over a packet whose checksum field is right yields 0 (or -0).
			t.Errorf("%s: checksum wrong after clamping (residue %#04x)", tc.name, c)
		}
	}
	// Checksums that carry through 0xFFFF: every MSS value against a couple of maxima.
	for v := uint16(537); v < 65535; v += 97 {
		for _, odd := range []bool{false, true} {
			opts := mss(v)
			if odd {
				opts = append([]byte{1}, opts...)
			}
			p := synPacket(syn, opts, 3)
			clampMSS(p, 1360)
			if c := tcpChecksum(p); c != 0 && c != 0xFFFF {
				t.Fatalf("MSS %d odd=%v: checksum wrong after clamping", v, odd)
			}
		}
	}
	// Not TCP, fragments, truncated: untouched.
	p := synPacket(syn, linux(1460), 0)
	frag := append([]byte(nil), p...)
	frag[7] = 1 // fragment offset 8
	udp := append([]byte(nil), p...)
	udp[9] = 17
	short := append([]byte(nil), p...)
	binary.BigEndian.PutUint16(short[2:], 30)
	for name, q := range map[string][]byte{"fragment": frag, "UDP": udp, "short total length": short, "truncated": p[:30], "IPv6": {0x60, 0, 0, 0}} {
		if clampMSS(q, 1360) {
			t.Errorf("%s: changed", name)
		}
	}
}

func TestMSSFor(t *testing.T) {
	for mtu, want := range map[int]uint16{1400: 1360, 1396: 1356, 1500: 1460, 576: 536, 300: 536} {
		if got := mssFor(mtu); got != want {
			t.Errorf("mssFor(%d) = %d, want %d", mtu, got, want)
		}
	}
}

func TestClampMSSAllocs(t *testing.T) {
	p := synPacket(0x02, []byte{2, 4, 5, 0xB4, 4, 2, 1, 1}, 0)
	if a := testing.AllocsPerRun(1000, func() {
		binary.BigEndian.PutUint16(p[22+20:], 1460) // back above the clamp; checksum goes stale, which clampMSS never checks
		clampMSS(p, 1360)
	}); a != 0 {
		t.Errorf("%v allocations per packet", a)
	}
}

// FuzzClampMSS: any bytes; nothing panics, only the MSS value and the checksum change, and a
// packet whose TCP checksum was right still has a right one.
func FuzzClampMSS(f *testing.F) {
	f.Add(synPacket(0x02, []byte{2, 4, 5, 0xB4, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7}, 0), uint16(1360))
	f.Add(synPacket(0x12, []byte{1, 2, 4, 0xFF, 0xD7}, 10), uint16(536))
	f.Add([]byte{0x45, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}, uint16(1000))
	v6, _ := synPacket6(0x02, []byte{2, 4, 5, 0xB4}, []byte{0, 0, 1, 4, 0, 0, 0, 0})
	f.Add(v6, uint16(1360))
	f.Fuzz(func(t *testing.T, pkt []byte, max uint16) {
		valid := len(pkt) >= 40 && pkt[0] == 0x45 && int(binary.BigEndian.Uint16(pkt[2:4])) <= len(pkt) &&
			int(binary.BigEndian.Uint16(pkt[2:4])) >= 40 && func() bool { c := tcpChecksum(pkt); return c == 0 || c == 0xFFFF }()
		before := append([]byte(nil), pkt...)
		if !clampMSS(pkt, max) {
			if string(before) != string(pkt) {
				t.Fatal("changed the packet but said it did not")
			}
			return
		}
		diff := 0
		for i := range pkt {
			if pkt[i] != before[i] {
				diff++
			}
		}
		if diff > 4 {
			t.Fatalf("%d bytes changed, want at most the MSS and the checksum", diff)
		}
		if valid {
			if c := tcpChecksum(pkt); c != 0 && c != 0xFFFF {
				t.Fatal("a right checksum went wrong")
			}
		}
	})
}

// tcpChecksum6 computes the TCP checksum of seg, carried in IPv6 from src to dst (RFC 8200
// §8.1 pseudo-header), from scratch.
func tcpChecksum6(src, dst, seg []byte) uint16 {
	var s uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			s += uint32(binary.BigEndian.Uint16(b[i:]))
		}
		if len(b)%2 == 1 {
			s += uint32(b[len(b)-1]) << 8
		}
	}
	add(src)
	add(dst)
	s += uint32(len(seg)) + 6
	add(seg)
	for s > 0xFFFF {
		s = s&0xFFFF + s>>16
	}
	return ^uint16(s)
}

// synPacket6 is synPacket's segment in IPv6, behind the extension headers ext (each a
// multiple of 8 bytes, its first byte rewritten to chain to the next), checksum set.
func synPacket6(flags byte, opts []byte, ext ...[]byte) (pkt, seg []byte) {
	v4 := synPacket(flags, opts, 0)
	seg = v4[20:]
	hdr := make([]byte, 40)
	hdr[0] = 0x60
	hdr[7] = 64
	copy(hdr[8:], []byte{0x20, 1, 0xd, 0xb8, 0, 0x99, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x10})
	copy(hdr[24:], []byte{0x20, 1, 0xd, 0xb8, 0, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	next := &hdr[6]
	pkt = hdr
	for _, e := range ext {
		*next = e[0]
		e = append([]byte(nil), e...)
		pkt = append(pkt, e...)
		next = &pkt[len(pkt)-len(e)]
	}
	*next = 6
	pkt = append(pkt, seg...)
	binary.BigEndian.PutUint16(pkt[4:], uint16(len(pkt)-40))
	seg = pkt[len(pkt)-len(seg):]
	binary.BigEndian.PutUint16(seg[16:], 0)
	binary.BigEndian.PutUint16(seg[16:], tcpChecksum6(pkt[8:24], pkt[24:40], seg))
	return pkt, seg
}

func TestClampMSSIPv6(t *testing.T) {
	mss := []byte{2, 4, 0x05, 0xB4, 4, 2, 1, 1} // 1460, SACK-permitted
	hopByHop := []byte{0, 0, 1, 4, 0, 0, 0, 0}  // the type byte (0) is the header's own code
	destOpts := []byte{60, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	fragment := []byte{44, 0, 0, 0, 0, 0, 0, 1}
	for _, tc := range []struct {
		name    string
		ext     [][]byte
		changed bool
	}{
		{"plain", nil, true},
		{"behind hop-by-hop options", [][]byte{hopByHop}, true},
		{"behind hop-by-hop and destination options", [][]byte{hopByHop, destOpts}, true},
		{"in a fragment", [][]byte{fragment}, false},
	} {
		p, seg := synPacket6(0x02, mss, tc.ext...)
		// An IPv4 limit of 1360 is 1340 for IPv6: its header is 20 bytes longer.
		if got := clampMSS(p, 1360); got != tc.changed {
			t.Errorf("%s: changed %v, want %v", tc.name, got, tc.changed)
		}
		want := uint16(1460)
		if tc.changed {
			want = 1340
		}
		if got := binary.BigEndian.Uint16(seg[22:]); got != want {
			t.Errorf("%s: MSS %d, want %d", tc.name, got, want)
		}
		if c := tcpChecksum6(p[8:24], p[24:40], seg); c != 0 && c != 0xFFFF {
			t.Errorf("%s: checksum wrong after clamping (residue %#04x)", tc.name, c)
		}
	}
	p, _ := synPacket6(0x02, mss, hopByHop)
	long := append([]byte(nil), p...)
	binary.BigEndian.PutUint16(long[4:], uint16(len(p))) // payload length past the end
	runaway := append([]byte(nil), p...)
	runaway[41] = 200 // the extension header's length runs past the packet
	for name, q := range map[string][]byte{"payload length too long": long, "extension header too long": runaway, "header only": p[:40]} {
		if clampMSS(q, 1360) {
			t.Errorf("%s: changed", name)
		}
	}
}
