// SPDX-License-Identifier: MIT

package netstack

import (
	"context"
	"encoding/binary"
	"io"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestForward: a stack in forwarding mode takes TCP and UDP flows to addresses that are not
// its own, gives the handler their true endpoints, refuses what Allow refuses (RST, ICMP
// port unreachable) and answers pings to any address.
func TestForward(t *testing.T) {
	far := netip.MustParseAddr("198.51.100.7")
	var mu sync.Mutex
	var seen []Flow
	b, err := NewForwarding(addrB, 1400, Handler{
		Allow: func(udp bool, f Flow) bool { return f.Dst.Port() != 9 },
		TCP: func(r *TCPRequest) {
			if r.Dst.Port() == 81 {
				r.Reject() // as when the destination refused us
				return
			}
			mu.Lock()
			seen = append(seen, r.Flow)
			mu.Unlock()
			c, err := r.Accept()
			if err != nil {
				t.Error(err)
				return
			}
			if got := c.LocalAddr().String(); got != r.Dst.String() {
				t.Errorf("accepted connection's local address %s, want %s", got, r.Dst)
			}
			io.Copy(c, c)
			c.Close()
		},
		Ping: func(r *PingRequest) {
			if r.Dst == netip.MustParseAddr("203.0.113.44") && r.Src == addrA {
				go r.Reply() // as when the far host answered
			}
		},
		UDP: func(r *UDPRequest) {
			c, err := r.Accept()
			if err != nil {
				t.Error(err)
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 100)
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				n, err := c.Read(buf)
				if err == nil {
					c.Write(append([]byte("re:"), buf[:n]...))
				}
			}()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(addrA, nil, 1400)
	if err != nil {
		t.Fatal(err)
	}
	join(t, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	c, err := a.DialContext(ctx, "tcp", "198.51.100.7:80")
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("ping"))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo %q, %v", buf, err)
	}
	mu.Lock()
	if len(seen) != 1 || seen[0].Dst != netip.AddrPortFrom(far, 80) || seen[0].Src.Addr() != addrA {
		t.Errorf("flows %v", seen)
	}
	mu.Unlock()
	c.Close()

	for _, port := range []string{"9", "81"} { // refused by Allow, then by the handler
		if _, err := a.DialContext(ctx, "tcp", "198.51.100.7:"+port); err == nil || !strings.Contains(err.Error(), "refused") {
			t.Errorf("port %s: dial error %v, want connection refused", port, err)
		}
	}

	u, err := a.DialContext(ctx, "udp", "198.51.100.8:53")
	if err != nil {
		t.Fatal(err)
	}
	u.Write([]byte("q"))
	u.SetReadDeadline(time.Now().Add(5 * time.Second))
	ub := make([]byte, 10)
	if n, err := u.Read(ub); err != nil || string(ub[:n]) != "re:q" {
		t.Errorf("UDP reply %q, %v", ub[:n], err)
	}
	u.Close()

	ping := func(host string) bool {
		p, err := a.DialContext(ctx, "ping4", host)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		req := make([]byte, 8+4)
		req[0] = 8
		binary.BigEndian.PutUint16(req[6:], 3)
		copy(req[8:], "abcd")
		p.Write(req)
		p.SetReadDeadline(time.Now().Add(time.Second))
		rb := make([]byte, 100)
		n, err := p.Read(rb)
		return err == nil && n == len(req) && rb[0] == 0 && string(rb[8:n]) == "abcd"
	}
	if !ping("203.0.113.44") {
		t.Error("no echo reply from a far address whose Ping handler replied")
	}
	if ping("203.0.113.45") {
		t.Error("echo reply from a far address whose Ping handler did not reply")
	}
	if !ping(addrB.String()) {
		t.Error("the stack's own address does not answer pings")
	}
}
