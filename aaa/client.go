// SPDX-License-Identifier: MIT

package aaa

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2869"
)

// ErrNoServer is returned when no server answered in time.
var ErrNoServer = errors.New("no RADIUS server answered")

// client sends requests to a list of servers in order, each tried Retries times with
// Timeout per try, and checks replies (identifier, Response Authenticator,
// Message-Authenticator) before trusting them.
type client struct {
	cfg  *Config
	logf func(format string, args ...any)

	mu   sync.Mutex
	dead map[string]time.Time // server → when it last failed (radius_deadtime)
}

// order puts the servers that failed within the dead time last (in their order), so a
// dead first server does not cost every login its timeout; when all failed, all are
// still tried.
func (c *client) order(servers []Server) []Server {
	if c.cfg.DeadTime <= 0 || len(servers) < 2 {
		return servers
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var alive, dead []Server
	for _, s := range servers {
		if t, ok := c.dead[s.Addr]; ok && time.Since(t) < c.cfg.DeadTime {
			dead = append(dead, s)
		} else {
			alive = append(alive, s)
		}
	}
	return append(alive, dead...)
}

func (c *client) markDead(s Server, dead bool) {
	if c.cfg.DeadTime <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !dead {
		delete(c.dead, s.Addr)
		return
	}
	if c.dead == nil {
		c.dead = map[string]time.Time{}
	}
	c.dead[s.Addr] = time.Now()
}

// exchange builds the request for each server's secret with build, sends it and
// returns the first authentic reply. The worst case is Config.Bound(servers).
func (c *client) exchange(ctx context.Context, servers []Server, what string, build func(secret []byte) (*radius.Packet, error)) (*radius.Packet, *radius.Packet, error) {
	var errs []error
	for _, srv := range c.order(servers) {
		req, err := build(srv.Secret)
		if err != nil {
			return nil, nil, err
		}
		reply, err := c.try(ctx, srv, req)
		if err == nil {
			c.markDead(srv, false)
			return req, reply, nil
		}
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		c.markDead(srv, true)
		c.logf("RADIUS %s: server %s: %v", what, srv, err)
		errs = append(errs, fmt.Errorf("%s: %w", srv, err))
	}
	return nil, nil, fmt.Errorf("%w (%s, %d servers, %d tries of %v each): %w", ErrNoServer, what, len(servers), c.cfg.Retries, c.cfg.Timeout, errors.Join(errs...))
}

// encode encodes req, filling its Message-Authenticator when it has one.
func encode(req *radius.Packet) ([]byte, error) {
	wire, err := req.Encode()
	if err != nil {
		return nil, err
	}
	if findMA(wire) >= 0 {
		if req.Code == radius.CodeAccessRequest {
			signRequest(wire, req.Secret, false)
		} else {
			// The request authenticator covers the attributes: sign, then hash again.
			signRequest(wire, req.Secret, true)
			p, err := radius.Parse(wire, req.Secret)
			if err != nil {
				return nil, err
			}
			return p.Encode()
		}
	}
	return wire, nil
}

func (c *client) try(ctx context.Context, srv Server, req *radius.Packet) (*radius.Packet, error) {
	wire, err := encode(req)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	if c.cfg.Bind.IsValid() {
		d.LocalAddr = &net.UDPAddr{IP: c.cfg.Bind.AsSlice()}
	}
	conn, err := d.DialContext(ctx, "udp", srv.Addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	buf := make([]byte, radius.MaxPacketLength)
	var lastErr error = errors.New("no reply")
	for range c.cfg.Retries {
		if _, err := conn.Write(wire); err != nil {
			lastErr = err
			// ICMP port unreachable from an earlier try: wait out the try anyway, so a
			// server coming back is found within the bound.
		}
		deadline := time.Now().Add(c.cfg.Timeout)
		conn.SetReadDeadline(deadline)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					lastErr = fmt.Errorf("no reply in %v", c.cfg.Timeout)
					break
				}
				lastErr = err // connection refused: the port is closed; wait out the try
				select {
				case <-time.After(time.Until(deadline)):
				case <-ctx.Done():
					return nil, ctx.Err()
				}
				break
			}
			reply, err := checkReply(buf[:n], wire, req)
			if err != nil {
				c.logf("RADIUS: reply from %s dropped: %v", srv, err)
				continue
			}
			return reply, nil
		}
	}
	return nil, lastErr
}

// checkReply parses and authenticates a reply to req (sent as wire).
func checkReply(b, wire []byte, req *radius.Packet) (*radius.Packet, error) {
	if len(b) < 20 || b[1] != wire[1] {
		return nil, errors.New("not a reply to our request")
	}
	p, err := radius.Parse(b, req.Secret)
	if err != nil {
		return nil, err
	}
	if !radius.IsAuthenticResponse(b, wire, req.Secret) {
		return nil, errors.New("bad Response Authenticator")
	}
	switch err := checkMA(b, req.Secret, wire[4:20]); {
	case err == nil:
	case errors.Is(err, errNoMA) && req.Code != radius.CodeAccessRequest:
		// Accounting replies need none (RFC 3579 §3.2 is about Access-*).
	default:
		return nil, err
	}
	if !bytes.Equal(p.Authenticator[:], b[4:20]) {
		return nil, errors.New("parse mismatch")
	}
	return p, nil
}

// addMA adds an empty Message-Authenticator for encode to fill.
func addMA(p *radius.Packet) {
	rfc2869.MessageAuthenticator_Set(p, make([]byte, 16))
}
