// SPDX-License-Identifier: MIT

package control

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/pptp-go/pptp/internal/testhex"
)

var unhex = testhex.Bytes

// Reference §6.5: the control header of an SCCRQ.
func TestSCCRQHeaderGolden(t *testing.T) {
	m := make(SCCRQ, SCCRQLen)
	m.Init()
	if got, want := []byte(m[:HeaderLen]), unhex(t, "009C0001 1A2B3C4D 00010000"); !bytes.Equal(got, want) {
		t.Fatalf("SCCRQ header % X, want % X", got, want)
	}
}

// Reference §6.5: a whole Echo-Request.
func TestEchoRequestGolden(t *testing.T) {
	m := make(EchoRequest, EchoRQLen)
	m.Init()
	m.SetIdentifier(0x01020304)
	if got, want := []byte(m), unhex(t, "00100001 1A2B3C4D 00050000 01020304"); !bytes.Equal(got, want) {
		t.Fatalf("Echo-Request % X, want % X", got, want)
	}
}

func TestInitClearsBodyAndSizes(t *testing.T) {
	for ct := TypeSCCRQ; ct <= TypeSLI; ct++ {
		b := bytes.Repeat([]byte{0xEE}, 300)
		initMessage(b, ct)
		h := Header(b)
		if int(h.Length()) != ct.Size() || h.MessageType() != 1 || h.MagicCookie() != MagicCookie || h.ControlType() != ct || h.Reserved0() != 0 {
			t.Errorf("%v: header % X", ct, b[:HeaderLen])
		}
		if i := bytes.IndexFunc(b[HeaderLen:ct.Size()], func(r rune) bool { return r != 0 }); i >= 0 {
			t.Errorf("%v: body byte %d not cleared", ct, HeaderLen+i)
		}
		if b[ct.Size()] != 0xEE {
			t.Errorf("%v: wrote past its size", ct)
		}
	}
	if TypeOCRQ.String() != "Outgoing-Call-Request" || ControlType(99).String() != "control message type 99" || ControlType(99).Size() != 0 {
		t.Error("ControlType names")
	}
}

// The field offsets against RFC 2637 §2 layouts, written out by hand.
func TestFieldOffsets(t *testing.T) {
	rq := make(SCCRQ, SCCRQLen)
	rq.Init()
	rq.SetProtocolVersion(0x0100)
	rq.SetFramingCapabilities(3)
	rq.SetBearerCapabilities(3)
	rq.SetMaxChannels(65535)
	rq.SetFirmwareRevision(1)
	rq.SetHostName("local")
	rq.SetVendor("cananian")
	want := unhex(t, "009C0001 1A2B3C4D 00010000 0100 0000 00000003 00000003 FFFF 0001")
	want = append(want, append([]byte("local"), make([]byte, 59)...)...)
	want = append(want, append([]byte("cananian"), make([]byte, 56)...)...)
	if !bytes.Equal(rq, want) {
		t.Fatalf("SCCRQ\n% X\nwant\n% X", []byte(rq), want)
	}
	if string(rq.HostName()) != "local" || string(rq.Vendor()) != "cananian" || rq.MaxChannels() != 65535 {
		t.Error("SCCRQ getters")
	}

	oc := make(OCRQ, OCRQLen)
	oc.Init()
	oc.SetCallID(0x1234)
	oc.SetCallSerialNumber(7)
	oc.SetMinimumBPS(2400)
	oc.SetMaximumBPS(10000000)
	oc.SetBearerType(3)
	oc.SetFramingType(3)
	oc.SetRecvWindow(64)
	oc.SetProcessingDelay(0)
	oc.SetPhoneNumber("5551234")
	w := unhex(t, "00A80001 1A2B3C4D 00070000 1234 0007 00000960 00989680 00000003 00000003 0040 0000 0007 0000")
	if !bytes.Equal(oc[:40], w) || string(oc[40:47]) != "5551234" || oc[47] != 0 {
		t.Fatalf("OCRQ % X", []byte(oc[:48]))
	}
	if string(oc.PhoneNumber()) != "5551234" || oc.PhoneNumberLength() != 7 || oc.MaximumBPS() != 10000000 {
		t.Error("OCRQ getters")
	}
	oc.SetPhoneNumber(strings.Repeat("9", 70)) // truncated to the field, no NUL needed
	if oc.PhoneNumberLength() != 64 || len(oc.PhoneNumber()) != 64 || len(oc.Subaddress()) != 0 {
		t.Errorf("long phone: len field %d, value %d bytes", oc.PhoneNumberLength(), len(oc.PhoneNumber()))
	}

	rp := make(OCRP, OCRPLen)
	rp.Init()
	rp.SetCallID(0xAAAA)
	rp.SetPeerCallID(0xBBBB)
	rp.SetResultCode(1)
	rp.SetErrorCode(2)
	rp.SetCauseCode(0x0304)
	rp.SetConnectSpeed(10000000)
	rp.SetRecvWindow(64)
	rp.SetProcessingDelay(5)
	rp.SetPhysicalChannelID(0x01020304)
	if !bytes.Equal(rp, unhex(t, "00200001 1A2B3C4D 00080000 AAAA BBBB 01 02 0304 00989680 0040 0005 01020304")) {
		t.Fatalf("OCRP % X", []byte(rp))
	}

	cdn := make(CDN, CDNLen)
	cdn.Init()
	cdn.SetCallID(9)
	cdn.SetResultCode(3)
	cdn.SetErrorCode(0)
	cdn.SetCauseCode(16)
	cdn.SetCallStatistics("stats")
	if !bytes.Equal(cdn[:25], append(unhex(t, "00940001 1A2B3C4D 000D0000 0009 03 00 0010 0000"), "stats"...)) || string(cdn.CallStatistics()) != "stats" {
		t.Fatalf("CDN % X", []byte(cdn[:25]))
	}

	er := make(EchoReply, EchoRPLen)
	er.Init()
	er.SetIdentifier(5)
	er.SetResultCode(1)
	if !bytes.Equal(er, unhex(t, "00140001 1A2B3C4D 00060000 00000005 01 00 0000")) {
		t.Fatalf("Echo-Reply % X", []byte(er))
	}

	sli := make(SetLinkInfo, SLILen)
	sli.Init()
	sli.SetPeerCallID(0x0102)
	sli.SetSendACCM(0xFFFFFFFF)
	sli.SetReceiveACCM(0)
	if !bytes.Equal(sli, unhex(t, "00180001 1A2B3C4D 000F0000 0102 0000 FFFFFFFF 00000000")) {
		t.Fatalf("SLI % X", []byte(sli))
	}
	st := make(StopCCRP, StopCCRPLen)
	st.Init()
	st.SetResultCode(1)
	st.SetErrorCode(6)
	if !bytes.Equal(st, unhex(t, "00100001 1A2B3C4D 00040000 01 06 0000")) {
		t.Fatalf("Stop-CCRP % X", []byte(st))
	}
}

func TestReadMessage(t *testing.T) {
	echo := unhex(t, "00100001 1A2B3C4D 00050000 01020304")
	long := append(unhex(t, "00140001 1A2B3C4D 00050000 01020304"), 0xde, 0xad, 0xbe, 0xef) // Echo-Request with 4 extra bytes
	mgmt := unhex(t, "000C0002 1A2B3C4D 00010000")
	unknown := unhex(t, "000E0001 1A2B3C4D 00630000 AAAA")
	for _, tc := range []struct {
		name string
		in   []byte
		want []byte // nil: error
		err  error
	}{
		{"echo", echo, echo, nil},
		{"longer than defined", long, long, nil},
		{"management", mgmt, mgmt, nil},
		{"unknown control type", unknown, unknown, nil},
		{"empty", nil, nil, io.EOF},
		{"short header", echo[:7], nil, io.ErrUnexpectedEOF},
		{"short body", echo[:14], nil, io.ErrUnexpectedEOF},
		{"bad magic", unhex(t, "00100001 1A2B3C4E 00050000 01020304"), nil, ErrMalformed},
		{"message type 3", unhex(t, "00100003 1A2B3C4D 00050000 01020304"), nil, ErrMalformed},
		{"shorter than Echo-Request", unhex(t, "000F0001 1A2B3C4D 00050000 010203"), nil, ErrMalformed},
		{"length below header", unhex(t, "00080001 1A2B3C4D 00630000"), nil, ErrMalformed},
		{"management length below header", unhex(t, "000B0002 1A2B3C4D 00010000"), nil, ErrMalformed},
		{"length above 1024", unhex(t, "04010001 1A2B3C4D 00050000 01020304"), nil, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf := make([]byte, MaxMessageLen)
			m, err := ReadMessage(bytes.NewReader(tc.in), buf)
			if tc.want != nil {
				if err != nil || !bytes.Equal(m, tc.want) {
					t.Fatalf("got % X, %v", m, err)
				}
				if &m[0] != &buf[0] {
					t.Error("message not read into buf")
				}
				return
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
		})
	}
	// Exactly 1024 bytes is allowed; a small buf gets replaced.
	big := make([]byte, MaxMessageLen)
	copy(big, unhex(t, "04000001 1A2B3C4D 00010000"))
	m, err := ReadMessage(bytes.NewReader(big), make([]byte, 16))
	if err != nil || len(m) != MaxMessageLen {
		t.Fatalf("1024-byte message: %d, %v", len(m), err)
	}
	// Two messages back to back: exactly one is consumed per call.
	r := bytes.NewReader(append(append([]byte{}, echo...), mgmt...))
	if m, _ := ReadMessage(r, nil); !bytes.Equal(m, echo) {
		t.Fatal("first of two")
	}
	if m, _ := ReadMessage(r, nil); !bytes.Equal(m, mgmt) {
		t.Fatal("second of two")
	}
}

func TestReadMessageAllocs(t *testing.T) {
	in := make([]byte, SCCRQLen)
	SCCRQ(in).Init()
	r := bytes.NewReader(in)
	buf := make([]byte, MaxMessageLen)
	n := testing.AllocsPerRun(1000, func() {
		r.Reset(in)
		m, err := ReadMessage(r, buf)
		if err != nil || len(SCCRQ(m).HostName()) != 0 {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Fatalf("ReadMessage allocates %v times", n)
	}
}

func FuzzReadMessage(f *testing.F) {
	sccrq := make([]byte, SCCRQLen)
	SCCRQ(sccrq).Init()
	f.Add(sccrq)
	f.Add(unhex(f, "00100001 1A2B3C4D 00050000 01020304"))
	// Echo-Request with a longer Length than defined: accepted, extra ignored.
	f.Add(unhex(f, "00140001 1A2B3C4D 00050000 01020304 00000000"))
	// Length says OCRQ-size but the stream ends early: unexpected EOF in the body.
	f.Add(unhex(f, "00A80001 1A2B3C4D 00070000 0001"))
	// Bad magic cookie: the connection cannot be trusted.
	f.Add(unhex(f, "00100001 DEADBEEF 00050000 01020304"))
	// Length 0: below the header size.
	f.Add(unhex(f, "00000001 1A2B3C4D 00050000"))
	// Length 0xFFFF: far above MaxMessageLen.
	f.Add(unhex(f, "FFFF0001 1A2B3C4D 00010000"))
	// CDN with Length 16: shorter than the 148 bytes its getters need.
	f.Add(unhex(f, "00100001 1A2B3C4D 000D0000 00000000"))
	// Management message (type 2), header only.
	f.Add(unhex(f, "000C0002 1A2B3C4D 00000000"))
	// Control type 0 and 0xFFFF: unknown, only the header is required.
	f.Add(unhex(f, "000C0001 1A2B3C4D 00000000"))
	f.Add(unhex(f, "000C0001 1A2B3C4D FFFF0000"))
	// Text where a header should be (a port scanner speaking HTTP).
	f.Add([]byte("GET / HTTP/1.0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, bufLen := range []int{0, 64, MaxMessageLen} {
			m, err := ReadMessage(bytes.NewReader(in), make([]byte, bufLen))
			if err != nil {
				continue
			}
			h := Header(m)
			if int(h.Length()) != len(m) || len(m) > MaxMessageLen || len(m) < HeaderLen || !bytes.Equal(m, in[:len(m)]) {
				t.Fatalf("accepted % X from % X", m, in)
			}
			if h.MessageType() == MessageControl && len(m) < h.ControlType().Size() {
				t.Fatalf("%v of %d bytes accepted", h.ControlType(), len(m))
			}
			getters(m) // must not panic on anything accepted
		}
	})
}

// getters calls every getter of the type ReadMessage reported.
func getters(m []byte) {
	if Header(m).MessageType() != MessageControl {
		return
	}
	switch Header(m).ControlType() {
	case TypeSCCRQ:
		r := SCCRQ(m)
		_, _, _, _, _, _, _ = r.ProtocolVersion(), r.FramingCapabilities(), r.BearerCapabilities(), r.MaxChannels(), r.FirmwareRevision(), r.HostName(), r.Vendor()
	case TypeSCCRP:
		r := SCCRP(m)
		_, _, _, _, _, _, _, _, _ = r.ProtocolVersion(), r.ResultCode(), r.ErrorCode(), r.FramingCapabilities(), r.BearerCapabilities(), r.MaxChannels(), r.FirmwareRevision(), r.HostName(), r.Vendor()
	case TypeStopCCRQ:
		_ = StopCCRQ(m).Reason()
	case TypeStopCCRP:
		_, _ = StopCCRP(m).ResultCode(), StopCCRP(m).ErrorCode()
	case TypeEchoRQ:
		_ = EchoRequest(m).Identifier()
	case TypeEchoRP:
		_, _, _ = EchoReply(m).Identifier(), EchoReply(m).ResultCode(), EchoReply(m).ErrorCode()
	case TypeOCRQ:
		r := OCRQ(m)
		_, _, _, _, _, _, _, _, _, _, _ = r.CallID(), r.CallSerialNumber(), r.MinimumBPS(), r.MaximumBPS(), r.BearerType(), r.FramingType(), r.RecvWindow(), r.ProcessingDelay(), r.PhoneNumberLength(), r.PhoneNumber(), r.Subaddress()
	case TypeOCRP:
		r := OCRP(m)
		_, _, _, _, _, _, _, _, _ = r.CallID(), r.PeerCallID(), r.ResultCode(), r.ErrorCode(), r.CauseCode(), r.ConnectSpeed(), r.RecvWindow(), r.ProcessingDelay(), r.PhysicalChannelID()
	case TypeICRQ:
		r := ICRQ(m)
		_, _, _, _, _, _, _ = r.CallID(), r.CallSerialNumber(), r.BearerType(), r.PhysicalChannelID(), r.DialedNumber(), r.DialingNumber(), r.Subaddress()
	case TypeICRP:
		r := ICRP(m)
		_, _, _, _, _ = r.CallID(), r.PeerCallID(), r.ResultCode(), r.ErrorCode(), r.RecvWindow()
	case TypeICCN:
		r := ICCN(m)
		_, _, _, _ = r.PeerCallID(), r.ConnectSpeed(), r.RecvWindow(), r.FramingType()
	case TypeCCRQ:
		_ = CCRQ(m).CallID()
	case TypeCDN:
		r := CDN(m)
		_, _, _, _, _ = r.CallID(), r.ResultCode(), r.ErrorCode(), r.CauseCode(), r.CallStatistics()
	case TypeWEN:
		r := WANErrorNotify(m)
		_, _, _, _, _, _, _ = r.PeerCallID(), r.CRCErrors(), r.FramingErrors(), r.HardwareOverruns(), r.BufferOverruns(), r.TimeoutErrors(), r.AlignmentErrors()
	case TypeSLI:
		_, _, _ = SetLinkInfo(m).PeerCallID(), SetLinkInfo(m).SendACCM(), SetLinkInfo(m).ReceiveACCM()
	}
}

func BenchmarkReadMessage(b *testing.B) {
	in := make([]byte, OCRQLen)
	OCRQ(in).Init()
	r := bytes.NewReader(in)
	buf := make([]byte, MaxMessageLen)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		r.Reset(in)
		if _, err := ReadMessage(r, buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuildEchoReply(b *testing.B) {
	buf := make([]byte, EchoRPLen)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m := EchoReply(buf)
		m.Init()
		m.SetIdentifier(uint32(i))
		m.SetResultCode(EchoOK)
	}
}

func TestResultErrorText(t *testing.T) {
	for _, tc := range []struct {
		e    ResultError
		want string
	}{
		{ResultError{Op: "server refused the call", Type: TypeOCRP, Result: 7}, "server refused the call: Outgoing-Call-Reply result 7 (Not Accepted), error 0 (None)"},
		{ResultError{Op: "server cleared the call", Type: TypeCDN, Result: 3}, "server cleared the call: Call-Disconnect-Notify result 3 (Administrative Shutdown)"},
		{ResultError{Op: "server cleared the call", Type: TypeCDN, Result: 2, ErrorCode: 4, Cause: 16}, "server cleared the call: Call-Disconnect-Notify result 2 (General Error), error 4 (No-Resource), cause 16"},
		{ResultError{Op: "server refused the control connection", Type: TypeSCCRP, Result: 4, ErrorCode: 9}, "server refused the control connection: Start-Control-Connection-Reply result 4 (Requester is not Authorized), error 9 (unknown)"},
		{ResultError{Op: "server closed the control connection", Type: TypeStopCCRQ, Result: 3}, "server closed the control connection: Stop-Control-Connection-Request reason 3 (Stop-Local-Shutdown)"},
		{ResultError{Op: "x", Type: TypeOCRP, Result: 200, ErrorCode: 6}, "x: Outgoing-Call-Reply result 200 (unknown), error 6 (PAC-Error)"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
	if ResultText(TypeOCRP, 4) != "Busy Signal" || ResultText(TypeEchoRQ, 1) != "unknown" || ErrorText(5) != "Bad-Call ID" {
		t.Error("code tables")
	}
}
