// SPDX-License-Identifier: MIT

package gre

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pptp-go/pptp/internal/ipv4"
	"github.com/pptp-go/pptp/internal/nstest"
	"golang.org/x/sys/unix"
)

// fastRig is a Conn with the fast path in namespace A towards a plain Conn in B.
type fastRig struct {
	t     *testing.T
	p     *nsPair
	a, b  *Conn
	stats Stats
	seq   uint32
}

func newFastRig(t *testing.T) *fastRig {
	p := newNSPair(t)
	// A TTL no kernel default has: the fast path must write the namespace's.
	nstest.Run(t, p.a, "sysctl", "-qw", "net.ipv4.ip_default_ttl=77")
	r := &fastRig{t: t, p: p}
	r.a = dialIn(t, p.a, p.addrB, Options{FastPath: true})
	r.b = dialIn(t, p.b, p.addrA, Options{})
	if fastOf(r.a) == nil {
		t.Fatal("Dial with FastPath opened no fast path")
	}
	r.a.attachStats(&r.stats)
	return r
}

// fastOf is c's fast-path sender, whose mu is the write lock; nil if c sends only the IP way.
func fastOf(c *Conn) *fastTx {
	t, _ := c.tx.(*fastTx)
	return t
}

// packets makes n GRE packets of size bytes, each with its own pattern.
func (r *fastRig) packets(n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		b := make([]byte, size)
		b[0], b[1] = 0x30, 0x81 // key and sequence present, version 1
		binary.BigEndian.PutUint16(b[2:], ProtocolPPP)
		r.seq++
		binary.BigEndian.PutUint32(b[8:], r.seq)
		for j := 12; j < size; j++ {
			b[j] = byte(j) ^ byte(r.seq)
		}
		out[i] = b
	}
	return out
}

// send writes pkts from A and returns the IPv4 packets B received and how many
// of them went the fast way.
func (r *fastRig) send(pkts [][]byte) (got [][]byte, fast uint64) {
	r.t.Helper()
	before := r.stats.TxFast.Load()
	if n, err := r.a.WriteBatch(pkts); err != nil || n != len(pkts) {
		r.t.Fatalf("WriteBatch: %d of %d, %v", n, len(pkts), err)
	}
	bufs := make([][]byte, len(pkts))
	for i := range bufs {
		bufs[i] = make([]byte, 2048)
	}
	sizes := make([]int, len(pkts))
	r.b.SetReadDeadline(time.Now().Add(5 * time.Second))
	for len(got) < len(pkts) {
		n, err := r.b.ReadBatch(bufs[len(got):], sizes[len(got):])
		if err != nil {
			r.t.Fatalf("B received %d of %d: %v", len(got), len(pkts), err)
		}
		for i := len(got); i < len(got)+n; i++ {
			bufs[i] = bufs[i][:sizes[i]]
		}
		got = bufs[:len(got)+n]
	}
	return got, r.stats.TxFast.Load() - before
}

// peerSpeaks makes B send A one packet, which A reads.
func (r *fastRig) peerSpeaks() {
	r.t.Helper()
	if _, err := r.b.WriteBatch(r.packets(1, 64)); err != nil {
		r.t.Fatal(err)
	}
	buf := [][]byte{make([]byte, 2048)}
	r.a.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.a.ReadBatch(buf, make([]int, 1)); err != nil {
		r.t.Fatalf("A got nothing from B: %v", err)
	}
}

// recheck makes the next WriteBatch re-read route, device, neighbour and filters.
func (r *fastRig) recheck() {
	fastOf(r.a).fast.next = time.Time{}
	fastOf(r.a).fast.ns.mu.Lock()
	fastOf(r.a).fast.ns.checked = time.Time{}
	fastOf(r.a).fast.ns.mu.Unlock()
}

func (r *fastRig) ip(t *testing.T, args ...string) {
	nstest.Run(t, r.p.a, "ip", args...)
}

// checkSame fails unless got carries pkts, each in a sound IPv4 header like ref's.
func (r *fastRig) checkSame(pkts, got [][]byte, ref []byte) {
	r.t.Helper()
	for i, g := range got {
		if !ipv4.HeaderOK(g) || int(binary.BigEndian.Uint16(g[2:])) != len(g) {
			r.t.Fatalf("packet %d: bad IPv4 header % x", i, g[:20])
		}
		if !bytes.Equal(g[20:], pkts[i]) {
			r.t.Fatalf("packet %d: payload differs", i)
		}
		// Version/IHL, TOS, flags/fragment offset, TTL, protocol, addresses:
		// all but length, ID and checksum are what the kernel writes.
		for _, off := range []int{0, 1, 6, 7, 8, 9, 12, 13, 14, 15, 16, 17, 18, 19} {
			if g[off] != ref[off] {
				r.t.Fatalf("packet %d header byte %d = %#x, the kernel writes %#x\n got % x\nkern % x", i, off, g[off], ref[off], g[:20], ref[:20])
			}
		}
	}
}

func TestFastPath(t *testing.T) {
	r := newFastRig(t)

	// Until the peer has spoken, every packet goes the IP way.
	pkts := r.packets(4, 200)
	got, fast := r.send(pkts)
	if fast != 0 {
		t.Fatalf("%d packets went the fast way before the peer answered", fast)
	}
	ref := bytes.Clone(got[0][:20])
	if ref[8] != 77 {
		t.Fatalf("kernel TTL %d, want the namespace's 77", ref[8])
	}
	r.checkSame(pkts, got, ref)

	r.peerSpeaks()
	pkts = r.packets(64, 1400)
	got, fast = r.send(pkts)
	// An unconfirmed neighbour sends one packet the IP way first.
	if fast < 63 {
		t.Fatalf("%d of 64 packets went the fast way after the peer answered", fast)
	}
	r.checkSame(pkts, got, ref)

	t.Run("oversize goes the IP way", func(t *testing.T) {
		// 20 + 1490 > the veth's 1500: the kernel fragments it, B reassembles.
		big := r.packets(1, 1490)
		got, fast := r.send(big)
		if fast != 0 || !bytes.Equal(got[0][20:], big[0]) {
			t.Fatalf("oversize packet: fast %d, intact %v", fast, bytes.Equal(got[0][20:], big[0]))
		}
		pkts := r.packets(8, 1000)
		if _, fast := r.send(pkts); fast != 8 {
			t.Fatalf("after an oversize packet: %d of 8 fast", fast)
		}
	})

	// Each case below must make the fast path step aside, and its undoing
	// must bring it back.
	steps := []struct {
		name     string
		do, undo func(t *testing.T)
	}{
		{"IPsec policy", func(t *testing.T) {
			r.ip(t, "xfrm", "policy", "add", "src", r.p.addrA.String()+"/32", "dst", r.p.addrB.String()+"/32", "dir", "out")
		}, func(t *testing.T) { r.ip(t, "xfrm", "policy", "flush") }},
		{"nftables table", func(t *testing.T) {
			if _, err := exec.LookPath("nft"); err != nil {
				t.Fatal("nft not installed (scripts/test.sh installs nftables)")
			}
			// Enough tables that their dump takes several reads.
			var script strings.Builder
			for i := range 300 {
				fmt.Fprintf(&script, "add table ip fastpathtest%d\n", i)
			}
			cmd := nstest.Cmd(context.Background(), r.p.a, "nft", "-f", "-")
			cmd.Stdin = strings.NewReader(script.String())
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("nft: %v\n%s", err, out)
			}
		}, func(t *testing.T) { nstest.Run(t, r.p.a, "nft", "flush", "ruleset") }},
		{"route through a non-Ethernet device", func(t *testing.T) {
			r.ip(t, "tuntap", "add", "dev", "fptun", "mode", "tun")
			r.ip(t, "link", "set", "fptun", "up")
			r.ip(t, "route", "add", r.p.addrB.String()+"/32", "dev", "fptun")
		}, func(t *testing.T) { r.ip(t, "link", "del", "fptun") }},
		{"route through a multi-queue device with a qdisc", func(t *testing.T) {
			r.ip(t, "link", "add", "fpmq", "numtxqueues", "4", "type", "veth", "peer", "name", "fpmq2")
			r.ip(t, "link", "set", "fpmq", "up")
			nstest.Run(t, r.p.a, "tc", "qdisc", "add", "dev", "fpmq", "root", "mq")
			r.ip(t, "route", "add", r.p.addrB.String()+"/32", "dev", "fpmq")
			// Everything else would do: only the queues must stop it.
			r.ip(t, "neigh", "add", r.p.addrB.String(), "lladdr", "02:00:00:00:00:01", "dev", "fpmq", "nud", "permanent")
		}, func(t *testing.T) { r.ip(t, "link", "del", "fpmq") }},
		{"neighbour unknown", func(t *testing.T) { r.ip(t, "neigh", "flush", "dev", r.p.devA) }, func(*testing.T) {}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			parent := r.t
			r.t = t
			defer func() { r.t = parent }()
			s.do(t)
			r.recheck()
			if strings.HasPrefix(s.name, "route through") {
				// Nothing would arrive; only check the choice.
				fastOf(r.a).mu.Lock()
				fastOf(r.a).fast.refresh(time.Now())
				usable := fastOf(r.a).fast.usable
				fastOf(r.a).mu.Unlock()
				if usable {
					t.Fatal("fast path usable through this route")
				}
			} else {
				pkts := r.packets(8, 500)
				got, fast := r.send(pkts)
				if fast != 0 {
					t.Fatalf("%d packets went the fast way", fast)
				}
				r.checkSame(pkts, got, ref)
			}
			s.undo(t)
			r.recheck()
			pkts := r.packets(8, 500)
			got, fast := r.send(pkts)
			if fast < 7 {
				t.Fatalf("after undoing: %d of 8 fast", fast)
			}
			r.checkSame(pkts, got, ref)
		})
	}
}

func TestFastPathNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	r := newFastRig(t)
	r.peerSpeaks()
	pkts := r.packets(64, 1400)
	r.send(pkts)
	before := r.stats.TxFast.Load()
	// Each run re-reads route, device, neighbour and filters as well.
	allocs := testing.AllocsPerRun(50, func() {
		r.recheck()
		if _, err := r.a.WriteBatch(pkts); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per 64-packet batch with a recheck", allocs)
	}
	if sent := r.stats.TxFast.Load() - before; sent < 50*63 {
		t.Fatalf("only %d of %d packets went the fast way", sent, 51*64)
	}
}

func TestFastPathNotToLocalAddress(t *testing.T) {
	p := newNSPair(t)
	a := dialIn(t, p.a, p.addrA, Options{FastPath: true}) // to ourselves: the route is local
	fastOf(a).fast.peerSeen.Store(true)
	fastOf(a).mu.Lock()
	fastOf(a).fast.refresh(time.Now())
	usable := fastOf(a).fast.usable
	fastOf(a).mu.Unlock()
	if usable {
		t.Fatal("fast path usable towards a local address")
	}
}

// TestFastPathSharesNamespace: the calls of one namespace share one set of
// netlink sockets, released with the last call.
func TestFastPathSharesNamespace(t *testing.T) {
	p := newNSPair(t)
	one := dialIn(t, p.a, p.addrB, Options{FastPath: true})
	two := dialIn(t, p.a, p.addrB, Options{FastPath: true, Local: p.addrA})
	other := dialIn(t, p.b, p.addrA, Options{FastPath: true})
	ns := fastOf(one).fast.ns
	if ns == nil || fastOf(two).fast.ns != ns || fastOf(other).fast.ns == ns {
		t.Fatalf("shares: %p %p %p", ns, fastOf(two).fast.ns, fastOf(other).fast.ns)
	}
	fd := ns.rt.fd
	one.Close()
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
		t.Fatalf("netlink socket closed while a call still uses it: %v", err)
	}
	two.Close()
	nsShares.Lock()
	_, cached := nsShares.m[ns.key]
	nsShares.Unlock()
	if cached {
		t.Fatal("namespace still cached after its last call closed")
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
		t.Fatal("netlink socket still open after the last call closed")
	}
}
