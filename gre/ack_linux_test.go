// SPDX-License-Identifier: MIT

package gre

import (
	"bytes"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/sys/unix"
)

// pairLink returns a Link whose Conn is one end of a datagram socketpair,
// and the other end: what the Link sends can be read back without root.
func pairLink(t testing.TB, cfg LinkConfig) (*Link, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	c, err := newConn(fds[0], netip.MustParseAddr("192.0.2.1"), netip.Addr{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	l := NewLink(c, cfg)
	t.Cleanup(func() {
		l.Close()
		unix.Close(fds[1])
	})
	return l, fds[1]
}

// ipv4GRE builds an IPv4 packet carrying a GRE data packet for callID.
func ipv4GRE(dst []byte, callID uint16, seq uint32, payload []byte) []byte {
	f := Fields{CallID: callID, PayloadLen: uint16(len(payload)), Seq: seq, HasSeq: true}
	total := 20 + f.Len() + len(payload)
	b := dst[:total]
	clear(b[:20])
	b[0] = 0x45
	put16(b[2:], uint16(total))
	b[8], b[9] = 64, 47
	f.Encode(b[20 : 20+f.Len()])
	copy(b[20+f.Len():], payload)
	return b
}

// feed runs received packets through the Link's receive path as one batch,
// exactly as Receive does after a read.
func feed(l *Link, deliver func([][]byte, []int), pkts ...[]byte) {
	rx := &l.rx
	now := time.Now()
	for _, p := range pkts {
		idx := rx.free[len(rx.free)-1]
		rx.free = rx.free[:len(rx.free)-1]
		n := copy(rx.pool[idx], p)
		if !l.input(idx, n, now) {
			rx.free = append(rx.free, idx)
		}
	}
	rx.reorder.Expire(now)
	l.flush(deliver)
}

func readSent(t *testing.T, fd int) []byte {
	t.Helper()
	buf := make([]byte, 4096)
	n, err := unix.Read(fd, buf)
	if err == unix.EAGAIN {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}

func TestAckTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, peer := pairLink(t, LinkConfig{LocalCallID: 0x0101, PeerCallID: 0x1A2B, AckDelay: 10 * time.Millisecond})
		nop := func([][]byte, []int) {}
		buf := make([]byte, 64)

		// Nothing received: no ack, ever.
		time.Sleep(time.Second)
		synctest.Wait()
		if p := readSent(t, peer); p != nil {
			t.Fatalf("ack without data: % X", p)
		}

		// Data 7 arrives: a lone ack goes out AckDelay later, not before.
		feed(l, nop, ipv4GRE(buf, 0x0101, 7, []byte{1}))
		time.Sleep(9 * time.Millisecond)
		synctest.Wait()
		if p := readSent(t, peer); p != nil {
			t.Fatalf("ack before AckDelay: % X", p)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if p, want := readSent(t, peer), unhex(t, "2081880b00001a2b00000007"); !bytes.Equal(p, want) {
			t.Fatalf("lone ack % X, want % X", p, want)
		}
		if l.Stats().TxAcks.Load() != 1 {
			t.Fatal("TxAcks not counted")
		}

		// Several packets, one batch each, within AckDelay: one ack for all.
		for seq := uint32(8); seq <= 12; seq++ {
			feed(l, nop, ipv4GRE(buf, 0x0101, seq, []byte{1}))
			time.Sleep(time.Millisecond)
		}
		time.Sleep(10 * time.Millisecond)
		synctest.Wait()
		if p := readSent(t, peer); p == nil || Header(p).Ack() != 12 {
			t.Fatalf("want one ack for 12, got % X", p)
		}
		if p := readSent(t, peer); p != nil {
			t.Fatalf("second ack % X", p)
		}

		// Data received, then our own data piggybacks the ack: the timer
		// must not send a lone ack afterwards.
		feed(l, nop, ipv4GRE(buf, 0x0101, 13, []byte{1}))
		frame := make([]byte, HeaderLen+3)
		if _, err := l.Write([][]byte{frame}, HeaderLen); err != nil {
			t.Fatal(err)
		}
		p := readSent(t, peer)
		h, payload, err := Parse(p)
		if err != nil || !h.HasAck() || h.Ack() != 13 || h.Seq() != 1 || len(payload) != 3 {
			t.Fatalf("data packet % X (%v)", p, err)
		}
		// The next data packet carries no ack: it has not changed.
		if _, err := l.Write([][]byte{frame}, HeaderLen); err != nil {
			t.Fatal(err)
		}
		if h, _, _ := Parse(readSent(t, peer)); h.HasAck() || h.Seq() != 2 {
			t.Fatalf("second data packet: % X", []byte(h))
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if p := readSent(t, peer); p != nil {
			t.Fatalf("lone ack after piggyback: % X", p)
		}
		if l.Stats().TxAcks.Load() != 2 || l.Stats().TxSent.Load() != 4 {
			t.Fatalf("stats:\n%v", l.Stats())
		}
	})
}

func TestWriteErrors(t *testing.T) {
	l, peer := pairLink(t, LinkConfig{PeerCallID: 9})
	if _, err := l.Write([][]byte{make([]byte, 20)}, HeaderLen-1); err == nil || l.Stats().TxShort.Load() != 1 {
		t.Fatal("offset < HeaderLen accepted")
	}
	big := make([]byte, HeaderLen+MaxPayloadLen+1)
	ok := make([]byte, HeaderLen+10)
	if n, err := l.Write([][]byte{big, ok}, HeaderLen); n != 2 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if l.Stats().TxOversize.Load() != 1 {
		t.Fatal("oversize not counted")
	}
	// The oversize frame used no sequence number.
	if h, _, err := Parse(readSent(t, peer)); err != nil || h.Seq() != 1 {
		t.Fatalf("seq %d, %v", h.Seq(), err)
	}
	// A refused packet is counted and the rest of the batch still goes out:
	// a socketpair refuses datagrams larger than its send buffer (EMSGSIZE).
	if err := unix.SetsockoptInt(int(l.pc.(*Conn).s.f.Fd()), unix.SOL_SOCKET, unix.SO_SNDBUF, 4096); err != nil {
		t.Fatal(err)
	}
	var logged []string
	l.cfg.Logf = func(f string, a ...any) { logged = append(logged, f) }
	huge := make([]byte, HeaderLen+MaxPayloadLen)
	if n, err := l.Write([][]byte{ok, huge, ok, huge}, HeaderLen); n != 4 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if l.Stats().TxFailed.Load() != 2 || l.Stats().TxSent.Load() != 3 || len(logged) != 1 {
		t.Fatalf("failed %d sent %d logged %q", l.Stats().TxFailed.Load(), l.Stats().TxSent.Load(), logged)
	}
	l.Close()
	if _, err := l.Write([][]byte{ok}, HeaderLen); err == nil {
		t.Fatal("Write after Close succeeded")
	}
}

// FuzzLinkInput feeds arbitrary IPv4 packets, several per batch, through
// the Link's receive path (IPv4 header strip, GRE parse, reorder, deliver).
func FuzzLinkInput(f *testing.F) {
	// Nobody reads the socketpair's other end: no lone acks, or its buffer
	// fills and the ack timer blocks in sendmmsg.
	l, _ := pairLink(f, LinkConfig{LocalCallID: 0x0101, Reorder: ReorderConfig{Window: 4}, AckDelay: time.Hour})
	buf := make([]byte, 64)
	good := ipv4GRE(buf, 0x0101, 1, []byte{0xFF, 0x03, 0xC0, 0x21})
	f.Add(bytes.Clone(good))
	short := bytes.Clone(good)
	short[3]-- // IPv4 total length one byte short of the GRE payload
	f.Add(short)
	long := bytes.Clone(good)
	long[3]++ // IPv4 total length beyond the data received
	f.Add(long)
	opts := bytes.Clone(good)
	opts[0] = 0x4F // IHL 60 bytes: header options swallow the GRE packet
	f.Add(opts)
	f.Add([]byte{0x45})                                                          // a single byte
	f.Add([]byte{0x60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) // IPv6 version nibble
	ackOnly := append(bytes.Clone(good[:20]), unhex(f, "2081880b00000101ffffffff")...)
	put16(ackOnly[2:], uint16(len(ackOnly)))
	f.Add(ackOnly) // ack-only for our call
	f.Fuzz(func(t *testing.T, data []byte) {
		// Split into up to three packets at data-driven points.
		var pkts [][]byte
		for len(data) > 0 && len(pkts) < 3 {
			n := len(data)
			if len(data) > 1 && int(data[0]) < len(data) && len(pkts) < 2 {
				n = max(1, int(data[0]))
			}
			pkts = append(pkts, data[:min(n, DefaultPacketSize)])
			data = data[n:]
		}
		feed(l, func(bufs [][]byte, offs []int) {
			for i, b := range bufs {
				if offs[i] < 32 || offs[i] > len(b) {
					t.Fatalf("frame at %d..%d", offs[i], len(b))
				}
			}
		}, pkts...)
		if len(l.rx.free)+l.rx.reorder.Len() != len(l.rx.pool) {
			t.Fatalf("buffer leak: %d free + %d held != %d", len(l.rx.free), l.rx.reorder.Len(), len(l.rx.pool))
		}
	})
}
