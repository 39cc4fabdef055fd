// SPDX-License-Identifier: MIT

package control

import (
	"bytes"
	"context"
	"testing"
)

// FuzzClient is FuzzAccept for the other side: a client whose server sends arbitrary bytes
// returns a call or an error, ends the call when the bytes run out, and never panics or
// hangs. Its Call ID is fixed so that a seed can answer it.
func FuzzClient(f *testing.F) {
	rp := make(SCCRP, SCCRPLen)
	rp.Init()
	rp.SetProtocolVersion(ProtocolVersion)
	rp.SetResultCode(SCCRPSuccess)
	oc := make(OCRP, OCRPLen)
	oc.Init()
	oc.SetCallID(99)
	oc.SetPeerCallID(7)
	oc.SetResultCode(OCRPConnected)
	echo := unhex(f, "00100001 1A2B3C4D 00050000 00000001")
	cdn := make(CDN, CDNLen)
	cdn.Init()
	cdn.SetCallID(99)
	stop := make(StopCCRQ, StopCCRQLen)
	stop.Init()
	f.Add(cat(rp, oc))                                              // a complete setup, then EOF
	f.Add(cat(rp, echo, oc, echo, cdn))                             // echoes around the OCRP, then the server disconnects
	f.Add(cat(rp, oc, stop))                                        // then Stop
	f.Add([]byte(rp))                                               // no OCRP
	f.Add(cat(rp, oc[:20]))                                         // OCRP cut short
	f.Add(cat(rp, unhex(f, "00100001 1A2B3C4D 00080000 00630007"))) // an OCRP claiming 16 bytes
	bad := OCRP(bytes.Clone(oc))
	bad.SetPeerCallID(8) // for another call
	f.Add(cat(rp, bad, oc))
	refused := bytes.Clone(rp)
	SCCRP(refused).SetResultCode(2)
	f.Add([]byte(refused))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := Client(context.Background(), &byteConn{bytes.NewReader(in)}, ClientConfig{CallID: 7, IdleWait: -1})
		if (c == nil) == (err == nil) {
			t.Fatalf("call %v and error %v", c, err)
		}
		if c != nil {
			<-c.Done()
			c.Close()
		}
	})
}
