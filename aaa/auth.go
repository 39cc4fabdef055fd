// SPDX-License-Identifier: MIT

package aaa

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc3162"

	"github.com/pptp-go/pptp/ppp/auth"
)

// Reply is what an Access-Accept decided for a session, besides the verdict.
type Reply struct {
	Grant          auth.Grant
	Netmask        netip.Addr
	Routes         []netip.Prefix // Framed-Route: networks behind the client
	SessionTimeout time.Duration
	IdleTimeout    time.Duration
	Interim        time.Duration // Acct-Interim-Interval
	Class          [][]byte
	MPPEPolicy     uint32   // MS-MPPE-Encryption-Policy (1 allowed, 2 required), 0 = absent
	MPPETypes      uint32   // MS-MPPE-Encryption-Types (bit 1: 40-bit, bit 2: 128-bit)
	Attrs          []string // "Name Value" lines for radattr
	Warnings       []string // attributes the reply had but this server cannot honour
}

// nasInfo is what every request of a session says about the NAS and the call.
type nasInfo struct {
	ip       netip.Addr
	id       string
	port     uint32
	calling  string // the client's address
	called   string // our address
	ifname   string
	sessID   string
	username string
}

func (n *nasInfo) add(p *radius.Packet) {
	if n.ip.Is4() {
		rfc2865.NASIPAddress_Set(p, n.ip.AsSlice())
	}
	if n.id != "" {
		rfc2865.NASIdentifier_SetString(p, n.id)
	}
	rfc2865.NASPort_Set(p, rfc2865.NASPort(n.port))
	rfc2865.NASPortType_Set(p, rfc2865.NASPortType_Value_Virtual)
	rfc2865.ServiceType_Set(p, rfc2865.ServiceType_Value_FramedUser)
	rfc2865.FramedProtocol_Set(p, rfc2865.FramedProtocol_Value_PPP)
	rfc2865.CallingStationID_SetString(p, n.calling)
	rfc2865.CalledStationID_SetString(p, n.called)
}

// buildAccess makes the Access-Request for one authentication attempt.
func buildAccess(req *auth.VerifyRequest, n *nasInfo, secret []byte) (*radius.Packet, error) {
	p := radius.New(radius.CodeAccessRequest, secret)
	if err := rfc2865.UserName_SetString(p, req.User); err != nil {
		return nil, err
	}
	n.add(p)
	switch req.Method {
	case auth.PAP:
		if err := rfc2865.UserPassword_Set(p, req.Password); err != nil {
			return nil, err
		}
	case auth.CHAPMD5:
		if len(req.Response) != 16 {
			return nil, errors.New("CHAP-MD5 response is not 16 bytes")
		}
		rfc2865.CHAPPassword_Set(p, append([]byte{req.ID}, req.Response...))
		rfc2865.CHAPChallenge_Set(p, req.Challenge)
	case auth.MSCHAPv1, auth.MSCHAPv2:
		if len(req.Response) != 49 {
			return nil, errors.New("MS-CHAP response is not 49 bytes")
		}
		if err := addVendor(p, msCHAPChallenge, req.Challenge); err != nil {
			return nil, err
		}
		// RFC 2548: Ident, Flags, then the response as PPP carries it less its flags byte.
		v := append([]byte{req.ID, req.Response[48]}, req.Response[:48]...)
		typ := byte(msCHAP2Response)
		if req.Method == auth.MSCHAPv1 {
			typ = msCHAPResponse
		}
		if err := addVendor(p, typ, v); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%v cannot go to RADIUS", req.Method)
	}
	addMA(p)
	return p, nil
}

// parseAccess turns the reply to req into a verdict and, on Accept, the session's
// values. It never trusts an attribute it cannot decode: a malformed key fails the login.
func parseAccess(reply, req *radius.Packet, m auth.Method) (*auth.Verdict, *Reply) {
	v := &auth.Verdict{}
	switch reply.Code {
	case radius.CodeAccessAccept:
	case radius.CodeAccessReject:
		if e, ok := vendorAttr(reply, msCHAPError); ok && len(e) > 1 {
			v.Message = string(e[1:]) // after the Ident byte
		}
		v.Err = errors.New("RADIUS Access-Reject")
		if msg := rfc2865.ReplyMessage_GetString(reply); msg != "" {
			v.Err = fmt.Errorf("RADIUS Access-Reject: %q", msg)
		}
		return v, nil
	default:
		v.Err = fmt.Errorf("RADIUS %v: not supported", reply.Code)
		return v, nil
	}
	r := &Reply{}
	fail := func(err error) (*auth.Verdict, *Reply) {
		return &auth.Verdict{Err: fmt.Errorf("RADIUS Access-Accept unusable: %w", err)}, nil
	}
	switch m {
	case auth.MSCHAPv2:
		s, ok := vendorAttr(reply, msCHAP2Success)
		if !ok || len(s) < 2 {
			return fail(errors.New("no MS-CHAP2-Success"))
		}
		v.Message = string(s[1:])
		if !strings.HasPrefix(v.Message, "S=") {
			return fail(errors.New("MS-CHAP2-Success without S="))
		}
		send, okS := vendorAttr(reply, msMPPESendKey)
		recv, okR := vendorAttr(reply, msMPPERecvKey)
		if okS && okR {
			sk, err1 := saltDecrypt(send, req.Secret, req.Authenticator)
			rk, err2 := saltDecrypt(recv, req.Secret, req.Authenticator)
			if err := errors.Join(err1, err2); err != nil {
				return fail(err)
			}
			if len(sk) < 16 || len(rk) < 16 {
				return fail(errors.New("MPPE keys shorter than 16 bytes"))
			}
			v.StartKeys = &auth.StartKeys{Send: [16]byte(sk[:16]), Recv: [16]byte(rk[:16])}
			r.Attrs = append(r.Attrs, "MS-MPPE-Send-Key (hidden)", "MS-MPPE-Recv-Key (hidden)")
		}
	case auth.MSCHAPv1:
		if k, ok := vendorAttr(reply, msCHAPMPPEKeys); ok {
			plain, err := hiddenDecrypt(k, req.Secret, req.Authenticator)
			if err != nil || len(plain) < 24 {
				return fail(errors.New("malformed MS-CHAP-MPPE-Keys"))
			}
			km := &auth.KeyMaterial{Method: auth.MSCHAPv1, PasswordHashHash: [16]byte(plain[8:24])}
			if ch, ok := vendorAttr(req, msCHAPChallenge); ok && len(ch) == 8 {
				km.Challenge = [8]byte(ch)
			}
			v.Keys = km
		}
	}
	v.OK = true
	if a, err := rfc2865.FramedIPAddress_Lookup(reply); err == nil {
		ip, _ := netip.AddrFromSlice(a)
		// 255.255.255.254: the NAS picks (our pool); 255.255.255.255: the client asks.
		if ip = ip.Unmap(); ip.Is4() && ip != netip.AddrFrom4([4]byte{255, 255, 255, 254}) && ip != netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
			r.Grant.PeerIP = ip
			r.Attrs = append(r.Attrs, "Framed-IP-Address "+ip.String())
		}
	}
	if a, err := rfc2865.FramedIPNetmask_Lookup(reply); err == nil {
		r.Netmask, _ = netip.AddrFromSlice(a)
		r.Netmask = r.Netmask.Unmap()
		r.Attrs = append(r.Attrs, "Framed-IP-Netmask "+r.Netmask.String())
	}
	if rs, err := rfc2865.FramedRoute_GetStrings(reply); err == nil {
		for _, s := range rs {
			r.Attrs = append(r.Attrs, "Framed-Route "+s)
			// RFC 2865 §5.22: "prefix/bits [gateway [metrics]]"; the route goes via the
			// session whatever the gateway says (0.0.0.0: the client itself).
			if f := strings.Fields(s); len(f) > 0 {
				if p, err := netip.ParsePrefix(f[0]); err == nil && p.Addr().Is4() {
					r.Routes = append(r.Routes, p.Masked())
				}
			}
		}
	}
	for _, typ := range []byte{msPrimaryDNS, msSecondaryDNS} {
		if a, ok := vendorAddr(reply, typ); ok {
			r.Grant.DNS = append(r.Grant.DNS, a)
			r.Attrs = append(r.Attrs, map[byte]string{msPrimaryDNS: "MS-Primary-DNS-Server ", msSecondaryDNS: "MS-Secondary-DNS-Server "}[typ]+a.String())
		}
	}
	if pfx, err := rfc3162.FramedIPv6Prefix_Lookup(reply); err == nil && pfx != nil {
		ones, _ := pfx.Mask.Size()
		a, _ := netip.AddrFromSlice(pfx.IP)
		p := netip.PrefixFrom(a, ones).Masked()
		r.Attrs = append(r.Attrs, "Framed-IPv6-Prefix "+p.String())
		// Router Advertisements make addresses (SLAAC) only from a /64 (RFC 4862 §5.5.3);
		// anything else stays in radattr but is not advertised.
		if p.Addr().Is6() && !p.Addr().Is4In6() && p.Bits() == 64 {
			r.Grant.IPv6Prefix = p
		} else {
			r.Warnings = append(r.Warnings, fmt.Sprintf("Framed-IPv6-Prefix %v is not a /64: not advertised", p))
		}
	}
	if a, ok := reply.Lookup(rfc3162.FramedInterfaceID_Type); ok {
		switch {
		case len(a) != 8:
			r.Warnings = append(r.Warnings, fmt.Sprintf("Framed-Interface-Id of %d bytes (not 8): ignored", len(a)))
		case [8]byte(a) == [8]byte{}:
			r.Warnings = append(r.Warnings, "Framed-Interface-Id 0:0:0:0 is no identifier (RFC 5072 §4.1): ignored")
		default:
			r.Grant.IPv6PeerID = [8]byte(a)
			r.Attrs = append(r.Attrs, "Framed-Interface-Id "+ifID(r.Grant.IPv6PeerID))
		}
	}
	if n, err := rfc2865.FramedMTU_Lookup(reply); err == nil && n >= 64 {
		r.Grant.MTU = int(n)
		r.Attrs = append(r.Attrs, fmt.Sprintf("Framed-MTU %d", n))
	}
	if n, err := rfc2865.SessionTimeout_Lookup(reply); err == nil && n > 0 {
		r.SessionTimeout = time.Duration(n) * time.Second
		r.Attrs = append(r.Attrs, fmt.Sprintf("Session-Timeout %d", n))
	}
	if n, err := rfc2865.IdleTimeout_Lookup(reply); err == nil && n > 0 {
		r.IdleTimeout = time.Duration(n) * time.Second
		r.Attrs = append(r.Attrs, fmt.Sprintf("Idle-Timeout %d", n))
	}
	if a, ok := reply.Lookup(85); ok && len(a) == 4 { // Acct-Interim-Interval (RFC 2869)
		n, _ := radius.Integer(a)
		// RFC 2869 §5.16: not less than 60 s in practice; we allow 1 s for tests but not 0.
		if n > 0 {
			r.Interim = time.Duration(n) * time.Second
			r.Attrs = append(r.Attrs, fmt.Sprintf("Acct-Interim-Interval %d", n))
		}
	}
	r.Class, _ = rfc2865.Class_Gets(reply)
	r.MPPEPolicy, _ = vendorInt(reply, msMPPEEncPolicy)
	r.Grant.RequireMPPE = r.MPPEPolicy == 2 // Encryption-Required
	r.MPPETypes, _ = vendorInt(reply, msMPPEEncTypes)
	v.Grant = &r.Grant
	return v, r
}

// authenticate sends one Access-Request (with fail-over) and parses the answer.
func (c *client) authenticate(ctx context.Context, req *auth.VerifyRequest, n *nasInfo) (*auth.Verdict, *Reply) {
	sent, reply, err := c.exchange(ctx, c.cfg.Auth, "authentication of "+fmt.Sprintf("%q", req.User), func(secret []byte) (*radius.Packet, error) {
		return buildAccess(req, n, secret)
	})
	if err != nil {
		return &auth.Verdict{Err: err}, nil
	}
	return parseAccess(reply, sent, req.Method)
}

// ifID writes an Interface-Identifier as FreeRADIUS does: four groups of hex digits.
func ifID(id [8]byte) string {
	return fmt.Sprintf("%x:%x:%x:%x", binary.BigEndian.Uint16(id[0:]), binary.BigEndian.Uint16(id[2:]),
		binary.BigEndian.Uint16(id[4:]), binary.BigEndian.Uint16(id[6:]))
}
