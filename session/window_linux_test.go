// SPDX-License-Identifier: MIT

package session

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pptp-go/pptp/control"
	"github.com/pptp-go/pptp/gre"
	"github.com/pptp-go/pptp/internal/nstest"
)

// Dial advertises the Packet Recv. Window Size its GRE socket's buffer holds: the default
// when the buffer is large, fewer packets (and a log line saying why) when it is small.
func TestDialAdvertisesWhatTheBufferHolds(t *testing.T) {
	nstest.RequireRoot(t)
	p := nstest.NewPair(t, "win")
	ln, err := nstest.Listen(p.A, p.AddrA+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	windows := make(chan uint16, 1)
	nstest.Serve(ln, func(c net.Conn) {
		call, err := control.Accept(context.Background(), c, control.ServerConfig{
			NewCall: func(_ uint16, req control.OCRQ) (uint16, error) {
				windows <- req.RecvWindow()
				return 0x4242, nil
			},
		})
		if err == nil {
			call.Close()
		}
	})
	port := ln.Addr().(*net.TCPAddr).Port
	for _, tc := range []struct {
		buffer int
		small  bool
	}{{0, false}, {48 << 10, true}} {
		var mu sync.Mutex
		var logs strings.Builder
		cfg := DialConfig{
			Server: fmt.Sprintf("%s:%d", p.AddrA, port),
			Link:   gre.LinkOptions{Socket: gre.Options{BufferBytes: tc.buffer}},
			Logf: func(format string, args ...any) {
				mu.Lock()
				defer mu.Unlock()
				fmt.Fprintf(&logs, format+"\n", args...)
			},
		}
		cfg.Control.ReplyTimeout = 5 * time.Second
		err := nstest.In(p.B, func() error {
			tun, err := Dial(context.Background(), cfg)
			if err == nil {
				tun.Link.Close()
				tun.Call.Close()
			}
			return err
		})
		if err != nil {
			t.Fatalf("buffer %d: Dial: %v", tc.buffer, err)
		}
		w := <-windows
		mu.Lock()
		said := strings.Contains(logs.String(), fmt.Sprintf("advertising a window of %d", w))
		mu.Unlock()
		switch {
		case !tc.small && (w != control.DefaultWindow || said):
			t.Errorf("default buffer: window %d (want %d), logged %v", w, control.DefaultWindow, said)
		case tc.small && (w >= control.DefaultWindow || w < 8 || !said):
			t.Errorf("buffer of %d bytes: window %d, logged %v:\n%s", tc.buffer, w, said, logs.String())
		}
		t.Logf("buffer %d: window %d", tc.buffer, w)
	}
}
