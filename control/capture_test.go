// SPDX-License-Identifier: MIT

package control

import (
	"bytes"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pptp-go/pptp/internal/capture"
)

// Every control message pptp-linux 1.10.0 and pptpd 1.4.0 exchanged in the shared captures
// parses, in the expected order, with the values those programs are known to send.
func TestRealCaptures(t *testing.T) {
	files, _ := filepath.Glob("../../shared/captures/*.pcap")
	if len(files) == 0 {
		t.Skip("no captures in ../../shared/captures")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			pkts, err := capture.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			// Interleaved order of both directions, as captured.
			var types []ControlType
			var msgs [][]byte
			for _, p := range pkts {
				if p.Proto != capture.ProtoTCP || len(p.TCPPayload) == 0 {
					continue
				}
				r := bytes.NewReader(p.TCPPayload)
				for r.Len() > 0 {
					m, err := ReadMessage(r, make([]byte, MaxMessageLen))
					if err != nil {
						t.Fatalf("segment % X: %v", p.TCPPayload, err)
					}
					types = append(types, Header(m).ControlType())
					msgs = append(msgs, m)
				}
			}
			want := []ControlType{TypeSCCRQ, TypeSCCRP, TypeOCRQ, TypeOCRP}
			if len(types) < 5 || !slices.Equal(types[:4], want) {
				t.Fatalf("types %v", types)
			}
			for _, ct := range types[4:] {
				// After the call is up only these may appear; pptp-linux ends with CCRQ.
				if !slices.Contains([]ControlType{TypeSLI, TypeEchoRQ, TypeEchoRP, TypeCCRQ, TypeCDN, TypeStopCCRQ, TypeStopCCRP}, ct) {
					t.Errorf("unexpected %v after setup", ct)
				}
			}
			if !slices.Contains(types, TypeCCRQ) {
				t.Errorf("no Call-Clear-Request in %v", types)
			}

			rq := SCCRQ(msgs[0])
			if rq.ProtocolVersion() != ProtocolVersion || rq.FramingCapabilities() != 3 || rq.BearerCapabilities() != 3 ||
				rq.MaxChannels() != 65535 || rq.FirmwareRevision() != 1 || string(rq.HostName()) != "local" || string(rq.Vendor()) != "cananian" {
				t.Errorf("SCCRQ % X", msgs[0])
			}
			rp := SCCRP(msgs[1])
			if rp.ProtocolVersion() != ProtocolVersion || rp.ResultCode() != SCCRPSuccess || rp.MaxChannels() != 1 {
				t.Errorf("SCCRP version %#x result %d channels %d", rp.ProtocolVersion(), rp.ResultCode(), rp.MaxChannels())
			}
			oc := OCRQ(msgs[2])
			if oc.CallID() == 0 || oc.MinimumBPS() != 2400 || oc.MaximumBPS() != 10000000 || oc.BearerType() != 3 ||
				oc.FramingType() != 3 || oc.RecvWindow() != 3 {
				t.Errorf("OCRQ % X", msgs[2])
			}
			op := OCRP(msgs[3])
			if op.ResultCode() != OCRPConnected || op.PeerCallID() != oc.CallID() || op.CallID() != 0 || op.ConnectSpeed() != oc.MaximumBPS() {
				t.Errorf("OCRP call %d peer %d result %d speed %d (OCRQ call %d)", op.CallID(), op.PeerCallID(), op.ResultCode(), op.ConnectSpeed(), oc.CallID())
			}
			i := slices.Index(types, TypeCCRQ)
			if id := CCRQ(msgs[i]).CallID(); id != oc.CallID() {
				t.Errorf("CCRQ call ID %d, OCRQ said %d", id, oc.CallID())
			}
			// The per-direction streams (retransmissions removed) hold the same messages.
			for _, fromClient := range []bool{true, false} {
				s := bytes.NewReader(capture.ControlStream(pkts, fromClient))
				n := 0
				for s.Len() > 0 {
					if _, err := ReadMessage(s, nil); err != nil {
						t.Fatalf("stream (from client %v): %v", fromClient, err)
					}
					n++
				}
				if n < 2 {
					t.Errorf("stream from client %v: %d messages", fromClient, n)
				}
			}
		})
	}
}
