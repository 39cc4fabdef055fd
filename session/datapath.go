// SPDX-License-Identifier: MIT

// Package session joins the parts of one PPTP call: the control call, the GRE link and, above
// it, either our own PPP engine with a device — a kernel TUN, or a user-space stack built
// once IPCP gave the address (LazyDevice stands in until then) — or pppd on a pty (HDLC
// modes).
//
// The IP datapath has three goroutines per session: one reads the TUN and frames (and encrypts)
// what it reads, one writes those batches to the GRE link, one receives from the link; each
// direction owns its MPPE state and its buffers. The PPP engine runs in another goroutine and
// learns nothing per packet.
package session

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"

	"golang.zx2c4.com/wireguard/tun"

	"github.com/pptp-go/pptp/gre"
	"github.com/pptp-go/pptp/internal/ipv4"
	"github.com/pptp-go/pptp/mppe"
	"github.com/pptp-go/pptp/ppp"
)

const (
	// TunOffset is where packets read from the TUN start in their buffers: room for the GRE
	// header (16), FF 03 (2), the 0x00FD protocol (2), the MPPE header (2) and the inner
	// protocol (2), so every header is written in front of the payload without a copy.
	TunOffset = 32
	// tunWriteOffset is the headroom handed to tun.Write: it needs ≥ 10 bytes in front of each
	// packet for the virtio-net header.
	tunWriteOffset = 16
	// bufSize holds an MTU-sized packet plus headroom; TSO reads are split into such buffers.
	bufSize = 2048
)

// DataStats counts what the IP datapath did, beyond the GRE counters.
type DataStats struct {
	TxPackets, TxBytes, RxPackets, RxBytes atomic.Uint64
	TxDropped                              atomic.Uint64 // not IPv4, or too big
	RxDecryptErrors, RxUnencrypted         atomic.Uint64
	RxTunErrors                            atomic.Uint64
	RxBadIP                                atomic.Uint64 // decrypted to a bad IPv4 header: dropped
	RxSpoofed                              atomic.Uint64 // IPv4 source not the peer's (server): dropped
	RxSanity                               atomic.Uint64 // MPPE packets past the receiver's sanity limit (a hostile or broken peer)
	RxDown                                 atomic.Uint64 // data after the network layer went down, or before IPCP: dropped
}

// cryptoState is what the engine installs when the network layer comes up.
type cryptoState struct {
	enc  *mppe.Encrypter // nil: no MPPE
	dec  *mppe.Decrypter
	acfc bool // we may omit FF 03
	// stateful MPPE: a GRE gap asks for a CCP reset at once (see onGap)
	stateful bool
	mss      uint16 // TCP SYN MSS clamp both ways (mss.go); 0 = off
	// down: the network layer went down; nothing is carried until the next Up, which
	// brings fresh keys (the old ones must not keep a half-closed link alive).
	down bool
	// src, when valid, is the one IPv4 source the peer may use besides the routed
	// prefixes (the server's anti-spoofing: the address IPCP gave the client).
	src    netip.Addr
	routed []netip.Prefix
}

// srcOK reports whether the IPv4 packet ip (≥ 20 bytes) may come from the peer.
func (st *cryptoState) srcOK(ip []byte) bool {
	if !st.src.IsValid() {
		return true
	}
	a := netip.AddrFrom4([4]byte(ip[12:16]))
	if a == st.src {
		return true
	}
	for _, p := range st.routed {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// onGap is the GRE link's gap handler. A stateful MPPE receiver drops every packet after a
// loss until the sender's flushed answer to our Reset-Request; asking when the gap appears,
// not when the reorder hold ends, saves the hold time's worth of packets (at 10 ms and 700
// Mbit/s, 600 of them). When the gap was mere reordering the answer costs one re-key.
func (d *datapath) onGap() {
	if st := d.state.Load(); st != nil && st.stateful {
		d.engine.SendResetRequest()
	}
}

// datapath moves IP packets between a TUN device and a GRE link.
type datapath struct {
	dev    tun.Device
	link   *gre.Link
	engine *ppp.Engine
	stats  DataStats
	logf   func(string, ...any)

	// state is swapped by the engine goroutine at Up and read once per batch by both routines.
	state atomic.Pointer[cryptoState]
	up    chan struct{} // closed at the first Up
	once  sync.Once

	// ipv6 is set while IPV6CP is open: IPv6 (0x0057) passes too; src6, on a server, is
	// what the client may send IPv6 from.
	ipv6 atomic.Bool
	src6 atomic.Pointer[sources6]
}

func (d *datapath) setUp(st *cryptoState) {
	d.state.Store(st)
	d.once.Do(func() { close(d.up) })
}

// setDown stops the datapath until the next setUp (the engine's Down).
func (d *datapath) setDown() {
	if st := d.state.Load(); st != nil {
		d.state.Store(&cryptoState{down: true, acfc: st.acfc})
	}
}

// txBatch is one TUN read's worth of buffers, handed from RoutineReadFromTUN to its writer.
type txBatch struct {
	bufs, out [][]byte // TUN read buffers; the framed packets to send (m of them)
	sizes     []int
	m, start  int // m > 0; start: where every packet's PPP header begins in its buffer
}

// txDepth is how many batches are in flight between the TUN reader and its GRE writer: one
// being read and framed while the other goes through the kernel, so framing and MPPE on one
// core overlap the send on another.
const txDepth = 2

// RoutineReadFromTUN reads batches from the TUN device and frames them as PPP (optionally MPPE)
// in place; a writer goroutine it starts (and waits for before returning) writes them to the
// GRE link in order. It returns nil when the device is closed or done is, and the error when
// reading fails otherwise (the session must then end: nothing would carry traffic to the peer
// any more).
func (d *datapath) RoutineReadFromTUN(done <-chan struct{}) error {
	select {
	case <-d.up:
	case <-done:
		return nil
	}
	batch := d.dev.BatchSize()
	free := make(chan *txBatch, txDepth)
	full := make(chan *txBatch, txDepth)
	for range txDepth {
		b := &txBatch{bufs: make([][]byte, batch), out: make([][]byte, batch), sizes: make([]int, batch)}
		for i := range b.bufs {
			b.bufs[i] = make([]byte, bufSize+TunOffset)
		}
		free <- b
	}
	written := make(chan struct{})
	go func() {
		defer close(written)
		for b := range full {
			d.link.Write(b.out[:b.m], b.start)
			free <- b
		}
	}()
	defer func() {
		close(full)
		<-written
	}()
	for {
		b := <-free
		n, err := d.dev.Read(b.bufs, b.sizes, TunOffset)
		b.m = 0
		if n > 0 {
			b.m, b.start = d.frameBatch(b.bufs[:n], b.sizes[:n], b.out)
		}
		if b.m > 0 {
			full <- b
		} else {
			free <- b // nothing to send: no hand-off
		}
		if err != nil {
			if errors.Is(err, os.ErrClosed) || isClosed(done) {
				return nil
			}
			if errors.Is(err, tun.ErrTooManySegments) {
				continue
			}
			return fmt.Errorf("TUN read: %w", err)
		}
	}
}

// frameBatch encapsulates bufs[i][TunOffset:TunOffset+sizes[i]] in place as PPP (and MPPE)
// frames and puts the m it kept in out[:m]; each frame starts at start in its buffer, where
// the GRE header goes in front of it.
func (d *datapath) frameBatch(bufs [][]byte, sizes []int, out [][]byte) (m, start int) {
	st := d.state.Load()
	if st.down {
		d.stats.TxDropped.Add(uint64(len(bufs)))
		return 0, 0
	}
	// Every packet of a batch gets the same headers, so they all start at the same offset.
	start = TunOffset - 2 // inner protocol
	if st.enc != nil {
		start -= mppe.HeaderLen + 2
	}
	if !st.acfc {
		start -= 2
	}
	v6 := d.ipv6.Load()
	for i, b := range bufs {
		size := sizes[i]
		var proto byte
		switch {
		case size == 0:
		case b[TunOffset]>>4 == 4:
			proto = 0x21
		case b[TunOffset]>>4 == 6 && v6:
			proto = 0x57
		}
		if proto == 0 {
			d.stats.TxDropped.Add(1) // only what IPCP (and IPV6CP) negotiated
			continue
		}
		end := TunOffset + size
		if st.mss != 0 {
			clampMSS(b[TunOffset:end], st.mss)
		}
		b[TunOffset-2], b[TunOffset-1] = 0x00, proto
		p := TunOffset - 2
		if st.enc != nil {
			st.enc.Encrypt(b[p-mppe.HeaderLen:p], b[p:end])
			p -= mppe.HeaderLen + 2
			b[p], b[p+1] = 0x00, 0xFD
		}
		if !st.acfc {
			p -= 2
			b[p], b[p+1] = 0xFF, 0x03
		}
		out[m] = b[:end]
		m++
		d.stats.TxPackets.Add(1)
		d.stats.TxBytes.Add(uint64(size))
	}
	return m, start
}

// deliver is the GRE link's receive callback: it decrypts in place, writes IP packets to the TUN
// in one batch, and hands everything else to the engine.
func (d *datapath) deliver(bufs [][]byte, offs []int, out [][]byte) [][]byte {
	st := d.state.Load()
	v6 := d.ipv6.Load()
	out = out[:0]
	for i, b := range bufs {
		frame := b[offs[i]:]
		proto, info, err := ppp.ParseFrame(frame)
		if err != nil {
			continue
		}
		infoAt := len(b) - len(info)
		switch {
		case st != nil && st.down && (proto == ppp.ProtoCompressed || proto == ppp.ProtoIPv4):
			d.stats.RxDown.Add(1)
		case proto == ppp.ProtoCompressed && st != nil && st.dec != nil:
			if len(info) < mppe.HeaderLen+1 {
				d.stats.RxDecryptErrors.Add(1)
				continue
			}
			reset, err := st.dec.Decrypt(info[:mppe.HeaderLen], info[mppe.HeaderLen:])
			if reset {
				d.engine.SendResetRequest()
			}
			if err != nil {
				switch err {
				case mppe.ErrImplausible:
					d.stats.RxBadIP.Add(1) // forged, corrupted, or under a key out of step
				case mppe.ErrSanity:
					if d.stats.RxSanity.Add(1) == 1 {
						d.logf("MPPE: the peer keeps sending invalid packets (dropped and counted; the link stays up)")
					}
				default:
					d.stats.RxDecryptErrors.Add(1)
				}
				continue
			}
			inner := info[mppe.HeaderLen:]
			at := infoAt + mppe.HeaderLen
			var iproto uint16
			if inner[0]&1 == 1 { // protocol field compressed inside the encrypted payload
				iproto, at = uint16(inner[0]), at+1
			} else if len(inner) >= 2 {
				iproto, at = uint16(inner[0])<<8|uint16(inner[1]), at+2
			} else {
				continue
			}
			if iproto == ppp.ProtoIPv4 {
				if !ipv4.HeaderOK(b[at:]) {
					// Decrypted with the wrong key (or corrupted): not worth a TUN write.
					d.stats.RxBadIP.Add(1)
					continue
				}
				out = d.appendIP(out, st, b, at)
			} else if iproto == ppp.ProtoIPv6 && v6 {
				if !ipv6HeaderOK(b[at:]) {
					d.stats.RxBadIP.Add(1)
					continue
				}
				out = d.appendIP(out, st, b, at)
			} else {
				// Encrypted non-IP (IPv6 from a peer we did not negotiate it with): the
				// engine answers with a Protocol-Reject.
				d.engine.Input(append([]byte{0xFF, 0x03, byte(iproto >> 8), byte(iproto)}, b[at:]...))
			}
		case proto == ppp.ProtoIPv4:
			if st == nil || st.dec != nil {
				d.stats.RxUnencrypted.Add(1) // clear text while MPPE is on, or before IPCP
				continue
			}
			out = d.appendIP(out, st, b, infoAt)
		case proto == ppp.ProtoIPv6 && v6:
			if st == nil || st.dec != nil {
				d.stats.RxUnencrypted.Add(1)
				continue
			}
			if !ipv6HeaderOK(b[infoAt:]) {
				d.stats.RxBadIP.Add(1)
				continue
			}
			out = d.appendIP(out, st, b, infoAt)
		case proto == ppp.ProtoCompressed && st == nil:
			// Before IPCP installed the link's state: IPV6CP can open first and the peer
			// send IPv6 (solicitations) in that moment. Not a decryption failure.
			d.stats.RxDown.Add(1)
		case proto == ppp.ProtoCompressed:
			// Encrypted data without keys: nothing can read it.
			d.stats.RxDecryptErrors.Add(1)
		default:
			d.engine.Input(append([]byte(nil), frame...))
		}
	}
	if len(out) > 0 {
		d.engine.NoteTraffic() // data counts as liveness for LCP echo
		if _, err := d.dev.Write(out, tunWriteOffset); err != nil {
			d.stats.RxTunErrors.Add(1)
		}
	}
	return out
}

func (d *datapath) appendIP(out [][]byte, st *cryptoState, b []byte, at int) [][]byte {
	if at < tunWriteOffset || len(b)-at < 20 {
		return out
	}
	ip := b[at:]
	v6 := ip[0]>>4 == 6
	if v6 && !d.src6OK(ip) || !v6 && !st.srcOK(ip) {
		d.stats.RxSpoofed.Add(1)
		return out
	}
	if st.mss != 0 {
		clampMSS(ip, st.mss)
	}
	d.stats.RxPackets.Add(1)
	d.stats.RxBytes.Add(uint64(len(b) - at))
	return append(out, b[at-tunWriteOffset:])
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// ipv6HeaderOK is the receive check for IPv6, as ipv4.HeaderOK for IPv4: version 6 and a
// payload length that fits the packet (a wrong MPPE key fails it 15 times in 16).
func ipv6HeaderOK(b []byte) bool {
	return len(b) >= 40 && b[0]>>4 == 6 && 40+(int(b[4])<<8|int(b[5])) <= len(b)
}
