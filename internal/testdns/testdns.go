// SPDX-License-Identifier: MIT

// Package testdns is a DNS server for tests: it answers A (and AAAA) queries for the names it is
// given and NXDOMAIN for every other name.
package testdns

import (
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"strings"

	"golang.org/x/net/dns/dnsmessage"
)

// Serve answers queries on c until it is closed; names maps fully qualified names ("a.test.")
// to their IPv4 address.
func Serve(c net.PacketConn, names map[string]netip.Addr) {
	buf := make([]byte, 512)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return
		}
		if out, ok := answer(buf[:n], names); ok {
			c.WriteTo(out, from)
		}
	}
}

// ServeTCP answers queries over TCP (RFC 1035 section 4.2.2 framing) on ln until it is
// closed.
func ServeTCP(ln net.Listener, names map[string]netip.Addr) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			buf := make([]byte, 2+512)
			for {
				if _, err := io.ReadFull(c, buf[:2]); err != nil {
					return
				}
				n := int(binary.BigEndian.Uint16(buf))
				if n > 512 {
					return
				}
				if _, err := io.ReadFull(c, buf[2:2+n]); err != nil {
					return
				}
				out, ok := answer(buf[2:2+n], names)
				if !ok {
					return
				}
				c.Write(append([]byte{byte(len(out) >> 8), byte(len(out))}, out...))
			}
		}()
	}
}

func answer(query []byte, names map[string]netip.Addr) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
	}
	var addr netip.Addr
	known := false
	for name, a := range names {
		if strings.EqualFold(q.Name.String(), name) {
			addr, known = a, true
		}
	}
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired}
	if !known {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	b.StartQuestions()
	b.Question(q)
	rr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
	switch {
	case known && q.Type == dnsmessage.TypeA && addr.Is4():
		b.StartAnswers()
		b.AResource(rr, dnsmessage.AResource{A: addr.As4()})
	case known && q.Type == dnsmessage.TypeAAAA && addr.Is6():
		b.StartAnswers()
		b.AAAAResource(rr, dnsmessage.AAAAResource{AAAA: addr.As16()})
	}
	out, err := b.Finish()
	return out, err == nil
}
