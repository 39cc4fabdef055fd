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
