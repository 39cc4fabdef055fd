// SPDX-License-Identifier: MIT

package aaa

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"net/netip"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"
)

// Microsoft's vendor ID and the RFC 2548 attributes we use.
const (
	vendorMicrosoft       = 311
	msCHAPResponse        = 1
	msCHAPError           = 2
	msMPPEEncPolicy       = 7
	msMPPEEncTypes        = 8
	msCHAPChallenge       = 11
	msCHAPMPPEKeys        = 12
	msMPPESendKey         = 16
	msMPPERecvKey         = 17
	msCHAP2Response       = 25
	msCHAP2Success        = 26
	msPrimaryDNS          = 28
	msSecondaryDNS        = 29
	messageAuthenticatorT = rfc2869.MessageAuthenticator_Type
)

var errNoMA = errors.New("no Message-Authenticator")

// addVendor appends a vendor-specific attribute of Microsoft's.
func addVendor(p *radius.Packet, typ byte, value []byte) error {
	if len(value) > 247 {
		return errors.New("vendor attribute too long")
	}
	v := append([]byte{typ, byte(2 + len(value))}, value...)
	a, err := radius.NewVendorSpecific(vendorMicrosoft, v)
	if err != nil {
		return err
	}
	p.Add(rfc2865.VendorSpecific_Type, a)
	return nil
}

// vendorAttr finds Microsoft attribute typ in p (the first one).
func vendorAttr(p *radius.Packet, typ byte) ([]byte, bool) {
	for _, avp := range p.Attributes {
		if avp.Type != rfc2865.VendorSpecific_Type {
			continue
		}
		id, vsa, err := radius.VendorSpecific(avp.Attribute)
		if err != nil || id != vendorMicrosoft {
			continue
		}
		for len(vsa) >= 2 {
			t, l := vsa[0], int(vsa[1])
			if l < 2 || l > len(vsa) {
				break
			}
			if t == typ {
				return vsa[2:l], true
			}
			vsa = vsa[l:]
		}
	}
	return nil, false
}

// vendorAddr reads an ipaddr vendor attribute.
func vendorAddr(p *radius.Packet, typ byte) (netip.Addr, bool) {
	v, ok := vendorAttr(p, typ)
	if !ok || len(v) != 4 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4([4]byte(v)), true
}

// vendorInt reads an integer vendor attribute.
func vendorInt(p *radius.Packet, typ byte) (uint32, bool) {
	v, ok := vendorAttr(p, typ)
	if !ok || len(v) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(v), true
}

// saltDecrypt undoes RFC 2548 §2.4.2 (MS-MPPE-Send-Key / -Recv-Key): salt, then the
// length-prefixed key hidden as RFC 2868 hides Tunnel-Password, which the library does.
func saltDecrypt(a, secret []byte, reqAuth [16]byte) ([]byte, error) {
	if len(a) < 2+16 || (len(a)-2)%16 != 0 || a[0]&0x80 == 0 {
		return nil, errors.New("malformed salt-encrypted attribute")
	}
	key, _, err := radius.TunnelPassword(a, secret, reqAuth[:])
	return key, err
}

// hiddenDecrypt undoes RFC 2865 §5.2 hiding without dropping trailing zeros (RFC 2548
// MS-CHAP-MPPE-Keys: 24 bytes of key, padded to 32).
func hiddenDecrypt(a, secret []byte, reqAuth [16]byte) ([]byte, error) {
	if len(a) < 16 || len(a)%16 != 0 {
		return nil, errors.New("malformed hidden attribute")
	}
	out := make([]byte, len(a))
	last := reqAuth[:]
	for i := 0; i < len(a); i += 16 {
		h := md5.New()
		h.Write(secret)
		h.Write(last)
		b := h.Sum(nil)
		for j := range 16 {
			out[i+j] = a[i+j] ^ b[j]
		}
		last = a[i : i+16]
	}
	return out, nil
}

// findMA returns the offset of the Message-Authenticator value in wire, or -1.
func findMA(wire []byte) int {
	if len(wire) < 20 {
		return -1
	}
	n := min(int(binary.BigEndian.Uint16(wire[2:4])), len(wire))
	for i := 20; i+2 <= n; {
		l := int(wire[i+1])
		if l < 2 || i+l > n {
			return -1
		}
		if wire[i] == byte(messageAuthenticatorT) {
			if l != 18 {
				return -1
			}
			return i + 2
		}
		i += l
	}
	return -1
}

// messageAuth is RFC 3579 §3.2's HMAC-MD5 over wire with the Message-Authenticator value
// zeroed and the Authenticator field replaced by auth.
func messageAuth(wire, secret []byte, off int, auth []byte) []byte {
	b := append([]byte(nil), wire...)
	copy(b[4:20], auth)
	clear(b[off : off+16])
	m := hmac.New(md5.New, secret)
	m.Write(b)
	return m.Sum(nil)
}

// signRequest fills the Message-Authenticator of an encoded Access-Request (its own
// authenticator) or of a Disconnect/CoA/Accounting request (zero authenticator, RFC 5176
// §3.5), before the request authenticator of the latter is computed.
func signRequest(wire, secret []byte, zeroAuth bool) {
	off := findMA(wire)
	if off < 0 {
		return
	}
	auth := wire[4:20]
	if zeroAuth {
		auth = make([]byte, 16)
	}
	copy(wire[off:off+16], messageAuth(wire, secret, off, auth))
}

// checkMA verifies the Message-Authenticator of wire, computed with auth in the
// Authenticator field (a reply: the request's authenticator; a DAE request: zeros).
func checkMA(wire, secret []byte, auth []byte) error {
	off := findMA(wire)
	if off < 0 {
		return errNoMA
	}
	if !hmac.Equal(wire[off:off+16], messageAuth(wire, secret, off, auth)) {
		return errors.New("bad Message-Authenticator")
	}
	return nil
}
