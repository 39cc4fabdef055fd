// SPDX-License-Identifier: MIT

package proxy

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// Upstream is a proxy that connections are sent on through: what pptpd's egress-proxy
// names. DialUDP fails with ErrNoUDP where the proxy cannot carry datagrams.
type Upstream interface {
	DialTCP(ctx context.Context, dst netip.AddrPort) (net.Conn, error)
	DialUDP(ctx context.Context, dst netip.AddrPort) (net.Conn, error)
	CarriesUDP() bool // whether DialUDP can work at all
	String() string   // the proxy's URL without its password
}

// ErrNoUDP is DialUDP's error for a proxy that carries only TCP (HTTP CONNECT).
var ErrNoUDP = errors.New("the proxy carries no UDP")

// ParseUpstream reads "socks5://[user:password@]host:port" (RFC 1928, with RFC 1929
// authentication when a user is given) or "http://[user:password@]host:port" (CONNECT).
func ParseUpstream(raw string) (Upstream, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("proxy URL: %w", err)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("proxy URL %q: only scheme://[user:password@]host:port", u.Redacted())
	}
	if u.Port() == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("proxy URL %q: needs host:port", u.Redacted())
	}
	if _, err := strconv.ParseUint(u.Port(), 10, 16); err != nil {
		return nil, fmt.Errorf("proxy URL %q: bad port %q", u.Redacted(), u.Port())
	}
	p := peer{addr: u.Host, shown: u.Redacted()}
	if u.User != nil {
		p.user = u.User.Username()
		p.pass, _ = u.User.Password()
		if len(p.user) > 255 || len(p.pass) > 255 {
			return nil, fmt.Errorf("proxy URL %q: user name and password are at most 255 bytes", u.Redacted())
		}
	}
	switch u.Scheme {
	case "socks5", "socks5h":
		return &SOCKS5Upstream{p}, nil
	case "http":
		return &HTTPUpstream{p}, nil
	}
	return nil, fmt.Errorf("proxy URL %q: scheme %q is not socks5 or http", u.Redacted(), u.Scheme)
}

type peer struct {
	addr, user, pass string
	shown            string
}

func (p peer) String() string { return p.shown }

func (p peer) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, fmt.Errorf("proxy %s: %w", p.shown, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl) // the handshake, not the connection, is bounded by ctx
	}
	return c, nil
}

// SOCKS5Upstream is a SOCKS5 proxy (RFC 1928): CONNECT for TCP, UDP ASSOCIATE for UDP.
type SOCKS5Upstream struct{ peer }

// SOCKS5 reply codes (RFC 1928 section 6) in words.
var socksReplies = [...]string{
	1: "general SOCKS server failure", 2: "connection not allowed by ruleset",
	3: "network unreachable", 4: "host unreachable", 5: "connection refused",
	6: "TTL expired", 7: "command not supported", 8: "address type not supported",
}

// SOCKSError is a SOCKS5 server's refusal.
type SOCKSError struct{ Code byte }

func (e *SOCKSError) Error() string {
	if int(e.Code) < len(socksReplies) && socksReplies[e.Code] != "" {
		return "SOCKS5: " + socksReplies[e.Code]
	}
	return fmt.Sprintf("SOCKS5: reply code %d", e.Code)
}

// handshake opens a control connection and sends cmd for dst; it returns the server's
// bound address.
func (s *SOCKS5Upstream) handshake(ctx context.Context, cmd byte, dst netip.AddrPort) (net.Conn, netip.AddrPort, error) {
	c, err := s.dial(ctx)
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	fail := func(err error) (net.Conn, netip.AddrPort, error) {
		c.Close()
		return nil, netip.AddrPort{}, fmt.Errorf("proxy %s: %w", s.shown, err)
	}
	method := byte(0) // no authentication
	if s.user != "" {
		method = 2 // user name and password, RFC 1929
	}
	if _, err := c.Write([]byte{5, 1, method}); err != nil {
		return fail(err)
	}
	var b [2]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return fail(err)
	}
	if err := checkMethod(b, method); err != nil {
		return fail(err)
	}
	if method == 2 {
		req := append([]byte{1, byte(len(s.user))}, s.user...)
		req = append(append(req, byte(len(s.pass))), s.pass...)
		if _, err := c.Write(req); err != nil {
			return fail(err)
		}
		if _, err := io.ReadFull(c, b[:]); err != nil {
			return fail(err)
		}
		if b[1] != 0 {
			return fail(errors.New("SOCKS5: user name and password refused"))
		}
	}
	req := appendSOCKSAddr([]byte{5, cmd, 0}, dst)
	if _, err := c.Write(req); err != nil {
		return fail(err)
	}
	bound, err := readReply(bufio.NewReaderSize(c, 16))
	if err != nil {
		return fail(err)
	}
	c.SetDeadline(time.Time{})
	return c, bound, nil
}

// appendSOCKSAddr appends ATYP, DST.ADDR and DST.PORT for a (RFC 1928 §5: 1 for IPv4, 4 for
// IPv6; an IPv4-mapped address goes as IPv4).
func appendSOCKSAddr(b []byte, a netip.AddrPort) []byte {
	if ip := a.Addr().Unmap(); ip.Is4() {
		v := ip.As4()
		b = append(append(b, 1), v[:]...)
	} else {
		v := ip.As16()
		b = append(append(b, 4), v[:]...)
	}
	return append(b, byte(a.Port()>>8), byte(a.Port()))
}

func checkMethod(b [2]byte, want byte) error {
	switch {
	case b[0] != 5:
		return fmt.Errorf("not a SOCKS5 server (version %d)", b[0])
	case b[1] == 0xff:
		return errors.New("SOCKS5: no acceptable authentication method (does it need a user name and password?)")
	case b[1] != want:
		return fmt.Errorf("SOCKS5: server chose method %d, not the %d asked for", b[1], want)
	}
	return nil
}

// readReply reads a SOCKS5 reply: VER REP RSV ATYP BND.ADDR BND.PORT. Domain-name bound
// addresses (allowed, never seen for IP destinations) come back as the zero address.
func readReply(r io.Reader) (netip.AddrPort, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return netip.AddrPort{}, err
	}
	if h[0] != 5 {
		return netip.AddrPort{}, fmt.Errorf("SOCKS5: reply version %d", h[0])
	}
	if h[1] != 0 {
		return netip.AddrPort{}, &SOCKSError{h[1]}
	}
	a, err := readAddr(r, h[3])
	return a, err
}

// readAddr reads an address of type atyp and a port.
func readAddr(r io.Reader, atyp byte) (netip.AddrPort, error) {
	var buf [255 + 2]byte
	var n int
	switch atyp {
	case 1:
		n = 4
	case 4:
		n = 16
	case 3:
		if _, err := io.ReadFull(r, buf[:1]); err != nil {
			return netip.AddrPort{}, err
		}
		n = int(buf[0])
	default:
		return netip.AddrPort{}, fmt.Errorf("SOCKS5: address type %d", atyp)
	}
	if _, err := io.ReadFull(r, buf[:n+2]); err != nil {
		return netip.AddrPort{}, err
	}
	port := binary.BigEndian.Uint16(buf[n:])
	if atyp == 3 {
		return netip.AddrPortFrom(netip.Addr{}, port), nil
	}
	a, _ := netip.AddrFromSlice(buf[:n])
	return netip.AddrPortFrom(a.Unmap(), port), nil
}

// CarriesUDP is true: SOCKS5 has UDP ASSOCIATE (the server may still refuse it).
func (s *SOCKS5Upstream) CarriesUDP() bool { return true }

// DialTCP connects to dst through the proxy.
func (s *SOCKS5Upstream) DialTCP(ctx context.Context, dst netip.AddrPort) (net.Conn, error) {
	c, _, err := s.handshake(ctx, 1, dst)
	return c, err
}

// DialUDP associates a UDP relay for datagrams to and from dst. The association lives as
// long as its control connection, which the returned Conn's Close ends.
func (s *SOCKS5Upstream) DialUDP(ctx context.Context, dst netip.AddrPort) (net.Conn, error) {
	ctl, relay, err := s.handshake(ctx, 3, netip.AddrPortFrom(netip.IPv4Unspecified(), 0))
	if err != nil {
		return nil, err
	}
	if !relay.Addr().IsValid() || relay.Addr().IsUnspecified() {
		// "0.0.0.0": the relay is on the proxy's own address.
		if pa, err := netip.ParseAddrPort(ctl.RemoteAddr().String()); err == nil {
			relay = netip.AddrPortFrom(pa.Addr().Unmap(), relay.Port())
		}
	}
	u, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(relay))
	if err != nil {
		ctl.Close()
		return nil, fmt.Errorf("proxy %s: UDP relay %v: %w", s.shown, relay, err)
	}
	sc := &socksUDPConn{UDPConn: u, ctl: ctl, dst: dst}
	go sc.watch()
	return sc, nil
}

// socksUDPConn is a UDP flow through a SOCKS5 relay: each datagram carries the RFC 1928
// section 7 header, added on Write and checked and removed on Read.
type socksUDPConn struct {
	*net.UDPConn
	ctl  net.Conn
	dst  netip.AddrPort
	once sync.Once

	wmu, rmu   sync.Mutex
	wbuf, rbuf []byte // datagram buffers with room for the header
}

// watch ends the flow when the proxy ends the association (closes the control connection).
func (c *socksUDPConn) watch() {
	io.Copy(io.Discard, c.ctl)
	c.Close()
}

func (c *socksUDPConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if cap(c.wbuf) < 22+len(p) {
		c.wbuf = make([]byte, 22+max(len(p), 2048)) // an IPv6 destination header is 22 bytes
	}
	b := appendSOCKSAddr(append(c.wbuf[:0], 0, 0, 0), c.dst)
	b = append(b, p...)
	if _, err := c.UDPConn.Write(b); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *socksUDPConn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if len(c.rbuf) < 22+len(p) {
		c.rbuf = make([]byte, 22+max(len(p), 2048)) // an IPv6 source header is 22 bytes
	}
	b := c.rbuf
	for {
		n, err := c.UDPConn.Read(b)
		if err != nil {
			return 0, err
		}
		from, payload, ok := ParseSOCKSDatagram(b[:n])
		if !ok || from != c.dst {
			continue // not ours, fragmented, or malformed: dropped as a UDP stack would
		}
		return copy(p, payload), nil
	}
}

func (c *socksUDPConn) Close() error {
	var err error
	c.once.Do(func() {
		err = c.UDPConn.Close()
		c.ctl.Close()
	})
	return err
}

// ParseSOCKSDatagram splits a datagram from a SOCKS5 UDP relay into its source and payload;
// ok is false for a fragment (FRAG ≠ 0, which we do not reassemble), a domain-name source,
// or a malformed header.
func ParseSOCKSDatagram(b []byte) (from netip.AddrPort, payload []byte, ok bool) {
	if len(b) < 4 || b[0] != 0 || b[1] != 0 || b[2] != 0 {
		return netip.AddrPort{}, nil, false
	}
	var n int
	switch b[3] {
	case 1:
		n = 4
	case 4:
		n = 16
	default:
		return netip.AddrPort{}, nil, false
	}
	if len(b) < 4+n+2 {
		return netip.AddrPort{}, nil, false
	}
	a, _ := netip.AddrFromSlice(b[4 : 4+n])
	port := binary.BigEndian.Uint16(b[4+n:])
	return netip.AddrPortFrom(a.Unmap(), port), b[4+n+2:], true
}

// HTTPUpstream is an HTTP proxy reached with CONNECT; it carries TCP only.
type HTTPUpstream struct{ peer }

// DialTCP connects to dst with CONNECT.
func (h *HTTPUpstream) DialTCP(ctx context.Context, dst netip.AddrPort) (net.Conn, error) {
	c, err := h.dial(ctx)
	if err != nil {
		return nil, err
	}
	req := "CONNECT " + dst.String() + " HTTP/1.1\r\nHost: " + dst.String() + "\r\n"
	if h.user != "" {
		req += "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(h.user+":"+h.pass)) + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		c.Close()
		return nil, fmt.Errorf("proxy %s: %w", h.shown, err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("proxy %s: %w", h.shown, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		c.Close()
		return nil, fmt.Errorf("proxy %s: CONNECT %v: %s", h.shown, dst, resp.Status)
	}
	c.SetDeadline(time.Time{})
	if br.Buffered() > 0 { // the far side spoke first, in the same segment as the reply
		return &bufferedConn{Conn: c, r: br}, nil
	}
	return c, nil
}

// CarriesUDP is false: CONNECT carries TCP only.
func (h *HTTPUpstream) CarriesUDP() bool { return false }

// DialUDP fails: CONNECT carries TCP only.
func (h *HTTPUpstream) DialUDP(context.Context, netip.AddrPort) (net.Conn, error) {
	return nil, ErrNoUDP
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// CloseWrite half-closes, as the TCP connection underneath does.
func (c *bufferedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
