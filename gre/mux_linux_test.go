// SPDX-License-Identifier: MIT

package gre

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/pptp-go/pptp/internal/nstest"
)

// muxIn opens a Mux in p's namespace A; the test's cleanup drops its own reference.
func muxIn(tb testing.TB, p *nsPair, opt Options) *Mux {
	tb.Helper()
	var m *Mux
	inNS(tb, p.a, func() (err error) {
		m, err = NewMux(p.addrA, opt)
		return err
	})
	tb.Cleanup(m.Release)
	return m
}

// muxDialIn registers callID for p's B on m, from inside A (the fast path looks at A's routes).
func muxDialIn(tb testing.TB, p *nsPair, m *Mux, callID uint16) *MuxConn {
	tb.Helper()
	var c *MuxConn
	inNS(tb, p.a, func() (err error) {
		c, err = m.Dial(p.addrB, callID)
		return err
	})
	return c
}

// Two calls from one address share the Mux, and a call with a socket of its own runs beside
// it: every frame reaches its own Link, in order and intact, in both directions.
func TestMuxCallsShareOneSocket(t *testing.T) {
	families(t, testMuxCallsShareOneSocket)
}

func testMuxCallsShareOneSocket(t *testing.T, pair func(testing.TB) *nsPair) {
	for _, fast := range []bool{false, true} {
		t.Run(map[bool]string{false: "ip", true: "fastpath"}[fast], func(t *testing.T) {
			p := pair(t)
			m := muxIn(t, p, Options{FastPath: fast})
			const own = 0x0101
			ids := []uint16{0x8001, 0x8002, own}
			var srv, cli []*endpoint
			for i, id := range ids {
				var c CallConn
				if id == own {
					c = dialIn(t, p.a, p.addrB, Options{CallID: own, Blocking: true, FastPath: fast})
				} else {
					c = muxDialIn(t, p, m, id)
				}
				peer := uint16(0x3000 + i)
				srv = append(srv, startEndpoint(t, c, id, peer, LinkConfig{}))
				cli = append(cli, startEndpoint(t, dialIn(t, p.b, p.addrA, Options{CallID: peer}), peer, id, LinkConfig{}))
			}
			const total = 64 * 50
			for i := range ids {
				go pump(t, cli[i].link, newSender(64, 1400), srv[i], total, 512)
				go pump(t, srv[i].link, newSender(64, 1400), cli[i], total, 512)
			}
			eps := append(append([]*endpoint{}, srv...), cli...)
			waitFor(t, "every frame", func() bool {
				for _, e := range eps {
					if e.got.Load() < total {
						return false
					}
				}
				return true
			}, eps...)
			for i, e := range eps {
				if e.got.Load() != total || e.bad.Load() != 0 {
					t.Errorf("endpoint %d: got %d bad %d", i, e.got.Load(), e.bad.Load())
				}
			}
			if d := m.Dropped.Load(); d != 0 {
				t.Errorf("mux dropped %d packets (the own socket's should never reach it)", d)
			}
		})
	}
}

// The Mux drops packets for Call IDs nobody registered and packets from another address
// than the call's peer.
func TestMuxDropsStrangers(t *testing.T) {
	families(t, func(t *testing.T, pair func(testing.TB) *nsPair) { testMuxDropsStrangers(t, pair(t)) })
}

func testMuxDropsStrangers(t *testing.T, p *nsPair) {
	other := p.addrB.Next()
	if p.addrB.Is4() {
		nstest.Run(t, p.b, "ip", "addr", "add", other.String()+"/24", "dev", p.devB)
	} else {
		nstest.Run(t, p.b, "ip", "-6", "addr", "add", other.String()+"/64", "dev", p.devB, "nodad")
	}
	m := muxIn(t, p, Options{})
	c := muxDialIn(t, p, m, 0x8001)
	defer c.Close()
	send := func(from netip.Addr, callID uint16) {
		cl := dialIn(t, p.b, p.addrA, Options{Local: from})
		pkt := make([]byte, 16+100)
		Fields{CallID: callID, PayloadLen: 100, Seq: 1, HasSeq: true}.Encode(pkt)
		if _, err := cl.WriteBatch([][]byte{pkt}); err != nil {
			t.Fatal(err)
		}
	}
	send(p.addrB, 0x8002) // nobody's
	send(other, 0x8001)   // not the call's peer
	waitFor(t, "two drops", func() bool { return m.Dropped.Load() == 2 })
	send(p.addrB, 0x8001)
	buf := make([]byte, 2048)
	sizes := []int{0}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.ReadBatch([][]byte{buf}, sizes)
	ipHdr := 20 // an IPv6 socket reads no IP header (family.go)
	if p.addrB.Is6() {
		ipHdr = 0
	}
	if err != nil || n != 1 || sizes[0] != ipHdr+16+100 {
		t.Fatalf("ReadBatch = %d, %v, size %d", n, err, sizes[0])
	}
	if id, ok := callIDAt(buf[:sizes[0]], p.addrB.Is4()); !ok || id != 0x8001 {
		t.Fatalf("received Call ID %#x", id)
	}
	// Nothing else was queued for the call.
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, err := c.ReadBatch([][]byte{buf}, sizes); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("second ReadBatch = %d, %v", n, err)
	}
	if d := m.Dropped.Load(); d != 2 {
		t.Fatalf("dropped %d, want 2", d)
	}
}

func TestMuxConnCloseUnblocksRead(t *testing.T) {
	p := newNSPair(t)
	m := muxIn(t, p, Options{})
	checkCloseUnblocksRead(t, muxDialIn(t, p, m, 0x8001))
	// The Call ID is free again, and the Mux still serves.
	c := muxDialIn(t, p, m, 0x8001)
	c.Close()
}

// A Mux lives while a Conn uses it: the last Release closes it, and with it its reader.
func TestMuxLifetime(t *testing.T) {
	p := newNSPair(t)
	var m *Mux
	inNS(t, p.a, func() (err error) {
		m, err = NewMux(p.addrA, Options{})
		return err
	})
	if _, err := m.Dial(p.addrB, 0x0001); err == nil {
		t.Fatal("Dial took a Call ID without MuxCallIDBit")
	}
	c, err := m.Dial(p.addrB, 0x8001)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Dial(p.addrB, 0x8001); err == nil {
		t.Fatal("a Call ID was registered twice")
	}
	m.Release() // NewMux's reference; c holds the Mux open
	select {
	case <-m.done:
		t.Fatal("reader ended with a Conn open")
	case <-time.After(20 * time.Millisecond):
	}
	c.Close()
	c.Close() // a second Close must not release again
	select {
	case <-m.done:
	case <-time.After(5 * time.Second):
		t.Fatal("reader still running after the last Release")
	}
	if m.Acquire() {
		t.Fatal("Acquire succeeded on a closed Mux")
	}
	if _, err := m.Dial(p.addrB, 0x8002); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Dial on a closed Mux: %v", err)
	}
}

// Steady state through a Mux allocates nothing, in its reader or in the Links.
func TestMuxAllocs(t *testing.T) {
	families(t, func(t *testing.T, pair func(testing.TB) *nsPair) { testMuxAllocs(t, pair(t)) })
}

func testMuxAllocs(t *testing.T, p *nsPair) {
	m := muxIn(t, p, Options{FastPath: true})
	const srvID, cliID = 0x8001, callB
	a := startEndpoint(t, muxDialIn(t, p, m, srvID), srvID, cliID, LinkConfig{})
	b := startEndpoint(t, dialIn(t, p.b, p.addrA, Options{CallID: cliID, Blocking: true}), cliID, srvID, LinkConfig{})
	checkSteadyAllocs(t, a, b)
}
