// SPDX-License-Identifier: MIT

package control

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// tap records every message written through a connection.
type tap struct {
	net.Conn
	mu   sync.Mutex
	sent [][]byte
}

func (c *tap) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.sent = append(c.sent, bytes.Clone(b))
	c.mu.Unlock()
	return c.Conn.Write(b)
}

func (c *tap) types() []ControlType {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ts []ControlType
	for _, m := range c.sent {
		ts = append(ts, Header(m).ControlType())
	}
	return ts
}

// last returns the last message of type ct that was written.
func (c *tap) last(ct ControlType) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.sent) - 1; i >= 0; i-- {
		if Header(c.sent[i]).ControlType() == ct {
			return c.sent[i]
		}
	}
	return nil
}

type logbuf struct {
	mu    sync.Mutex
	lines []string
}

func (l *logbuf) logf(format string, args ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

func (l *logbuf) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.ContainsFunc(l.lines, func(line string) bool { return strings.Contains(line, s) })
}

func (l *logbuf) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

// establish connects our client and our server over net.Pipe.
func establish(t *testing.T, ccfg ClientConfig, scfg ServerConfig) (cl, sv *Call, ct, st *tap) {
	t.Helper()
	a, b := net.Pipe()
	ct, st = &tap{Conn: a}, &tap{Conn: b}
	type result struct {
		c   *Call
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := Accept(context.Background(), st, scfg)
		ch <- result{c, err}
	}()
	cl, err := Client(context.Background(), ct, ccfg)
	r := <-ch
	if err != nil || r.err != nil {
		t.Fatalf("client: %v; server: %v", err, r.err)
	}
	return cl, r.c, ct, st
}

func wantErr(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || err.Error() != want {
		t.Fatalf("error %v\nwant  %s", err, want)
	}
}

func TestEstablishAndClientCloses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var clog, slog logbuf
		var gotPhone string
		cl, sv, ct, st := establish(t,
			ClientConfig{CallID: 1234, RecvWindow: 16, Phone: "5551234", Logf: clog.logf},
			ServerConfig{RecvWindow: 32, Logf: slog.logf, NewCall: func(peer uint16, req OCRQ) (uint16, error) {
				gotPhone = string(req.PhoneNumber())
				return 77, nil
			}})
		if cl.LocalCallID() != 1234 || cl.PeerCallID() != 77 || cl.PeerRecvWindow() != 32 || cl.ConnectSpeed() != 10000000 {
			t.Errorf("client call %d peer %d window %d speed %d", cl.LocalCallID(), cl.PeerCallID(), cl.PeerRecvWindow(), cl.ConnectSpeed())
		}
		if sv.LocalCallID() != 77 || sv.PeerCallID() != 1234 || sv.PeerRecvWindow() != 16 || sv.ConnectSpeed() != 10000000 || gotPhone != "5551234" {
			t.Errorf("server call %d peer %d window %d speed %d phone %q", sv.LocalCallID(), sv.PeerCallID(), sv.PeerRecvWindow(), sv.ConnectSpeed(), gotPhone)
		}
		if cl.LocalAddr().IsValid() || cl.RemoteAddr().IsValid() {
			t.Error("addresses of a net.Pipe call should be zero")
		}
		if !clog.has("Client connection established.") || !clog.has("Outgoing call established (call ID 1234, peer's call ID 77).") {
			t.Errorf("client log %q", clog.lines)
		}
		start := time.Now()
		if err := cl.Close(); err != nil {
			t.Fatal(err)
		}
		if cl.Err() != nil {
			t.Errorf("Err after our own Close: %v", cl.Err())
		}
		<-sv.Done()
		wantErr(t, sv.Err(), "client cleared the call (Call-Clear-Request)")
		if err := sv.Close(); err != nil {
			t.Errorf("server Close after the end: %v", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("teardown took %v; the exchange should not wait on any timer", d)
		}
		if got, want := ct.types(), []ControlType{TypeSCCRQ, TypeOCRQ, TypeCCRQ, TypeStopCCRQ}; !slices.Equal(got, want) {
			t.Errorf("client sent %v, want %v", got, want)
		}
		if got, want := st.types(), []ControlType{TypeSCCRP, TypeOCRP, TypeCDN, TypeStopCCRP}; !slices.Equal(got, want) {
			t.Errorf("server sent %v, want %v", got, want)
		}
		if cdn := CDN(st.last(TypeCDN)); cdn.CallID() != 77 || cdn.ResultCode() != CDNRequest {
			t.Errorf("CDN call %d result %d", cdn.CallID(), cdn.ResultCode())
		}
		if ccrq := CCRQ(ct.last(TypeCCRQ)); ccrq.CallID() != 1234 {
			t.Errorf("CCRQ call %d", ccrq.CallID())
		}
		if s := StopCCRQ(ct.last(TypeStopCCRQ)); s.Reason() != StopReasonNone {
			t.Errorf("Stop reason %d", s.Reason())
		}
		rp := SCCRP(st.last(TypeSCCRP))
		if rp.ResultCode() != 1 || rp.ProtocolVersion() != 0x0100 || rp.MaxChannels() != 1 || rp.FramingCapabilities() != 3 || string(rp.HostName()) != "local" || string(rp.Vendor()) != "pptp-go" {
			t.Errorf("SCCRP % X", []byte(rp))
		}
		oc := OCRQ(ct.last(TypeOCRQ))
		if oc.MinimumBPS() != 2400 || oc.MaximumBPS() != 10000000 || oc.BearerType() != 3 || oc.FramingType() != 3 || oc.RecvWindow() != 16 {
			t.Errorf("OCRQ % X", []byte(oc))
		}
		if err := cl.Close(); err != nil { // idempotent
			t.Errorf("second Close: %v", err)
		}
	})
}

func TestServerCloses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cl, sv, _, st := establish(t, ClientConfig{}, ServerConfig{})
		if cl.LocalCallID() == 0 || cl.PeerCallID() == 0 {
			t.Errorf("random call IDs must not be 0: %d %d", cl.LocalCallID(), cl.PeerCallID())
		}
		start := time.Now()
		if err := sv.Close(); err != nil {
			t.Fatal(err)
		}
		<-cl.Done()
		wantErr(t, cl.Err(), "server cleared the call: Call-Disconnect-Notify result 3 (Administrative Shutdown)")
		var re *ResultError
		if !errors.As(cl.Err(), &re) || re.Type != TypeCDN || re.Result != CDNAdminShutdown {
			t.Errorf("Err %#v", cl.Err())
		}
		cl.Close()
		if d := time.Since(start); d != 0 {
			t.Errorf("teardown took %v", d)
		}
		if got := st.types(); !slices.Equal(got[:4], []ControlType{TypeSCCRP, TypeOCRP, TypeCDN, TypeStopCCRQ}) {
			t.Errorf("server sent %v", got)
		}
		if sv.Err() != nil {
			t.Errorf("server Err after its own Close: %v", sv.Err())
		}
	})
}

func TestBothCloseAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cl, sv, _, _ := establish(t, ClientConfig{}, ServerConfig{})
		start := time.Now()
		var wg sync.WaitGroup
		var cerr, serr error
		wg.Go(func() { cerr = cl.Close() })
		wg.Go(func() { serr = sv.Close() })
		wg.Wait()
		if cerr != nil || serr != nil {
			t.Errorf("client Close: %v; server Close: %v", cerr, serr)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("crossing teardowns took %v", d)
		}
	})
}

func TestEchoBothWays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var clog logbuf
		// The client probes every 30 s of silence; the server never does.
		cl, sv, ct, st := establish(t, ClientConfig{IdleWait: 30 * time.Second, MaxEchoWait: 10 * time.Second}, ServerConfig{IdleWait: -1, Logf: clog.logf})
		time.Sleep(95 * time.Second)
		synctest.Wait()
		if got := ct.types()[2:]; !slices.Equal(got, []ControlType{TypeEchoRQ, TypeEchoRQ, TypeEchoRQ}) {
			t.Fatalf("client sent %v", got)
		}
		if got := st.types()[2:]; !slices.Equal(got, []ControlType{TypeEchoRP, TypeEchoRP, TypeEchoRP}) {
			t.Fatalf("server sent %v", got)
		}
		if rq, rp := EchoRequest(ct.last(TypeEchoRQ)), EchoReply(st.last(TypeEchoRP)); rq.Identifier() != 3 || rp.Identifier() != 3 || rp.ResultCode() != EchoOK {
			t.Errorf("echo id %d, reply id %d result %d", rq.Identifier(), rp.Identifier(), rp.ResultCode())
		}
		select {
		case <-cl.Done():
			t.Fatalf("call ended: %v", cl.Err())
		default:
		}
		cl.Close()
		sv.Close()
	})
	synctest.Test(t, func(t *testing.T) {
		// Now the server probes every 20 s and the client answers.
		cl, sv, ct, st := establish(t, ClientConfig{IdleWait: -1}, ServerConfig{IdleWait: 20 * time.Second})
		time.Sleep(70 * time.Second)
		synctest.Wait()
		if got := st.types()[2:]; !slices.Equal(got, []ControlType{TypeEchoRQ, TypeEchoRQ, TypeEchoRQ}) {
			t.Fatalf("server sent %v", got)
		}
		if got := ct.types()[2:]; !slices.Equal(got, []ControlType{TypeEchoRP, TypeEchoRP, TypeEchoRP}) {
			t.Fatalf("client sent %v", got)
		}
		cl.Close()
		sv.Close()
	})
}

func TestEchoLogLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var slog logbuf
		cl, sv, _, _ := establish(t, ClientConfig{IdleWait: time.Second}, ServerConfig{IdleWait: -1, Logf: slog.logf})
		time.Sleep(30*time.Second + time.Millisecond)
		synctest.Wait()
		if n := slog.count("Echo Request received."); n != echoLogLimit {
			t.Errorf("%d echo lines logged, want %d", n, echoLogLimit)
		}
		if !slog.has("no more Echo Reply/Request packets will be reported.") {
			t.Error("no notice that echo logging stops")
		}
		cl.Close()
		sv.Close()
	})
}

// fakePeer is a scripted end of a net.Pipe.
type fakePeer struct {
	t    *testing.T
	conn net.Conn
}

func (p *fakePeer) read() []byte {
	p.t.Helper()
	m, err := ReadMessage(p.conn, make([]byte, MaxMessageLen))
	if err != nil {
		p.t.Fatalf("fake peer read: %v", err)
	}
	return m
}

func (p *fakePeer) expect(ct ControlType) []byte {
	p.t.Helper()
	m := p.read()
	if got := Header(m).ControlType(); got != ct {
		p.t.Fatalf("fake peer got %v, want %v", got, ct)
	}
	return m
}

func (p *fakePeer) write(m []byte) {
	p.t.Helper()
	if _, err := p.conn.Write(m); err != nil {
		p.t.Fatalf("fake peer write: %v", err)
	}
}

// drain reads and discards until the connection ends.
func (p *fakePeer) drain() {
	go io.Copy(io.Discard, p.conn)
}

func sccrp(result uint8) SCCRP {
	m := make(SCCRP, SCCRPLen)
	m.Init()
	m.SetProtocolVersion(ProtocolVersion)
	m.SetResultCode(result)
	return m
}

func ocrp(callID, peer uint16, result uint8) OCRP {
	m := make(OCRP, OCRPLen)
	m.Init()
	m.SetCallID(callID)
	m.SetPeerCallID(peer)
	m.SetResultCode(result)
	m.SetConnectSpeed(64000)
	m.SetRecvWindow(3)
	return m
}

// clientAgainst runs our client against a scripted server.
func clientAgainst(t *testing.T, cfg ClientConfig) (*fakePeer, chan error, **Call) {
	a, b := net.Pipe()
	errc := make(chan error, 1)
	var call *Call
	go func() {
		c, err := Client(context.Background(), a, cfg)
		call = c
		errc <- err
	}()
	return &fakePeer{t: t, conn: b}, errc, &call
}

// setupAgainst completes the setup with a scripted server whose Call ID is 99.
func setupAgainst(t *testing.T, cfg ClientConfig) (*fakePeer, *Call) {
	t.Helper()
	p, errc, call := clientAgainst(t, cfg)
	p.expect(TypeSCCRQ)
	p.write(sccrp(1))
	oc := OCRQ(p.expect(TypeOCRQ))
	p.write(ocrp(99, oc.CallID(), 1))
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return p, *call
}

func TestClientHandlesServerMessages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log logbuf
		p, cl := setupAgainst(t, ClientConfig{CallID: 5, IdleWait: -1, Logf: log.logf})
		if cl.PeerCallID() != 99 || cl.ConnectSpeed() != 64000 || cl.PeerRecvWindow() != 3 {
			t.Fatalf("call peer %d speed %d window %d", cl.PeerCallID(), cl.ConnectSpeed(), cl.PeerRecvWindow())
		}
		sli := make(SetLinkInfo, SLILen)
		sli.Init()
		sli.SetSendACCM(0xFFFFFFFF)
		p.write(sli)
		wen := make(WANErrorNotify, WENLen)
		wen.Init()
		wen.SetCRCErrors(3)
		p.write(wen)
		p.write(unhex(t, "000C0002 1A2B3C4D 00010000"))          // management: ignored
		p.write(unhex(t, "00100001 1A2B3C4D 00630000 00000000")) // unknown type 99

		rq := make(EchoRequest, EchoRQLen)
		rq.Init()
		rq.SetIdentifier(7)
		p.write(rq)
		if r := EchoReply(p.expect(TypeEchoRP)); r.Identifier() != 7 || r.ResultCode() != 1 {
			t.Errorf("Echo-Reply id %d result %d", r.Identifier(), r.ResultCode())
		}
		oc := make(OCRQ, OCRQLen)
		oc.Init()
		oc.SetCallID(42)
		p.write(oc)
		if r := OCRP(p.expect(TypeOCRP)); r.PeerCallID() != 42 || r.ResultCode() != OCRPNotAccepted {
			t.Errorf("OCRP to the server's OCRQ: peer %d result %d", r.PeerCallID(), r.ResultCode())
		}
		ic := make(ICRQ, ICRQLen)
		ic.Init()
		ic.SetCallID(43)
		p.write(ic)
		if r := ICRP(p.expect(TypeICRP)); r.PeerCallID() != 43 || r.ResultCode() != ICRPNotAccepted {
			t.Errorf("ICRP: peer %d result %d", r.PeerCallID(), r.ResultCode())
		}
		cdn := make(CDN, CDNLen)
		cdn.Init()
		cdn.SetCallID(1000) // not our call
		p.write(cdn)
		synctest.Wait()
		select {
		case <-cl.Done():
			t.Fatalf("call ended early: %v", cl.Err())
		default:
		}
		for _, s := range []string{"Set-Link-Info: send ACCM 0xffffffff, receive ACCM 0x00000000.", "WAN-Error-Notify: CRC 3", "Unrecognized Packet 99 received.", "Call-Disconnect-Notify for unknown call 1000 ignored."} {
			if !log.has(s) {
				t.Errorf("no log line %q in %q", s, log.lines)
			}
		}
		cdn.SetCallID(99)
		cdn.SetResultCode(CDNGeneralError)
		cdn.SetErrorCode(ErrorNoResource)
		cdn.SetCauseCode(16)
		p.write(cdn)
		p.expect(TypeStopCCRQ)
		rp := make(StopCCRP, StopCCRPLen)
		rp.Init()
		rp.SetResultCode(1)
		p.write(rp)
		<-cl.Done()
		wantErr(t, cl.Err(), "server cleared the call: Call-Disconnect-Notify result 2 (General Error), error 4 (No-Resource), cause 16")
		if err := cl.Close(); err != nil {
			t.Error(err)
		}
		if _, err := p.conn.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("client did not close the connection: %v", err)
		}
	})
}

func TestClientPeerStopAndEOF(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, cl := setupAgainst(t, ClientConfig{})
		st := make(StopCCRQ, StopCCRQLen)
		st.Init()
		st.SetReason(StopReasonShutdown)
		p.write(st)
		if r := StopCCRP(p.expect(TypeStopCCRP)); r.ResultCode() != 1 {
			t.Errorf("Stop reply result %d", r.ResultCode())
		}
		<-cl.Done()
		wantErr(t, cl.Err(), "server closed the control connection: Stop-Control-Connection-Request reason 3 (Stop-Local-Shutdown)")
		cl.Close()
	})
	synctest.Test(t, func(t *testing.T) {
		p, cl := setupAgainst(t, ClientConfig{})
		p.conn.Close()
		<-cl.Done()
		wantErr(t, cl.Err(), "server closed the control connection")
		if err := cl.Close(); err != nil {
			t.Error(err)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		p, cl := setupAgainst(t, ClientConfig{})
		go p.conn.Write([]byte("garbage after setup")) // the client reads only the header
		<-cl.Done()
		if !errors.Is(cl.Err(), ErrMalformed) || !strings.HasPrefix(cl.Err().Error(), "bad control message from server: ") {
			t.Errorf("Err %v", cl.Err())
		}
		cl.Close()
	})
}

func TestClientEchoTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log logbuf
		p, cl := setupAgainst(t, ClientConfig{IdleWait: 10 * time.Second, MaxEchoWait: 5 * time.Second, Logf: log.logf})
		start := time.Now()
		rq := EchoRequest(p.expect(TypeEchoRQ)) // a server that reads but never answers
		if rq.Identifier() != 1 || time.Since(start) != 10*time.Second {
			t.Errorf("first Echo-Request id %d after %v", rq.Identifier(), time.Since(start))
		}
		p.expect(TypeCCRQ)
		p.expect(TypeStopCCRQ)
		<-cl.Done()
		if d := time.Since(start); d != 15*time.Second {
			t.Errorf("call ended after %v, want 15s", d)
		}
		wantErr(t, cl.Err(), "control connection keepalive: the server sent no Echo-Reply within 5s of our Echo-Request; nothing heard from it for 15s")
		var et *EchoTimeoutError
		if !errors.Is(cl.Err(), ErrNoEchoReply) || !errors.As(cl.Err(), &et) || et.Wait != 5*time.Second {
			t.Errorf("error %v does not match ErrNoEchoReply with the wait", cl.Err())
		}
		if !log.has("closing control connection due to missing echo reply") {
			t.Error("no log line")
		}
		p.drain()
		cl.Close()
	})
}

// Without --max-echo-wait the reply wait is the idle wait (pptp-linux 1.10.0): a dead server
// with --idle-wait 5 is given up after 10 s, not after 5 + 60.
func TestClientEchoWaitFollowsIdleWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, cl := setupAgainst(t, ClientConfig{IdleWait: 5 * time.Second})
		start := time.Now()
		p.expect(TypeEchoRQ)
		p.expect(TypeCCRQ)
		<-cl.Done()
		if d := time.Since(start); d != 10*time.Second {
			t.Errorf("call ended after %v, want 10s (2 × idle wait)", d)
		}
		if !errors.Is(cl.Err(), ErrNoEchoReply) {
			t.Errorf("error %v, want ErrNoEchoReply", cl.Err())
		}
		p.drain()
		cl.Close()
	})
}

// Any message from the server counts as a sign of life and restarts the idle wait.
func TestAnyMessageResetsIdleWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, cl := setupAgainst(t, ClientConfig{IdleWait: 10 * time.Second, MaxEchoWait: 5 * time.Second})
		start := time.Now()
		sli := make(SetLinkInfo, SLILen)
		sli.Init()
		for range 5 {
			time.Sleep(9 * time.Second)
			p.write(sli)
		}
		rq := p.expect(TypeEchoRQ)
		if d := time.Since(start); d != 55*time.Second {
			t.Errorf("Echo-Request after %v, want 55s", d)
		}
		time.Sleep(4 * time.Second)
		rp := make(EchoReply, EchoRPLen)
		rp.Init()
		rp.SetIdentifier(EchoRequest(rq).Identifier())
		rp.SetResultCode(1)
		p.write(rp)
		if rq2 := EchoRequest(p.expect(TypeEchoRQ)); rq2.Identifier() != 2 || time.Since(start) != 69*time.Second {
			t.Errorf("second Echo-Request id %d at %v", rq2.Identifier(), time.Since(start))
		}
		p.drain()
		cl.Close()
	})
}

func TestClientSetupFailures(t *testing.T) {
	t.Run("no SCCRP", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, errc, _ := clientAgainst(t, ClientConfig{ReplyTimeout: 7 * time.Second})
			start := time.Now()
			p.expect(TypeSCCRQ)
			wantErr(t, <-errc, "no Start-Control-Connection-Reply from server within 7s")
			if d := time.Since(start); d != 7*time.Second {
				t.Errorf("gave up after %v", d)
			}
		})
	})
	t.Run("no OCRP", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, errc, _ := clientAgainst(t, ClientConfig{})
			p.expect(TypeSCCRQ)
			p.write(sccrp(1))
			start := time.Now()
			p.expect(TypeOCRQ)
			wantErr(t, <-errc, "no Outgoing-Call-Reply from server within 10s")
			if d := time.Since(start); d != 10*time.Second {
				t.Errorf("gave up after %v", d)
			}
		})
	})
	t.Run("SCCRP general error", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, errc, _ := clientAgainst(t, ClientConfig{})
			p.expect(TypeSCCRQ)
			r := sccrp(SCCRPGeneralError)
			r.SetErrorCode(ErrorBadFormat)
			p.write(r)
			if s := StopCCRQ(p.expect(TypeStopCCRQ)); s.Reason() != StopReasonProtocol {
				t.Errorf("Stop reason %d", s.Reason())
			}
			wantErr(t, <-errc, "server refused the control connection: Start-Control-Connection-Reply result 2 (General Error), error 2 (Bad-Format)")
		})
	})
	t.Run("SCCRP wrong version", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, errc, _ := clientAgainst(t, ClientConfig{})
			p.expect(TypeSCCRQ)
			r := sccrp(1)
			r.SetProtocolVersion(0x0200)
			p.write(r)
			p.expect(TypeStopCCRQ)
			wantErr(t, <-errc, "server speaks PPTP version 2.0, we speak 1.0")
		})
	})
	t.Run("OCRP busy", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, errc, _ := clientAgainst(t, ClientConfig{CallID: 3})
			p.expect(TypeSCCRQ)
			p.write(sccrp(0)) // result 0 tolerated, as pptp-linux does for some modems
			p.expect(TypeOCRQ)
			p.write(ocrp(0, 1000, 1)) // for another call: ignored
			r := ocrp(0, 3, OCRPBusy)
			r.SetCauseCode(17)
			p.write(r)
			p.expect(TypeStopCCRQ)
			p.conn.Close()
			err := <-errc
			wantErr(t, err, "server refused the call: Outgoing-Call-Reply result 4 (Busy Signal), error 0 (None), cause 17")
			var re *ResultError
			if !errors.As(err, &re) || re.Result != OCRPBusy || re.Cause != 17 {
				t.Errorf("%#v", err)
			}
		})
	})
	t.Run("server stops", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, errc, _ := clientAgainst(t, ClientConfig{})
			p.expect(TypeSCCRQ)
			st := make(StopCCRQ, StopCCRQLen)
			st.Init()
			st.SetReason(2)
			p.write(st)
			p.expect(TypeStopCCRP)
			wantErr(t, <-errc, "server closed the control connection: Stop-Control-Connection-Request reason 2 (Stop-Protocol)")
		})
	})
	t.Run("context cancelled", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			a, b := net.Pipe()
			p := &fakePeer{t: t, conn: b}
			errc := make(chan error, 1)
			go func() {
				_, err := Client(ctx, a, ClientConfig{})
				errc <- err
			}()
			p.expect(TypeSCCRQ)
			time.Sleep(3 * time.Second)
			cancel()
			err := <-errc
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err %v", err)
			}
			if _, err := b.Read(make([]byte, 1)); err != io.EOF {
				t.Errorf("connection not closed: %v", err)
			}
		})
	})
	t.Run("bad config", func(t *testing.T) {
		a, b := net.Pipe()
		defer b.Close()
		if _, err := Client(context.Background(), a, ClientConfig{Phone: strings.Repeat("1", 65)}); err == nil {
			t.Error("65-byte phone number accepted")
		}
		if _, err := Client(context.Background(), a, ClientConfig{Quirk: "ORCKIT"}); err == nil {
			t.Error("unknown quirk accepted")
		}
	})
}

// Servers may send longer messages than RFC 2637 defines; the extra bytes are ignored.
func TestClientAcceptsLongerMessages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, errc, call := clientAgainst(t, ClientConfig{})
		p.expect(TypeSCCRQ)
		r := append(sccrp(1), make([]byte, 20)...)
		Header(r).SetLength(uint16(len(r)))
		p.write(r)
		oc := OCRQ(p.expect(TypeOCRQ))
		o := append(ocrp(9, oc.CallID(), 1), 0xAA, 0xBB)
		Header(o).SetLength(uint16(len(o)))
		p.write(o)
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		p.drain()
		(*call).Close()
	})
}

// Reference §1.8.
func TestBezeqQuirk(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, errc, call := clientAgainst(t, ClientConfig{Quirk: QuirkBezeqIsrael, CallID: 555, Phone: "123"})
		rq := SCCRQ(p.expect(TypeSCCRQ))
		if rq.FramingCapabilities() != 1 || rq.BearerCapabilities() != 1 || rq.MaxChannels() != 0 || rq.FirmwareRevision() != 0x6021 ||
			string(rq.HostName()) != "RELAY_PPP1" || string(rq.Vendor()) != "MS Win NT" || rq.ProtocolVersion() != 0x0100 {
			t.Errorf("SCCRQ % X", []byte(rq))
		}
		p.write(sccrp(1))
		oc := OCRQ(p.expect(TypeOCRQ))
		if oc.CallID() != 0 || oc.CallSerialNumber() != 0 || oc.MinimumBPS() != 2400 || oc.MaximumBPS() != 10000000 || oc.BearerType() != 2 ||
			oc.FramingType() != 3 || oc.RecvWindow() != 3 || string(oc.PhoneNumber()) != "RELAY_PPP1" || oc.PhoneNumberLength() != 10 {
			t.Errorf("OCRQ % X", []byte(oc))
		}
		p.write(ocrp(321, 0, 1))
		s := SetLinkInfo(p.expect(TypeSLI))
		if s.PeerCallID() != 321 || s.SendACCM() != 0xFFFFFFFF || s.ReceiveACCM() != 0xFFFFFFFF {
			t.Errorf("SLI % X", []byte(s))
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if (*call).LocalCallID() != 0 {
			t.Errorf("call ID %d on a Bezeq call", (*call).LocalCallID())
		}
		p.drain()
		(*call).Close()
	})
}

func acceptFrom(t *testing.T, cfg ServerConfig) (*fakePeer, chan error, **Call) {
	a, b := net.Pipe()
	errc := make(chan error, 1)
	var call *Call
	go func() {
		c, err := Accept(context.Background(), b, cfg)
		call = c
		errc <- err
	}()
	return &fakePeer{t: t, conn: a}, errc, &call
}

func sccrq() SCCRQ {
	m := make(SCCRQ, SCCRQLen)
	m.Init()
	m.SetProtocolVersion(ProtocolVersion)
	return m
}

func TestServerDropsBadStarts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		send   []byte
		after  time.Duration
		errMsg string
		malf   bool
	}{
		{"silent", nil, 7 * time.Second, "no Start-Control-Connection-Request within 7s", false},
		{"half a header", []byte{0x00, 0x9c, 0x00, 0x01, 0x1a}, 7 * time.Second, "no Start-Control-Connection-Request within 7s", false},
		{"HTTP", []byte("GET / HTTP/1.1\r\nHost: vpn\r\n\r\n"), 0, "first message: bad control message from client: malformed PPTP control message: magic cookie 0x2f204854", true},
		{"echo first", unhex(t, "00100001 1A2B3C4D 00050000 00000001"), 0, "first message is Echo-Request, not a Start-Control-Connection-Request", false},
		{"management first", unhex(t, "000C0002 1A2B3C4D 00010000"), 0, "first message is a management message, not a Start-Control-Connection-Request", false},
		{"SCCRQ then silence", sccrq(), 7 * time.Second, "no Outgoing-Call-Request from client within 7s", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p, errc, _ := acceptFrom(t, ServerConfig{StartTimeout: 7 * time.Second})
				go func() {
					p.conn.Write(tc.send)
					io.Copy(io.Discard, p.conn) // take the SCCRP, if any
				}()
				start := time.Now()
				err := <-errc
				if d := time.Since(start); d != tc.after {
					t.Errorf("dropped after %v, want %v", d, tc.after)
				}
				if err == nil || !strings.HasSuffix(err.Error(), tc.errMsg) || errors.Is(err, ErrMalformed) != tc.malf {
					t.Fatalf("err %v\nwant …%s", err, tc.errMsg)
				}
				synctest.Wait() // the connection is closed: the copier above has ended
			})
		})
	}
}

func TestServerRefusesCalls(t *testing.T) {
	for _, tc := range []struct {
		err    error
		result uint8
		msg    string
	}{
		{errors.New("no free addresses"), OCRPNotAccepted, "server refused the call: Outgoing-Call-Reply result 7 (Not Accepted), error 0 (None)"},
		{fmt.Errorf("100 calls: %w", ErrBusy), OCRPBusy, "server refused the call: Outgoing-Call-Reply result 4 (Busy Signal), error 0 (None)"},
	} {
		synctest.Test(t, func(t *testing.T) {
			a, b := net.Pipe()
			sErr := make(chan error, 1)
			go func() {
				_, err := Accept(context.Background(), b, ServerConfig{NewCall: func(uint16, OCRQ) (uint16, error) { return 0, tc.err }})
				sErr <- err
			}()
			start := time.Now()
			_, err := Client(context.Background(), a, ClientConfig{})
			wantErr(t, err, tc.msg)
			if err := <-sErr; !errors.Is(err, tc.err) || !strings.Contains(err.Error(), "call refused") {
				t.Errorf("Accept: %v", err)
			}
			if d := time.Since(start); d != 0 {
				t.Errorf("refusal took %v", d)
			}
		})
	}
}

func TestServerVersionMismatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, errc, _ := acceptFrom(t, ServerConfig{})
		rq := sccrq()
		rq.SetProtocolVersion(0x0200)
		p.write(rq)
		if r := SCCRP(p.expect(TypeSCCRP)); r.ResultCode() != SCCRPBadVersion {
			t.Errorf("SCCRP result %d", r.ResultCode())
		}
		p.conn.Close()
		if err := <-errc; err == nil || !strings.Contains(err.Error(), "client speaks PPTP version 2.0") {
			t.Errorf("err %v", err)
		}
	})
}

func TestServerHandlesClientMessages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log logbuf
		p, errc, call := acceptFrom(t, ServerConfig{IdleWait: -1, Logf: log.logf, NewCall: func(uint16, OCRQ) (uint16, error) { return 600, nil }})
		p.write(sccrq())
		p.expect(TypeSCCRP)
		rq := make(EchoRequest, EchoRQLen) // an echo before the OCRQ is answered
		rq.Init()
		rq.SetIdentifier(11)
		p.write(rq)
		if r := EchoReply(p.expect(TypeEchoRP)); r.Identifier() != 11 {
			t.Errorf("echo id %d", r.Identifier())
		}
		oc := make(OCRQ, OCRQLen)
		oc.Init()
		oc.SetCallID(700)
		oc.SetMaximumBPS(1000)
		p.write(oc)
		if r := OCRP(p.expect(TypeOCRP)); r.CallID() != 600 || r.PeerCallID() != 700 || r.ResultCode() != 1 || r.ConnectSpeed() != 1000 || r.RecvWindow() != DefaultWindow {
			t.Errorf("OCRP % X", []byte(r))
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		sv := *call
		p.write(oc) // a second call on this connection
		if r := OCRP(p.expect(TypeOCRP)); r.PeerCallID() != 700 || r.ResultCode() != OCRPNotAccepted {
			t.Errorf("second OCRP % X", []byte(r))
		}
		p.write(sccrq()) // a second SCCRQ is ignored
		ccrq := make(CCRQ, CCRQLen)
		ccrq.Init()
		ccrq.SetCallID(1) // not the client's call
		p.write(ccrq)
		ccrq.SetCallID(700)
		p.write(ccrq)
		if d := CDN(p.expect(TypeCDN)); d.CallID() != 600 || d.ResultCode() != CDNRequest {
			t.Errorf("CDN % X", []byte(d))
		}
		<-sv.Done()
		wantErr(t, sv.Err(), "client cleared the call (Call-Clear-Request)")
		st := make(StopCCRQ, StopCCRQLen)
		st.Init()
		st.SetReason(1)
		p.write(st)
		p.expect(TypeStopCCRP)
		sv.Close()
		if !log.has("Ignoring a second Start-Control-Connection-Request.") || !log.has("Call-Clear-Request for unknown call 1 ignored.") {
			t.Errorf("log %q", log.lines)
		}
	})
}

func TestServerEchoTimeoutAndEOF(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, errc, call := acceptFrom(t, ServerConfig{IdleWait: 60 * time.Second, MaxEchoWait: 60 * time.Second})
		p.write(sccrq())
		p.expect(TypeSCCRP)
		oc := make(OCRQ, OCRQLen)
		oc.Init()
		p.write(oc)
		p.expect(TypeOCRP)
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		p.drain() // the client reads everything and answers nothing
		<-(*call).Done()
		if d := time.Since(start); d != 120*time.Second {
			t.Errorf("gave up after %v", d)
		}
		wantErr(t, (*call).Err(), "control connection keepalive: the client sent no Echo-Reply within 1m0s of our Echo-Request; nothing heard from it for 2m0s")
		(*call).Close()
	})
	synctest.Test(t, func(t *testing.T) {
		p, errc, call := acceptFrom(t, ServerConfig{})
		p.write(sccrq())
		p.expect(TypeSCCRP)
		p.write(make(OCRQ, OCRQLen)[:0:0]) // nothing
		oc := make(OCRQ, OCRQLen)
		oc.Init()
		p.write(oc)
		p.expect(TypeOCRP)
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		p.conn.Close()
		<-(*call).Done()
		wantErr(t, (*call).Err(), "client closed the control connection")
		(*call).Close()
	})
}

// A client that does not answer our Close exchange is given up on after 2 s per step.
func TestCloseBoundedWhenPeerIsMute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, cl := setupAgainst(t, ClientConfig{IdleWait: -1})
		p.drain()
		start := time.Now()
		err := cl.Close()
		if d := time.Since(start); d != 4*time.Second {
			t.Errorf("Close took %v, want 4s", d)
		}
		if err == nil || !strings.Contains(err.Error(), "no Call-Disconnect-Notify from server within 2s") || !strings.Contains(err.Error(), "no Stop-Control-Connection-Reply from server within 2s") {
			t.Errorf("Close: %v", err)
		}
	})
}

// ClientConfig.IdleWait 0 means no echo of ours (the CLI passes --idle-wait through);
// ServerConfig.IdleWait 0 means pptpd's 60 s.
func TestIdleWaitZero(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cl, sv, ct, st := establish(t, ClientConfig{}, ServerConfig{})
		time.Sleep(61 * time.Second)
		synctest.Wait()
		if got := st.types(); !slices.Equal(got, []ControlType{TypeSCCRP, TypeOCRP, TypeEchoRQ}) {
			t.Errorf("server sent %v", got)
		}
		if got := ct.types(); !slices.Equal(got, []ControlType{TypeSCCRQ, TypeOCRQ, TypeEchoRP}) {
			t.Errorf("client sent %v", got)
		}
		cl.Close()
		sv.Close()
	})
}

// TestDefaultWindows: both ends advertise 1024, and our client trusts it from our server.
func TestDefaultWindows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cl, sv, _, _ := establish(t, ClientConfig{}, ServerConfig{})
		if sv.PeerRecvWindow() != 1024 || cl.PeerRecvWindow() != 1024 {
			t.Errorf("server sees the client's window %d, client the server's %d; want 1024", sv.PeerRecvWindow(), cl.PeerRecvWindow())
		}
		cl.Close()
		sv.Close()
	})
}

// TestMirroredWindowCapped: pptpd answers with our own window; from a server that is not
// ours the client keeps to at most 64.
func TestMirroredWindowCapped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, errc, call := clientAgainst(t, ClientConfig{IdleWait: -1})
		p.expect(TypeSCCRQ)
		rp := sccrp(1)
		rp.SetVendor("linux")
		p.write(rp)
		oc := OCRQ(p.expect(TypeOCRQ))
		if oc.RecvWindow() != 1024 {
			t.Errorf("OCRQ window %d, want 1024", oc.RecvWindow())
		}
		r := ocrp(99, oc.CallID(), 1)
		r.SetRecvWindow(oc.RecvWindow()) // pptpd's echo
		p.write(r)
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if w := (*call).PeerRecvWindow(); w != 64 {
			t.Errorf("window from pptpd's echo %d, want 64", w)
		}
		(*call).Close()
	})
}
