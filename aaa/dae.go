// SPDX-License-Identifier: MIT

package aaa

import (
	"context"
	"errors"
	"log"
	"net"
	"net/netip"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc2869"
	"layeh.com/radius/rfc3576"
)

// Error-Cause values (RFC 5176 §3.6) we send in NAKs.
const (
	causeMissingAttribute = 402
	causeNASMismatch      = 403
	causeInvalidRequest   = 404
	causeUnsupported      = 405
	causeNotFound         = 503
)

// daeSecrets gives the secret of a Disconnect/CoA client: the servers file's entry for
// its address, else the first authentication server's.
type daeSecrets struct{ r *RADIUS }

func (d daeSecrets) RADIUSSecret(_ context.Context, remote net.Addr) ([]byte, error) {
	host, _, _ := net.SplitHostPort(remote.String())
	for _, list := range [][]Server{d.r.cfg.Auth, d.r.cfg.Acct} {
		for _, s := range list {
			if h, _, _ := net.SplitHostPort(s.Addr); h == host {
				return s.Secret, nil
			}
		}
	}
	if len(d.r.cfg.Auth) > 0 {
		return d.r.cfg.Auth[0].Secret, nil
	}
	return nil, errors.New("no secret")
}

// ServeDAE answers Disconnect-Request and CoA-Request (RFC 5176) on conn until ctx ends.
// Requests are authenticated by their Request Authenticator and, when present (RFC 5176
// §3.5 makes it optional), their Message-Authenticator.
func (r *RADIUS) ServeDAE(ctx context.Context, conn net.PacketConn) error {
	srv := &radius.PacketServer{
		SecretSource: daeSecrets{r},
		Handler:      radius.HandlerFunc(r.serveDAE),
		ErrorLog:     log.New(logWriter{r.logf}, "RADIUS DAE: ", 0),
	}
	stop := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		conn.Close()
	})
	defer stop()
	err := srv.Serve(conn)
	if errors.Is(err, radius.ErrServerShutdown) || ctx.Err() != nil {
		return nil
	}
	return err
}

type logWriter struct{ logf func(string, ...any) }

func (w logWriter) Write(b []byte) (int, error) {
	w.logf("%s", string(b))
	return len(b), nil
}

func (r *RADIUS) serveDAE(w radius.ResponseWriter, req *radius.Request) {
	var ack, nak radius.Code
	switch req.Code {
	case radius.CodeDisconnectRequest:
		ack, nak = radius.CodeDisconnectACK, radius.CodeDisconnectNAK
	case radius.CodeCoARequest:
		ack, nak = radius.CodeCoAACK, radius.CodeCoANAK
	default:
		r.logf("RADIUS DAE: %v from %v ignored", req.Code, req.RemoteAddr)
		return
	}
	answer := func(code radius.Code, cause uint32) {
		resp := req.Response(code)
		if cause != 0 {
			rfc3576.ErrorCause_Set(resp, rfc3576.ErrorCause(cause))
		}
		signResponse(resp, req.Authenticator)
		if err := w.Write(resp); err != nil {
			r.logf("RADIUS DAE: answering %v: %v", req.RemoteAddr, err)
		}
	}
	if wire, err := req.MarshalBinary(); err != nil {
		return
	} else if err := checkMA(wire, req.Secret, make([]byte, 16)); err != nil && !errors.Is(err, errNoMA) {
		r.logf("RADIUS DAE: %v from %v dropped: %v", req.Code, req.RemoteAddr, err)
		return
	}
	if id := rfc2865.NASIdentifier_GetString(req.Packet); id != "" && id != r.cfg.NASIdentifier {
		answer(nak, causeNASMismatch)
		return
	}
	user := rfc2865.UserName_GetString(req.Packet)
	sessID := rfc2866.AcctSessionID_GetString(req.Packet)
	var ip netip.Addr
	if a, err := rfc2865.FramedIPAddress_Lookup(req.Packet); err == nil {
		ip, _ = netip.AddrFromSlice(a)
		ip = ip.Unmap()
	}
	if user == "" && sessID == "" && !ip.IsValid() {
		answer(nak, causeMissingAttribute)
		return
	}
	found := r.find(user, sessID, ip)
	if len(found) == 0 {
		addr := "none"
		if ip.IsValid() {
			addr = ip.String()
		}
		r.logf("RADIUS DAE: %v from %v: no such session (user %q, session %q, address %s)", req.Code, req.RemoteAddr, user, sessID, addr)
		answer(nak, causeNotFound)
		return
	}
	if req.Code == radius.CodeDisconnectRequest {
		for _, s := range found {
			go s.end(ErrAdminReset)
		}
		answer(ack, 0)
		return
	}
	to, err := rfc2865.SessionTimeout_Lookup(req.Packet)
	if err != nil {
		answer(nak, causeUnsupported) // the one change we make is Session-Timeout
		return
	}
	for _, s := range found {
		s.setSessionTimeout(time.Duration(to) * time.Second)
	}
	answer(ack, 0)
}

// setSessionTimeout counts a new Session-Timeout from the session's start (CoA).
func (s *sess) setSessionTimeout(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return
	}
	if s.sessTO != nil {
		s.sessTO.Stop()
	}
	left := max(time.Until(s.start.Add(d)), 0)
	s.r.logf("%s: RADIUS CoA: Session-Timeout %v (%v left)", s.nas.ifname, d, left.Round(time.Second))
	s.sessTO = time.AfterFunc(left, func() { s.end(ErrSessionTimeout) })
}

// signResponse adds a Message-Authenticator to a reply (RFC 3579 §3.2: computed with the
// request's authenticator in the field), before the library computes the Response
// Authenticator over it.
func signResponse(p *radius.Packet, reqAuth [16]byte) {
	rfc2869.MessageAuthenticator_Set(p, make([]byte, 16))
	wire, err := p.MarshalBinary()
	if err != nil {
		return
	}
	off := findMA(wire)
	if off < 0 {
		return
	}
	rfc2869.MessageAuthenticator_Set(p, messageAuth(wire, p.Secret, off, reqAuth[:]))
}
