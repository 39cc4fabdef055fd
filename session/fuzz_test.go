// SPDX-License-Identifier: MIT

package session

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/pptp-go/pptp/mppe"
	"github.com/pptp-go/pptp/ppp"
)

var (
	fuzzKey    = bytes.Repeat([]byte{0x3C}, 16)
	fuzzEngine = ppp.NewEngine(ppp.Config{}, nopLower{})
)

// fuzzFrames splits data into frames: a length byte, then that many bytes.
func fuzzFrames(data []byte) [][]byte {
	var out [][]byte
	for len(data) > 0 {
		n := min(int(data[0]), len(data)-1)
		out = append(out, data[1:1+n])
		data = data[1+n:]
	}
	return out
}

// encryptedFrame is what a peer with fuzzKey sends for an IPv4 packet: FF 03 00 FD, the
// MPPE header and the encrypted 00 21 ‖ packet.
func encryptedFrame(e *mppe.Encrypter, ip []byte) []byte {
	f := append([]byte{0xFF, 0x03, 0x00, 0xFD, 0, 0, 0x00, 0x21}, ip...)
	e.Encrypt(f[4:6], f[6:])
	return f
}

// FuzzDeliver is the datapath's receive side (after the GRE layer): PPP framing, the MPPE
// header and decryption in each mode, the inner protocol (compressed or not), the IPv4
// check, anti-spoofing, and control frames handed to the engine. mode: bits 0-1 pick none,
// stateless or stateful MPPE; bit 2 turns the network layer down first. Nothing may panic,
// and nothing reaches the device whose source is not the peer's.
func FuzzDeliver(f *testing.F) {
	e, _ := mppe.NewEncrypter(fuzzKey, 128, true)
	ip := make([]byte, 40)
	copy(ip, []byte{0x45, 0, 0, 40, 0, 1, 0, 0, 64, 17, 0, 0, 10, 99, 0, 100, 10, 99, 0, 1})
	setIPv4Source(ip, netip.MustParseAddr("10.99.0.100"))
	good := encryptedFrame(e, ip)
	spoofed := bytes.Clone(ip)
	setIPv4Source(spoofed, netip.MustParseAddr("10.99.0.7"))
	bad := encryptedFrame(e, spoofed)
	f.Add(uint8(1), append([]byte{byte(len(good))}, good...))
	f.Add(uint8(1), append(append([]byte{byte(len(good))}, good...), append([]byte{byte(len(bad))}, bad...)...))
	f.Add(uint8(0), append([]byte{byte(len(ip) + 4), 0xFF, 0x03, 0x00, 0x21}, ip...))
	f.Add(uint8(2), []byte{6, 0xFF, 0x03, 0x00, 0xFD, 0x90, 0x00})
	f.Add(uint8(5), append([]byte{byte(len(good))}, good...))
	f.Add(uint8(1), []byte{8, 0xC0, 0x21, 9, 1, 0, 8, 0, 0})
	f.Add(uint8(1), []byte{5, 0x00, 0xFD, 0x90, 0x01, 0x21}) // PFC'd inner protocol, 1 byte
	f.Fuzz(func(t *testing.T, mode uint8, data []byte) {
		dev := newCountTUN()
		peer := netip.MustParseAddr("10.99.0.100")
		dev.check = func(p []byte) {
			if len(p) >= 20 && netip.AddrFrom4([4]byte(p[12:16])) != peer {
				t.Fatalf("a packet from %v reached the device", netip.AddrFrom4([4]byte(p[12:16])))
			}
		}
		// deliver never touches the link; the engine only queues (never run, it drops
		// once its queue is full), so one serves every run.
		d := &datapath{dev: dev, logf: t.Logf, up: make(chan struct{}), engine: fuzzEngine}
		st := &cryptoState{src: peer}
		var err error
		switch mode & 3 {
		case 1:
			st.dec, err = mppe.NewDecrypter(fuzzKey, 128, true)
		case 2, 3:
			st.dec, err = mppe.NewDecrypter(fuzzKey, 128, false)
			st.stateful = true
		}
		if err != nil {
			t.Fatal(err)
		}
		d.setUp(st)
		if mode&4 != 0 {
			d.setDown()
		}
		var bufs [][]byte
		var offs []int
		for _, fr := range fuzzFrames(data) {
			b := make([]byte, TunOffset+len(fr))
			copy(b[TunOffset:], fr)
			bufs, offs = append(bufs, b), append(offs, TunOffset)
		}
		d.deliver(bufs, offs, nil)
		if mode&4 != 0 && dev.n.Load() != 0 {
			t.Fatal("packets reached the device after Down")
		}
	})
}
