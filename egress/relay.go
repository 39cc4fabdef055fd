// SPDX-License-Identifier: MIT

package egress

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// bufPool holds the copy buffers of flows: 32 KiB, gVisor's and Linux's socket read sizes.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// idleClock is the last time either direction of a flow moved data.
type idleClock struct{ last atomic.Int64 }

func (c *idleClock) touch() { c.last.Store(time.Now().UnixNano()) }
func (c *idleClock) idleFor(d time.Duration) bool {
	return time.Now().UnixNano()-c.last.Load() >= int64(d)
}

// pump copies src to dst until EOF, an error, or both directions idle for idle; a read
// deadline is set per idle period rather than per read.
func pump(dst, src net.Conn, clk *idleClock, idle time.Duration) error {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for {
		src.SetReadDeadline(time.Now().Add(idle))
		n, err := src.Read(buf)
		if n > 0 {
			clk.touch()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() && !clk.idleFor(idle) {
				continue // the other direction is busy
			}
			return err
		}
	}
}

// splice joins two TCP connections, half-closing each side as the other finishes.
func splice(a, b net.Conn, idle time.Duration) {
	var clk idleClock
	clk.touch()
	done := make(chan struct{})
	go func() {
		pump(b, a, &clk, idle)
		closeWrite(b)
		close(done)
	}()
	err := pump(a, b, &clk, idle)
	closeWrite(a)
	if err != nil { // not a clean EOF: end the other direction too
		a.Close()
		b.Close()
	}
	<-done
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		return
	}
	c.Close()
}

// relayUDP moves datagrams between two connected UDP sockets until both are idle.
func relayUDP(a, b net.Conn, idle time.Duration) {
	var clk idleClock
	clk.touch()
	done := make(chan struct{})
	go func() {
		pump(b, a, &clk, idle)
		b.Close()
		a.Close()
		close(done)
	}()
	pump(a, b, &clk, idle)
	a.Close()
	b.Close()
	<-done
}

// dnsOverTCP answers the DNS queries of datagram flow c over the stream up, each
// message framed by its 2-byte length (RFC 1035 section 4.2.2); queries are answered in
// order, one at a time.
func dnsOverTCP(c, up net.Conn, idle time.Duration) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	br := bufio.NewReader(up)
	for {
		c.SetReadDeadline(time.Now().Add(idle))
		n, err := c.Read(buf[2:])
		if err != nil {
			return
		}
		binary.BigEndian.PutUint16(buf, uint16(n))
		up.SetDeadline(time.Now().Add(dialTimeout))
		if _, err := up.Write(buf[:2+n]); err != nil {
			return
		}
		if _, err := io.ReadFull(br, buf[:2]); err != nil {
			return
		}
		m := int(binary.BigEndian.Uint16(buf))
		if m > len(buf) {
			return
		}
		if _, err := io.ReadFull(br, buf[:m]); err != nil {
			return
		}
		if _, err := c.Write(buf[:m]); err != nil {
			return
		}
	}
}

// systemResolvers reads the nameservers of /etc/resolv.conf (port 53).
func systemResolvers() []netip.AddrPort {
	b, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return nil
	}
	return parseResolvConf(string(b))
}

func parseResolvConf(text string) []netip.AddrPort {
	var out []netip.AddrPort
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			if a, err := netip.ParseAddr(f[1]); err == nil {
				out = append(out, netip.AddrPortFrom(a.Unmap(), 53))
			}
		}
	}
	return out
}
