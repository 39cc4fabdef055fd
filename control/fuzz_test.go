// SPDX-License-Identifier: MIT

package control

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"
)

// byteConn is a connection whose peer sent exactly the given bytes and then closed it.
// Writes are accepted and dropped; deadlines are irrelevant because reads never block.
type byteConn struct{ r *bytes.Reader }

func (c *byteConn) Read(b []byte) (int, error)       { return c.r.Read(b) }
func (c *byteConn) Write(b []byte) (int, error)      { return len(b), nil }
func (c *byteConn) Close() error                     { return nil }
func (c *byteConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *byteConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *byteConn) SetDeadline(time.Time) error      { return nil }
func (c *byteConn) SetReadDeadline(time.Time) error  { return nil }
func (c *byteConn) SetWriteDeadline(time.Time) error { return nil }

func cat(ms ...[]byte) []byte { return bytes.Join(ms, nil) }

// A server fed arbitrary bytes returns (with a call or an error) and, for a call, ends it
// when the bytes run out; it never panics or hangs.
func FuzzAccept(f *testing.F) {
	oc := make(OCRQ, OCRQLen)
	oc.Init()
	oc.SetCallID(7)
	echo := unhex(f, "00100001 1A2B3C4D 00050000 00000001")
	ccrq := make(CCRQ, CCRQLen)
	ccrq.Init()
	ccrq.SetCallID(7)
	stop := make(StopCCRQ, StopCCRQLen)
	stop.Init()
	f.Add(cat(sccrq(), oc))                   // a complete setup, then EOF
	f.Add(cat(sccrq(), echo, oc, echo, ccrq)) // echoes around the OCRQ, then the client clears
	f.Add(cat(sccrq(), oc, oc, stop))         // a second call refused, then Stop
	// SCCRQ only: the OCRQ never comes.
	f.Add([]byte(sccrq()))
	// OCRQ cut short after its header.
	f.Add(cat(sccrq(), oc[:20]))
	// An OCRQ whose Length claims 16 bytes: below its defined size.
	f.Add(cat(sccrq(), unhex(f, "00100001 1A2B3C4D 00070000 00070000")))
	// Garbage instead of a header.
	f.Add([]byte("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"))
	// A valid management message first.
	f.Add(unhex(f, "000C0002 1A2B3C4D 00010000"))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, refuse := range []bool{false, true} {
			cfg := ServerConfig{IdleWait: -1, NewCall: func(uint16, OCRQ) (uint16, error) {
				if refuse {
					return 0, ErrBusy
				}
				return 1, nil
			}}
			c, err := Accept(context.Background(), &byteConn{bytes.NewReader(in)}, cfg)
			if (c == nil) == (err == nil) {
				t.Fatalf("call %v and error %v", c, err)
			}
			if c != nil {
				<-c.Done() // the bytes end, so does the call
				c.Close()
			}
		}
	})
}
