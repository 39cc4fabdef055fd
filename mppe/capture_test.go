// SPDX-License-Identifier: MIT

package mppe

import (
	"encoding/binary"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/pptp-go/pptp/internal/capture"
)

// These tests decrypt what the Linux kernel's ppp_mppe sent in real sessions between
// pppd 2.4.9 peers (../shared/captures, user "test", password "test").

var (
	capClient = netip.MustParseAddr("192.0.2.3")
	capServer = netip.MustParseAddr("192.0.2.2")
	tunServer = netip.MustParseAddr("10.99.0.1")
	tunClient = netip.MustParseAddr("10.99.0.100")
)

// pppFrame splits a PPP frame into its protocol (1 or 2 bytes, PFC) and information,
// skipping an FF 03 address/control field if present.
func pppFrame(f []byte) (proto uint16, info []byte, ok bool) {
	if len(f) >= 2 && f[0] == 0xff && f[1] == 0x03 {
		f = f[2:]
	}
	if len(f) >= 1 && f[0]&1 == 1 {
		return uint16(f[0]), f[1:], true
	}
	if len(f) >= 2 {
		return binary.BigEndian.Uint16(f), f[2:], true
	}
	return 0, nil, false
}

// chapExchange finds the MS-CHAP challenge value (server → client, code 1) and response
// value (client → server, code 2).
func chapExchange(t *testing.T, pkts []capture.Packet) (challenge, response []byte) {
	t.Helper()
	find := func(src netip.Addr, code byte) []byte {
		for _, f := range capture.GREPayloads(pkts, src) {
			proto, info, ok := pppFrame(f)
			if !ok || proto != 0xc223 || len(info) < 5 || info[0] != code {
				continue
			}
			n := int(binary.BigEndian.Uint16(info[2:]))
			if n > len(info) || int(info[4])+5 > n {
				t.Fatalf("bad CHAP packet %x", info)
			}
			return info[5 : 5+int(info[4])]
		}
		t.Fatalf("no CHAP code %d from %v", code, src)
		return nil
	}
	return find(capServer, 1), find(capClient, 2)
}

func ipChecksum(b []byte) uint16 {
	var s uint32
	for ; len(b) >= 2; b = b[2:] {
		s += uint32(binary.BigEndian.Uint16(b))
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

type icmpSeen struct{ requests, replies int }

// checkPlain validates one decrypted frame: a PPP protocol field (PFC allowed), then a
// well-formed IPv4 packet with a good header checksum (or an IPv6 packet, which pppd also
// negotiated), and counts ICMP echoes between the tunnel addresses.
func checkPlain(t *testing.T, p []byte, seen *icmpSeen) {
	t.Helper()
	proto, ip, ok := pppFrame(p)
	if !ok {
		t.Fatalf("no protocol field in %x", p)
	}
	switch proto {
	case 0x0021:
	case 0x0057:
		if len(ip) < 40 || ip[0]>>4 != 6 || int(binary.BigEndian.Uint16(ip[4:]))+40 != len(ip) {
			t.Errorf("bad IPv6 packet %x", ip)
		}
		return
	default:
		t.Fatalf("decrypted protocol 0x%04x (%x): wrong key or key schedule", proto, p[:min(len(p), 16)])
	}
	if len(ip) < 20 || ip[0]>>4 != 4 {
		t.Fatalf("not IPv4: %x", ip)
	}
	hl := int(ip[0]&0xf) * 4
	if int(binary.BigEndian.Uint16(ip[2:])) != len(ip) || hl < 20 || hl > len(ip) {
		t.Fatalf("IPv4 lengths do not match the frame: %x", ip[:20])
	}
	if ipChecksum(ip[:hl]) != 0 {
		t.Fatalf("IPv4 header checksum bad: %x", ip[:hl])
	}
	src, dst := netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20]))
	if ip[9] != 1 {
		return
	}
	icmp := ip[hl:]
	if ipChecksum(icmp) != 0 {
		t.Errorf("ICMP checksum bad")
	}
	switch {
	case icmp[0] == 8 && src == tunClient && dst == tunServer:
		seen.requests++
	case icmp[0] == 0 && src == tunServer && dst == tunClient:
		seen.replies++
	}
}

func TestDecryptKernelCaptures(t *testing.T) {
	for _, tc := range []struct {
		file string
		v1   bool
		bits int
	}{
		{"mschapv2-mppe128-stateless", false, 128},
		{"mschapv2-mppe40-stateless", false, 40},
		{"mschapv1-mppe128-stateless", true, 128},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("..", "..", "shared", "captures", tc.file+".pcap")
			pkts, err := capture.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			challenge, response := chapExchange(t, pkts)
			phh := passwordHashHash("test")
			var clientSend, serverSend [16]byte
			if tc.v1 {
				// MS-CHAPv1: 8-byte challenge; response = LM 24, NT 24, flag (RFC 2433 §3).
				if len(challenge) != 8 || len(response) != 49 {
					t.Fatalf("MS-CHAPv1 sizes %d/%d", len(challenge), len(response))
				}
				clientSend, serverSend = KeysV1(phh, [8]byte(challenge))
			} else {
				// MS-CHAPv2: 16-byte challenge; response = peer challenge 16, zero 8, NT 24, flags.
				if len(challenge) != 16 || len(response) != 49 {
					t.Fatalf("MS-CHAPv2 sizes %d/%d", len(challenge), len(response))
				}
				clientSend, serverSend = KeysV2(phh, [24]byte(response[24:48]), false)
				serverSend2, srvRecv := KeysV2(phh, [24]byte(response[24:48]), true)
				if serverSend2 != serverSend || srvRecv != clientSend {
					t.Fatal("server-side keys do not mirror the client's")
				}
			}
			var seen icmpSeen
			for _, dir := range []struct {
				src netip.Addr
				key [16]byte
			}{{capClient, clientSend}, {capServer, serverSend}} {
				d, err := NewDecrypter(dir.key[:], tc.bits, true)
				if err != nil {
					t.Fatal(err)
				}
				// Our Encrypter must reproduce the kernel's frames byte for byte.
				e, err := NewEncrypter(dir.key[:], tc.bits, true)
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, f := range capture.GREPayloads(pkts, dir.src) {
					proto, info, ok := pppFrame(f)
					if !ok || proto != 0x00fd {
						continue
					}
					if len(info) < HeaderLen+1 {
						t.Fatalf("short MPPE frame %x", f)
					}
					hdr := Header(info[:HeaderLen])
					if hdr.Flags() != FlagFlushed|FlagEncrypted {
						t.Errorf("stateless frame flags %#x, want A|D", hdr.Flags())
					}
					if int(hdr.Count()) != n {
						t.Errorf("frame %d has count %d (kernel starts at 0, no loss in capture)", n, hdr.Count())
					}
					p := append([]byte(nil), info[HeaderLen:]...)
					if _, err := d.Decrypt(hdr, p); err != nil {
						t.Fatalf("%v frame %d: %v", dir.src, n, err)
					}
					checkPlain(t, p, &seen)
					var ehdr [HeaderLen]byte
					e.Encrypt(ehdr[:], p)
					if string(ehdr[:]) != string(info[:HeaderLen]) || string(p) != string(info[HeaderLen:]) {
						t.Errorf("%v frame %d: re-encryption differs from the kernel's frame", dir.src, n)
					}
					n++
				}
				if n < 3 {
					t.Errorf("only %d MPPE frames from %v", n, dir.src)
				}
				t.Logf("%v: %d frames decrypted", dir.src, n)
			}
			if seen.requests != 3 || seen.replies != 3 {
				t.Errorf("ICMP echo requests/replies = %d/%d, want 3/3", seen.requests, seen.replies)
			}
		})
	}
}
