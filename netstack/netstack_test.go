// SPDX-License-Identifier: MIT

package netstack

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"
)

var (
	addrA = netip.MustParseAddr("10.64.1.1")
	addrB = netip.MustParseAddr("10.64.1.2")
)

func TestNewErrors(t *testing.T) {
	if _, err := New(netip.Addr{}, nil, 0); err == nil {
		t.Error("zero address accepted")
	}
	if _, err := New(netip.MustParseAddr("2001:db8::1"), nil, 0); err == nil {
		t.Error("IPv6 address accepted")
	}
	if _, err := New(addrA, nil, 100); err == nil {
		t.Error("MTU 100 accepted")
	}
	st, err := New(addrA, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if mtu, _ := st.MTU(); mtu != DefaultMTU {
		t.Errorf("MTU %d", mtu)
	}
	st.Close()
	st.Close() // idempotent
	if _, err := st.DialContext(context.Background(), "tcp", "10.64.1.2:1"); err == nil {
		t.Error("dial after Close succeeded")
	}
}

// pair joins two stacks back to back; n counts the packets each Read returned.
func pair(t *testing.T) (a, b *Stack, batches func() (reads, pkts int)) {
	t.Helper()
	a, err := New(addrA, nil, 1400)
	if err != nil {
		t.Fatal(err)
	}
	b, err = New(addrB, nil, 1400)
	if err != nil {
		t.Fatal(err)
	}
	return a, b, join(t, a, b)
}

// join pumps packets between two stacks until the test ends.
func join(t *testing.T, a, b *Stack) (batches func() (reads, pkts int)) {
	var mu sync.Mutex
	reads, pkts := 0, 0
	var wg sync.WaitGroup
	pump := func(from, to *Stack) {
		bufs := make([][]byte, BatchSize)
		for i := range bufs {
			bufs[i] = make([]byte, 16+2048)
		}
		sizes := make([]int, BatchSize)
		for {
			n, err := from.Read(bufs, sizes, 16)
			if err != nil {
				if !errors.Is(err, os.ErrClosed) {
					t.Errorf("Read: %v", err)
				}
				return
			}
			mu.Lock()
			reads, pkts = reads+1, pkts+n
			mu.Unlock()
			out := make([][]byte, n)
			for i := range n {
				out[i] = bufs[i][:16+sizes[i]]
			}
			to.Write(out, 16)
		}
	}
	wg.Go(func() { pump(a, b) })
	wg.Go(func() { pump(b, a) })
	t.Cleanup(func() {
		a.Close()
		b.Close()
		wg.Wait() // Close wakes both Reads
	})
	return func() (int, int) { mu.Lock(); defer mu.Unlock(); return reads, pkts }
}

// TestTransferBatches: a TCP transfer between two stacks arrives whole, and the link side's
// Reads return batches, not a packet each.
func TestTransferBatches(t *testing.T) {
	a, b, batches := pair(t)
	ln, err := b.ListenTCP("tcp", netip.AddrPortFrom(addrB, 80))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const size = 8 << 20
	got := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- -1
			return
		}
		n, _ := io.Copy(io.Discard, c)
		c.Close()
		got <- n
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := a.DialContext(ctx, "tcp", "10.64.1.2:80")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	for sent := 0; sent < size; sent += len(buf) {
		if _, err := c.Write(buf); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	if n := <-got; n != size {
		t.Fatalf("received %d bytes, want %d", n, size)
	}
	reads, pkts := batches()
	if pkts < size/1400 || float64(pkts)/float64(reads) < 1.5 {
		t.Errorf("%d packets in %d Reads: not batched", pkts, reads)
	}
}

// TestPing: an ICMP echo through the link is answered by the other stack.
func TestPing(t *testing.T) {
	a, _, _ := pair(t)
	c, err := a.DialContext(context.Background(), "ping4", addrB.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := make([]byte, 8+5)
	req[0] = 8 // echo request
	binary.BigEndian.PutUint16(req[6:], 7)
	copy(req[8:], "hello")
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 100)
	n, err := c.Read(buf)
	if err != nil || n != len(req) || buf[0] != 0 || binary.BigEndian.Uint16(buf[6:]) != 7 || string(buf[8:n]) != "hello" {
		t.Fatalf("reply %x, %v", buf[:n], err)
	}
}

// TestReadAllocs: taking queued packets off the link allocates nothing in the device.
func TestReadAllocs(t *testing.T) {
	st, c := udpFrom(t)
	bufs := [][]byte{make([]byte, 2048)}
	sizes := []int{0}
	msg := []byte("x")
	allocs := testing.AllocsPerRun(100, func() {
		c.Write(msg) // queued on the link endpoint
		if n, err := st.Read(bufs, sizes, 0); n != 1 || err != nil || sizes[0] != 29 {
			t.Fatalf("Read = %d, %v, size %d", n, err, sizes[0])
		}
	})
	// The UDP write itself allocates in gVisor; measure it alone and compare.
	base := testing.AllocsPerRun(100, func() {
		c.Write(msg)
		st.ep.Drain()
	})
	if allocs > base {
		t.Errorf("Read allocates: %.0f allocs per packet with Read, %.0f without", allocs, base)
	}
}

// TestChecksumsChecked: the stack trusts received checksums (GRO's offload), so Write must
// drop a corrupted packet that GRO does not check itself, and GRO the TCP ones.
func TestChecksumsChecked(t *testing.T) {
	a, c := udpFrom(t)
	b, err := New(addrB, nil, 1400)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	pc, err := b.ListenUDP("udp", netip.AddrPortFrom(addrB, 9))
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	bufs := [][]byte{make([]byte, 2048)}
	sizes := []int{0}
	packet := func(msg string) []byte {
		c.Write([]byte(msg))
		if n, err := a.Read(bufs, sizes, 0); n != 1 || err != nil {
			t.Fatalf("Read = %d, %v", n, err)
		}
		return append([]byte(nil), bufs[0][:sizes[0]]...)
	}
	bad := packet("corrupted")
	bad[len(bad)-1] ^= 0x40 // a flipped bit in the payload: the UDP checksum no longer holds
	b.Write([][]byte{bad}, 0)
	b.Write([][]byte{packet("intact")}, 0)
	buf := make([]byte, 100)
	pc.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "intact" {
		t.Fatalf("first datagram delivered: %q, %v; want the intact one (the corrupted one dropped)", buf[:n], err)
	}
	if b.RxDropped.Load() != 1 {
		t.Errorf("RxDropped = %d, want 1", b.RxDropped.Load())
	}

	// TCP, which goes through GRO: a corrupted SYN gets no answer, the intact one a SYN-ACK.
	ln, err := b.ListenTCP("tcp", netip.AddrPortFrom(addrB, 80))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go a.DialContext(context.Background(), "tcp", "10.64.1.2:80")
	n, err = a.Read(bufs, sizes, 0)
	if n != 1 || err != nil {
		t.Fatalf("no SYN: %d, %v", n, err)
	}
	syn := append([]byte(nil), bufs[0][:sizes[0]]...)
	badSyn := append([]byte(nil), syn...)
	badSyn[20+14] ^= 0x01 // the window: the TCP checksum no longer holds
	b.Write([][]byte{badSyn}, 0)
	answered := make(chan int, 1)
	go func() {
		n, _ := b.Read(bufs, sizes, 0)
		answered <- n
	}()
	select {
	case <-answered:
		t.Fatal("the stack answered a SYN with a bad checksum")
	case <-time.After(300 * time.Millisecond):
	}
	b.Write([][]byte{syn}, 0)
	select {
	case <-answered:
	case <-time.After(5 * time.Second):
		t.Fatal("no answer to the intact SYN")
	}
	if b.RxDropped.Load() != 2 {
		t.Errorf("RxDropped = %d, want 2", b.RxDropped.Load())
	}
}

// udpFrom is a stack at addrA, closed with the test, and a UDP socket of it to addrB:9;
// nothing reads the stack's link side, so what the socket sends waits there.
func udpFrom(t *testing.T) (*Stack, net.Conn) {
	t.Helper()
	st, err := New(addrA, nil, 1400)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c, err := st.DialContext(context.Background(), "udp", "10.64.1.2:9")
	if err != nil {
		t.Fatal(err)
	}
	return st, c
}
