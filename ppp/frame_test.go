// SPDX-License-Identifier: MIT

package ppp

import (
	"bytes"
	"testing"
)

func TestParseFrame(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    []byte
		proto uint16
		info  []byte
		err   error
	}{
		{"full", []byte{0xFF, 0x03, 0xC0, 0x21, 1, 2}, ProtoLCP, []byte{1, 2}, nil},
		{"acfc", []byte{0xC0, 0x21, 9}, ProtoLCP, []byte{9}, nil},
		{"pfc", []byte{0xFF, 0x03, 0x21, 0x45}, ProtoIPv4, []byte{0x45}, nil},
		{"acfc+pfc", []byte{0xFD, 0x90, 0x00}, ProtoCompressed, []byte{0x90, 0x00}, nil},
		{"empty info", []byte{0xFF, 0x03, 0x80, 0x21}, ProtoIPCP, []byte{}, nil},
		{"empty", nil, 0, nil, errShortFrame},
		{"only addr/ctrl", []byte{0xFF, 0x03}, 0, nil, errShortFrame},
		{"bad control", []byte{0xFF, 0x13, 0xC0, 0x21}, 0, nil, errBadAddrCtrl},
		{"even low byte", []byte{0xC0, 0x20, 1}, 0, nil, errBadProtocol},
		{"truncated protocol", []byte{0xFF, 0x03, 0xC0}, 0, nil, errShortFrame},
	} {
		proto, info, err := ParseFrame(tc.in)
		if err != tc.err || proto != tc.proto || !bytes.Equal(info, tc.info) {
			t.Errorf("%s: got %#x %x %v, want %#x %x %v", tc.name, proto, info, err, tc.proto, tc.info, tc.err)
		}
	}
}

func TestParseFrameAllocs(t *testing.T) {
	b := []byte{0xFF, 0x03, 0xC0, 0x21, 1, 1, 0, 4}
	if n := testing.AllocsPerRun(100, func() {
		_, info, _ := ParseFrame(b)
		_, _ = ParsePacket(info)
	}); n != 0 {
		t.Fatalf("%v allocs", n)
	}
}

func TestParsePacket(t *testing.T) {
	p, err := ParsePacket([]byte{9, 7, 0, 8, 1, 2, 3, 4, 0xEE, 0xEE})
	if err != nil || p.Code() != 9 || p.ID() != 7 || !bytes.Equal(p.Data(), []byte{1, 2, 3, 4}) {
		t.Fatalf("got %x %v", p, err)
	}
	for _, b := range [][]byte{{1, 2, 0}, {1, 2, 0, 3}, {1, 2, 0, 9, 0, 0, 0, 0}} {
		if _, err := ParsePacket(b); err == nil {
			t.Errorf("%x accepted", b)
		}
	}
	pk := make(Packet, 6)
	pk.SetHeader(CodeTerminateAck, 3)
	if !bytes.Equal(pk, []byte{6, 3, 0, 6, 0, 0}) {
		t.Fatalf("SetHeader: %x", pk)
	}
}

func TestOptions(t *testing.T) {
	type item struct {
		opt []byte
		bad bool
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want []item
	}{
		{"empty", nil, nil},
		{"two options", []byte{LCPOptPFC, 2, LCPOptMRU, 4, 5, 0xDC}, []item{{[]byte{LCPOptPFC, 2}, false}, {[]byte{LCPOptMRU, 4, 5, 0xDC}, false}}},
		{"length 1: the rest is one bad option", []byte{LCPOptPFC, 2, LCPOptMRU, 1, 9, 9}, []item{{[]byte{LCPOptPFC, 2}, false}, {[]byte{LCPOptMRU, 1, 9, 9}, true}}},
		{"length 0", []byte{LCPOptMRU, 0}, []item{{[]byte{LCPOptMRU, 0}, true}}},
		{"length past the end", []byte{LCPOptMagic, 6, 1, 2}, []item{{[]byte{LCPOptMagic, 6, 1, 2}, true}}},
		{"lone type byte", []byte{LCPOptPFC, 2, LCPOptACFC}, []item{{[]byte{LCPOptPFC, 2}, false}, {[]byte{LCPOptACFC}, true}}},
	} {
		var got []item
		for o, err := range Options(tc.in) {
			got = append(got, item{o, err != nil})
			if err != nil && o.Data() != nil && len(o) < 2 {
				t.Errorf("%s: Data of a %d-byte rest: % x", tc.name, len(o), o.Data())
			}
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: %d items, want %d: %v", tc.name, len(got), len(tc.want), got)
			continue
		}
		for i := range got {
			if !bytes.Equal(got[i].opt, tc.want[i].opt) || got[i].bad != tc.want[i].bad {
				t.Errorf("%s: item %d = % x bad=%v, want % x bad=%v", tc.name, i, got[i].opt, got[i].bad, tc.want[i].opt, tc.want[i].bad)
			}
		}
	}
	// Breaking out of the loop stops the walk.
	n := 0
	for range Options([]byte{LCPOptPFC, 2, LCPOptACFC, 2, LCPOptPFC, 2}) {
		n++
		break
	}
	if n != 1 {
		t.Fatalf("break: %d iterations", n)
	}
}

func TestOptionsAllocs(t *testing.T) {
	b := []byte{LCPOptMRU, 4, 5, 0xDC, LCPOptACCM, 6, 0, 0, 0, 0, LCPOptMagic, 6, 1, 2, 3, 4, LCPOptPFC, 2, LCPOptACFC, 1}
	sum := 0
	if n := testing.AllocsPerRun(100, func() {
		for o, err := range Options(b) {
			if err != nil {
				sum += len(o)
				break
			}
			sum += int(o.Type()) + len(o.Data())
		}
	}); n != 0 {
		t.Fatalf("%v allocs", n)
	}
	_ = sum
}

// FuzzOptions checks the option walk on any input: it never panics, the pieces it yields
// are the input in order, each good option's Length is its size, and a bad rest comes
// last and at most once.
func FuzzOptions(f *testing.F) {
	f.Add([]byte{LCPOptMRU, 4, 5, 0xDC, LCPOptMagic, 6, 1, 2, 3, 4})
	f.Add([]byte{LCPOptPFC, 2, LCPOptMRU, 1, 9, 9})
	f.Add([]byte{LCPOptMagic, 6, 1})
	f.Add([]byte{7})
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var joined []byte
		bad := false
		for o, err := range Options(b) {
			if bad {
				t.Fatal("an option after the bad rest")
			}
			if len(o) == 0 {
				t.Fatal("empty option")
			}
			_ = o.Type()
			d := o.Data()
			if err != nil {
				bad = true
			} else if len(o) < 2 || int(o[1]) != len(o) || len(d) != len(o)-2 {
				t.Fatalf("option % x with Length %d", []byte(o), o[1])
			}
			joined = append(joined, o...)
		}
		if !bytes.Equal(joined, b) {
			t.Fatalf("walk yielded % x of % x", joined, b)
		}
		if validOptions(b) == bad {
			t.Fatalf("validOptions %v with bad rest %v", !bad, bad)
		}
	})
}

func FuzzParseFrame(f *testing.F) {
	f.Add([]byte{0xFF, 0x03, 0xC0, 0x21, 1, 1, 0, 4})
	f.Add([]byte{0x21, 0x45, 0})                   // PFC + ACFC IPv4
	f.Add([]byte{0xFF})                            // lone address byte
	f.Add([]byte{0xFF, 0x03})                      // address/control with nothing after
	f.Add([]byte{0xFF, 0x04, 0xC0, 0x21})          // wrong control byte
	f.Add([]byte{0x80, 0x80, 1})                   // both protocol bytes even
	f.Add([]byte{0xC0, 0x21, 1, 1, 0xFF, 0xFF})    // packet length beyond the frame
	f.Add([]byte{0xC0, 0x21, 1, 1, 0, 2})          // packet length below the header
	f.Add([]byte{0xC0, 0x21, 1, 1, 0, 6, 1, 1})    // option with length 1
	f.Add([]byte{0xC0, 0x21, 1, 1, 0, 7, 5, 9, 0}) // option length past the packet
	f.Fuzz(func(t *testing.T, b []byte) {
		proto, info, err := ParseFrame(b)
		if err != nil {
			return
		}
		if proto&1 == 0 || len(info) > len(b) {
			t.Fatalf("proto %#x info %d of %d", proto, len(info), len(b))
		}
		p, err := ParsePacket(info)
		if err != nil {
			return
		}
		if p.Length() != len(p) || len(p.Data()) != len(p)-pktHeaderLen {
			t.Fatalf("length %d of %d", p.Length(), len(p))
		}
		_ = validOptions(p.Data())
		_ = describePacket(proto, info)
	})
}

func BenchmarkParseFrame(b *testing.B) {
	frame := []byte{0xFF, 0x03, 0x00, 0xFD, 0x90, 0x00, 1, 2, 3, 4, 5, 6, 7, 8}
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		_, _, _ = ParseFrame(frame)
	}
}

func TestDescribePacket(t *testing.T) {
	for _, tc := range []struct {
		proto uint16
		pkt   []byte
		want  string
	}{
		{ProtoLCP, appendPacket(nil, CodeConfigureRequest, 1, []byte{LCPOptMRU, 4, 5, 0x78, LCPOptACCM, 6, 0, 0, 0, 0, LCPOptAuthProtocol, 5, 0xC2, 0x23, 0x81, LCPOptMagic, 6, 0xbd, 0xb7, 0x7c, 0x7d, LCPOptPFC, 2, LCPOptACFC, 2}),
			"[LCP ConfReq id=0x1 <mru 1400> <asyncmap 0x0> <auth MS-CHAPv2> <magic 0xbdb77c7d> <pcomp> <accomp>]"},
		{ProtoIPCP, appendPacket(nil, CodeConfigureNak, 2, []byte{ipcpAddress, 6, 10, 99, 0, 100, ipcpDNS1, 6, 10, 99, 0, 1}),
			"[IPCP ConfNak id=0x2 <addr 10.99.0.100> <ms-dns1 10.99.0.1>]"},
		{ProtoCCP, appendPacket(nil, CodeConfigureRequest, 1, []byte{ccpMPPE, 6, 1, 0, 0, 0x40}), "[CCP ConfReq id=0x1 <mppe MPPE-128 stateless>]"},
		{ProtoLCP, appendPacket(nil, CodeTerminateRequest, 2, []byte("User request")), `[LCP TermReq id=0x2 "User request"]`},
		// Credentials never reach the log: only code, id and length.
		{ProtoPAP, appendPacket(nil, 1, 1, []byte{4, 't', 'e', 's', 't', 4, 'p', 'a', 's', 's'}), "[PAP code=1 id=0x1 len=14]"},
		{ProtoLCP, []byte{1, 1, 0}, "[LCP malformed len=3]"},
	} {
		if got := describePacket(tc.proto, tc.pkt); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}
