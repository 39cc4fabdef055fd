// SPDX-License-Identifier: MIT

package ppp

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// rrasOptions is what Windows RRAS and MikroTik put beside pppd's options (RFC 1990, 2125,
// 1570 byte layouts): MRRU 1614, short sequence numbers, endpoint discriminator of class
// magic, callback by CBCP, BACP's link discriminator.
var rrasOptions = []byte{
	LCPOptMRRU, 4, 0x06, 0x4E,
	lcpOptSSNHF, 2,
	lcpOptEndpoint, 9, 4, 0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC,
	LCPOptCallback, 3, 6,
	lcpOptLinkDisc, 4, 0x00, 0x07,
}

func TestDescribeLCPExtraOptions(t *testing.T) {
	req := append([]byte{LCPOptMRU, 4, 5, 0x78}, rrasOptions...)
	got := describePacket(ProtoLCP, appendPacket(nil, CodeConfigureRequest, 1, req))
	want := "[LCP ConfReq id=0x1 <mru 1400> <mrru 1614> <ssnhf> <endpoint magic:123456789abc> <callback CBCP> <link-discriminator 7>]"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	for class, want := range map[byte]string{0: "null", 1: "local:0a0b", 2: "IP:10.11.12.13", 3: "MAC:0a:0b:0c:0d:0e:0f", 5: "phone:0a0b", 9: "class9:0a"} {
		addr := map[byte][]byte{2: {10, 11, 12, 13}, 3: {10, 11, 12, 13, 14, 15}, 9: {10}}[class]
		if addr == nil && class != 0 {
			addr = []byte{10, 11}
		}
		if class == 0 {
			addr = nil
		}
		if got := endpointString(class, addr); got != want {
			t.Errorf("class %d: %s, want %s", class, got, want)
		}
	}
}

// An RRAS-like Configure-Request: every multilink, callback and BACP option comes back in one
// Configure-Reject, byte for byte (RFC 1661 §5.4), and the link comes up without them.
func TestEngineRejectsMultilinkCallbackBACP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newSide(clientConfig())
		go func() { c.err = c.e.Run(context.Background()); close(c.done) }()
		synctest.Wait()
		req := append([]byte{LCPOptMRU, 4, 5, 0x78, LCPOptMagic, 6, 1, 2, 3, 4}, rrasOptions...)
		c.e.Input(appendFrame(nil, ProtoLCP, appendPacket(nil, CodeConfigureRequest, 7, req)))
		synctest.Wait()
		rej := c.out.find(ProtoLCP, CodeConfigureReject)
		if len(rej) != 1 || rej[0].ID() != 7 || !bytes.Equal(rej[0][4:], rrasOptions) {
			t.Fatalf("Configure-Rejects %x, want one with id 7 carrying %x", rej, rrasOptions)
		}
		c.logMu.Lock()
		logs := strings.Join(c.logs, "\n")
		c.logMu.Unlock()
		if !strings.Contains(logs, "<mrru 1614> <ssnhf> <endpoint magic:123456789abc>") {
			t.Errorf("debug log does not name the options:\n%s", logs)
		}
		c.e.Close()
		time.Sleep(10 * time.Second)
		<-c.done
	})
}

// Once the link is up, RFC 1570's Identification and Time-Remaining (Windows and Cisco send
// them) are ignored, not Code-Rejected; the multilink and bandwidth-allocation protocols
// (MP, BACP, BAP, CBCP) each get a Protocol-Reject quoting them (RFC 1661 §5.7), and the
// link stays up.
func TestEngineRFC1570AndBandwidthProtocols(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := pair(t, clientConfig(), serverConfig())
		if !waitUp(t, c, s) {
			t.Fatalf("link failed: %v %v", c.err, s.err)
		}
		ident := appendPacket(nil, CodeIdentification, 9, append([]byte{0, 0, 0, 0}, "MSRASV5.20"...))
		trem := appendPacket(nil, CodeTimeRemaining, 10, append([]byte{0, 0, 0, 0, 0, 0, 0x0E, 0x10}, "session limit"...))
		c.e.Input(appendFrame(nil, ProtoLCP, ident))
		c.e.Input(appendFrame(nil, ProtoLCP, trem))
		protos := []uint16{0xC02B, 0xC02D, 0xC029, 0x003D}
		for _, p := range protos {
			c.e.Input(appendFrame(nil, p, appendPacket(nil, CodeConfigureRequest, 1, []byte{1, 4, 0, 0})))
		}
		synctest.Wait()
		if rej := c.out.find(ProtoLCP, CodeCodeReject); len(rej) != 0 {
			t.Errorf("Code-Reject sent for RFC 1570 codes: %x", rej)
		}
		prs := c.out.find(ProtoLCP, CodeProtocolReject)
		if len(prs) != len(protos) {
			t.Fatalf("%d Protocol-Rejects, want %d", len(prs), len(protos))
		}
		for i, p := range protos {
			want := append([]byte{byte(p >> 8), byte(p)}, appendPacket(nil, CodeConfigureRequest, 1, []byte{1, 4, 0, 0})...)
			if !bytes.Equal(prs[i][4:], want) {
				t.Errorf("Protocol-Reject %d: %x, want %x", i, prs[i][4:], want)
			}
		}
		c.logMu.Lock()
		logs := strings.Join(c.logs, "\n")
		c.logMu.Unlock()
		for _, want := range []string{`[LCP Ident id=0x9 magic=0x0 "MSRASV5.20"]`, `[LCP TimeRem id=0xa magic=0x0 seconds=3600 "session limit"]`,
			"rejecting unsupported protocol BACP", "rejecting unsupported protocol BAP", "rejecting unsupported protocol CBCP", "rejecting unsupported protocol MP"} {
			if !strings.Contains(logs, want) {
				t.Errorf("log lacks %q:\n%s", want, logs)
			}
		}
		select {
		case <-c.done:
			t.Fatalf("link ended: %v", c.err)
		default:
		}
		c.e.Close()
		waitDone(t, c, 10*time.Second)
		waitDone(t, s, 10*time.Second)
	})
}
