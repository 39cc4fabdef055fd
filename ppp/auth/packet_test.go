// SPDX-License-Identifier: MIT

package auth

import (
	"bytes"
	"testing"
)

func TestParseCHAP(t *testing.T) {
	// A Challenge as pppd sent it in chapmd5-nomppe.pcap (23-byte value, name "pptpd").
	// The trailing EE is padding beyond Length and must be dropped.
	ch := unhex(t, "01 43 00 21 17 0bcad1c4dc70982718b03c537e12f8fd8e626ebc1e81a2 7070747064 EE")
	p, err := ParseCHAP(ch)
	if err != nil {
		t.Fatal(err)
	}
	if p.Code() != CHAPChallenge || p.Identifier() != 0x43 || p.Length() != 0x21 || len(p) != 0x21 {
		t.Errorf("header: code %d id %#x length %d len %d", p.Code(), p.Identifier(), p.Length(), len(p))
	}
	if !bytes.Equal(p.Value(), unhex(t, "0bcad1c4dc70982718b03c537e12f8fd8e626ebc1e81a2")) || string(p.Name()) != "pptpd" {
		t.Errorf("value %x name %q", p.Value(), p.Name())
	}
	if p.Message() != nil {
		t.Error("Message of a Challenge not nil")
	}
	s, err := ParseCHAP([]byte("\x03\x43\x00\x12Access granted"))
	if err != nil {
		t.Fatal(err)
	}
	if string(s.Message()) != "Access granted" || s.Value() != nil || s.Name() != nil {
		t.Errorf("success: msg %q value %x name %q", s.Message(), s.Value(), s.Name())
	}
	if f, err := ParseCHAP([]byte{4, 1, 0, 4}); err != nil || len(f.Message()) != 0 {
		t.Errorf("empty Failure: %v", err)
	}

	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short header", []byte{1, 1, 0}},
		{"length below 4", []byte{3, 1, 0, 3}},
		{"length beyond buffer", []byte{3, 1, 0, 6, 'x'}},
		{"code 0", []byte{0, 1, 0, 4}},
		{"code 5", []byte{5, 1, 0, 4}},
		{"challenge without value size", []byte{1, 1, 0, 4}},
		{"value size 0", []byte{1, 1, 0, 6, 0, 'n'}},
		{"value truncated", []byte{1, 1, 0, 7, 3, 1, 2}},
		{"value runs past Length (bytes beyond are padding)", []byte{1, 1, 0, 6, 2, 1, 2, 'n'}},
		{"no name", []byte{2, 1, 0, 7, 2, 1, 2}},
	} {
		if _, err := ParseCHAP(tc.b); err == nil {
			t.Errorf("%s: ParseCHAP(%x) succeeded", tc.name, tc.b)
		}
	}
}

func TestParsePAP(t *testing.T) {
	// As in pap-nomppe.pcap: user "test", password "test".
	req := []byte("\x01\x01\x00\x0e\x04test\x04test")
	p, err := ParsePAP(req)
	if err != nil {
		t.Fatal(err)
	}
	if p.Code() != PAPAuthRequest || p.Identifier() != 1 || p.Length() != 14 ||
		string(p.PeerID()) != "test" || string(p.Password()) != "test" || p.Message() != nil {
		t.Errorf("request parsed as %x: %q %q", []byte(p), p.PeerID(), p.Password())
	}
	if p, err := ParsePAP([]byte("\x01\x02\x00\x06\x00\x00")); err != nil || len(p.PeerID()) != 0 || len(p.Password()) != 0 {
		t.Errorf("empty peer-id and password: %v", err)
	}
	a, err := ParsePAP([]byte("\x02\x01\x00\x0d\x08Login ok"))
	if err != nil || string(a.Message()) != "Login ok" || a.PeerID() != nil || a.Password() != nil {
		t.Errorf("ack: %v %q", err, a.Message())
	}
	if n, err := ParsePAP([]byte{3, 1, 0, 4}); err != nil || n.Message() != nil {
		t.Errorf("Nak without Msg-Length: %v", err)
	}
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"length beyond buffer", []byte{1, 1, 0, 9, 0, 0}},
		{"code 4", []byte{4, 1, 0, 4}},
		{"request without peer-id length", []byte{1, 1, 0, 4}},
		{"peer-id truncated", []byte("\x01\x01\x00\x08\x04tes")},
		{"no password length", []byte("\x01\x01\x00\x09\x04test")},
		{"password truncated", []byte("\x01\x01\x00\x0d\x04test\x04tes")},
		{"password beyond Length", []byte("\x01\x01\x00\x0d\x04test\x04test")},
		{"message truncated", []byte("\x02\x01\x00\x07\x08Lo")},
	} {
		if _, err := ParsePAP(tc.b); err == nil {
			t.Errorf("%s: ParsePAP(%x) succeeded", tc.name, tc.b)
		}
	}
}

func TestBuildersRoundTrip(t *testing.T) {
	b, err := AppendCHAPValue(nil, CHAPResponse, 7, []byte{1, 2, 3}, []byte(`DOM\u`))
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte("\x02\x07\x00\x0d\x03\x01\x02\x03DOM\\u"); !bytes.Equal(b, want) {
		t.Errorf("AppendCHAPValue = %x, want %x", b, want)
	}
	if _, err := AppendCHAPValue(nil, CHAPResponse, 7, nil, []byte("u")); err == nil {
		t.Error("empty value accepted")
	}
	if _, err := AppendCHAPValue(nil, CHAPResponse, 7, make([]byte, 256), []byte("u")); err == nil {
		t.Error("256-byte value accepted")
	}
	b, err = AppendPAPRequest(nil, 9, "user", "pw")
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte("\x01\x09\x00\x0c\x04user\x02pw"); !bytes.Equal(b, want) {
		t.Errorf("AppendPAPRequest = %x, want %x", b, want)
	}
	if _, err := AppendPAPRequest(nil, 1, string(make([]byte, 256)), ""); err == nil {
		t.Error("256-byte peer-id accepted")
	}
	if got, want := AppendPAPReply(nil, PAPAuthNak, 3, "Login incorrect"), []byte("\x03\x03\x00\x14\x0fLogin incorrect"); !bytes.Equal(got, want) {
		t.Errorf("AppendPAPReply = %x, want %x", got, want)
	}
	if got, want := AppendCHAPMessage(nil, CHAPSuccess, 3, "ok"), []byte("\x03\x03\x00\x06ok"); !bytes.Equal(got, want) {
		t.Errorf("AppendCHAPMessage = %x, want %x", got, want)
	}
}

func TestParseAllocs(t *testing.T) {
	ch := []byte("\x01\x01\x00\x0a\x04abcdname")
	pap := []byte("\x01\x01\x00\x0e\x04test\x04test")
	n := testing.AllocsPerRun(100, func() {
		p, _ := ParseCHAP(ch)
		_, _ = p.Value(), p.Name()
		q, _ := ParsePAP(pap)
		_, _ = q.PeerID(), q.Password()
	})
	if n != 0 {
		t.Errorf("parsing allocates %v times", n)
	}
}

func BenchmarkParseCHAP(b *testing.B) {
	pkt, _ := AppendCHAPValue(nil, CHAPResponse, 1, make([]byte, 49), []byte("user"))
	b.ReportAllocs()
	for b.Loop() {
		p, err := ParseCHAP(pkt)
		if err != nil || len(p.Value()) != 49 {
			b.Fatal(err)
		}
	}
}

func BenchmarkParsePAP(b *testing.B) {
	pkt, _ := AppendPAPRequest(nil, 1, "user", "password")
	b.ReportAllocs()
	for b.Loop() {
		p, err := ParsePAP(pkt)
		if err != nil || len(p.Password()) != 8 {
			b.Fatal(err)
		}
	}
}

// checkCHAP asserts the getters stay inside a parsed packet.
func checkCHAP(t *testing.T, b []byte) {
	p, err := ParseCHAP(b)
	if err != nil {
		return
	}
	if int(p.Length()) != len(p) || len(p) > len(b) {
		t.Fatalf("length %d, packet %d, input %d", p.Length(), len(p), len(b))
	}
	if p.Code() == CHAPChallenge || p.Code() == CHAPResponse {
		if len(p.Value()) == 0 || len(p.Name()) == 0 || HeaderLen+1+len(p.Value())+len(p.Name()) != len(p) {
			t.Fatalf("value %d name %d packet %d", len(p.Value()), len(p.Name()), len(p))
		}
		q, err := AppendCHAPValue(nil, p.Code(), p.Identifier(), p.Value(), p.Name())
		if err != nil || !bytes.Equal(q, p) {
			t.Fatalf("rebuilt %x from %x: %v", q, []byte(p), err)
		}
	} else if !bytes.Equal(AppendCHAPMessage(nil, p.Code(), p.Identifier(), string(p.Message())), p) {
		t.Fatalf("message packet does not rebuild")
	}
}

func FuzzParseCHAP(f *testing.F) {
	f.Add([]byte("\x01\x01\x00\x0a\x04abcdname"))
	f.Add([]byte("\x03\x01\x00\x0eAccess granted"))
	f.Add([]byte{4, 1, 0, 4})          // Failure with empty message
	f.Add([]byte{1, 1, 0})             // header cut short
	f.Add([]byte{1, 1, 0, 3})          // Length below the header size
	f.Add([]byte{1, 1, 0xFF, 0xFF, 1}) // Length beyond the buffer
	f.Add([]byte{1, 1, 0, 6, 0, 'n'})  // Value-Size 0
	f.Add([]byte{2, 1, 0, 7, 9, 1, 2}) // Value-Size past Length
	f.Add([]byte{2, 1, 0, 7, 2, 1, 2}) // Value fills the packet, no Name
	f.Add([]byte{9, 1, 0, 4})          // unknown code
	f.Fuzz(checkCHAP)
}

func FuzzParsePAP(f *testing.F) {
	f.Add([]byte("\x01\x01\x00\x0e\x04test\x04test"))
	f.Add([]byte("\x02\x01\x00\x0d\x08Login ok"))
	f.Add([]byte{3, 1, 0, 4})                         // Nak without Msg-Length
	f.Add([]byte{1, 1, 0, 4})                         // request without Peer-ID-Length
	f.Add([]byte("\x01\x01\x00\x08\x04tes"))          // Peer-ID past Length
	f.Add([]byte("\x01\x01\x00\x09\x04test"))         // no Passwd-Length
	f.Add([]byte("\x01\x01\x00\x0d\x04test\x04test")) // password past Length
	f.Add([]byte("\x02\x01\x00\x07\x08Lo"))           // Msg-Length past Length
	f.Add([]byte{1, 1, 0, 2})                         // Length below the header size
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePAP(b)
		if err != nil {
			return
		}
		switch p.Code() {
		case PAPAuthRequest:
			// Octets after the Password inside Length are tolerated, so
			// compare all but the Length field.
			q, err := AppendPAPRequest(nil, p.Identifier(), string(p.PeerID()), string(p.Password()))
			if err != nil || len(q) > len(p) || !bytes.Equal(q[:2], p[:2]) || !bytes.Equal(q[HeaderLen:], p[HeaderLen:len(q)]) {
				t.Fatalf("rebuilt %x from %x", q, []byte(p))
			}
		default:
			_ = p.Message()
		}
	})
}
