// SPDX-License-Identifier: MIT

package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/pptp-go/pptp/gre"
	"github.com/pptp-go/pptp/hdlc"
)

// PTYConfig describes the bridge between pppd's pty and the GRE link.
type PTYConfig struct {
	// Sync selects synchronous framing (pppd "sync", pptp --sync): one PPP frame per pty
	// read/write, no flags, escapes or FCS. Otherwise RFC 1662 async HDLC.
	Sync bool
	Logf func(format string, args ...any)
}

// PTYStats counts the pty side.
type PTYStats struct {
	Decoder hdlc.Decoder      // async: frames, bad FCS, runts, overlong, aborted
	Sync    hdlc.SyncSplitter // sync: frames, frames whose length only the read gave
	ToPPPD  uint64
}

// RunPTY copies PPP frames between pty (pppd's side of the call) and link until the pty closes
// (pppd exited), the link fails, or ctx ends. It does not close pty or link.
func RunPTY(ctx context.Context, link *gre.Link, pty *os.File, cfg PTYConfig, stats *PTYStats) error {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if stats == nil {
		stats = new(PTYStats)
	}
	errc := make(chan error, 2)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		errc <- ptyToGRE(pty, link, cfg, stats)
	}()
	go func() {
		// The link's receive loop ends when the link is closed by our caller.
		var out []byte
		werr := error(nil)
		err := link.Receive(func(bufs [][]byte, offs []int) {
			if werr != nil {
				return
			}
			out = out[:0]
			for i, b := range bufs {
				frame := b[offs[i]:]
				if cfg.Sync {
					if _, err := pty.Write(frame); err != nil {
						werr = err
						return
					}
					continue
				}
				out = hdlc.AppendFrame(out, frame, 0xFFFFFFFF)
			}
			stats.ToPPPD += uint64(len(bufs))
			if len(out) > 0 {
				if _, err := pty.Write(out); err != nil {
					werr = err
				}
			}
		})
		if werr != nil {
			errc <- fmt.Errorf("writing to pppd's pty: %w", werr)
			return
		}
		errc <- err
	}()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	// Unblock the pty reader; the caller closes the link, which ends the other goroutine.
	pty.SetReadDeadline(aLongTimeAgo)
	wg.Wait()
	pty.SetReadDeadline(noDeadline)
	return err
}

// ptyToGRE reads pppd's frames and sends them, a read's worth of frames per batch.
func ptyToGRE(pty *os.File, link *gre.Link, cfg PTYConfig, stats *PTYStats) error {
	const maxFrames = 64
	rbuf := make([]byte, 16384)
	bufs := make([][]byte, maxFrames)
	for i := range bufs {
		bufs[i] = make([]byte, gre.HeaderLen+bufSize)
	}
	out := make([][]byte, 0, maxFrames)
	flush := func() {
		if len(out) > 0 {
			link.Write(out, gre.HeaderLen)
			out = out[:0]
		}
	}
	emit := func(frame []byte) {
		if len(frame) > bufSize {
			return
		}
		if len(out) == maxFrames {
			flush()
		}
		b := bufs[len(out)]
		n := copy(b[gre.HeaderLen:], frame)
		out = append(out, b[:gre.HeaderLen+n])
	}
	for {
		n, err := pty.Read(rbuf)
		if n > 0 {
			if cfg.Sync {
				stats.Sync.Split(rbuf[:n], emit)
			} else {
				stats.Decoder.Decode(rbuf[:n], emit)
			}
			flush()
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, os.ErrClosed) {
				return nil
			}
			if errors.Is(err, io.EOF) || errors.Is(err, syscall.EIO) {
				return ErrPTYClosed
			}
			return fmt.Errorf("reading pppd's pty: %w", err)
		}
	}
}

// ErrPTYClosed means pppd closed its end of the pty: it exited or hung up.
var ErrPTYClosed = errors.New("pppd closed the pty (pppd exited; see pppd's log for why)")

var (
	aLongTimeAgo = time.Unix(1, 0)
	noDeadline   time.Time
)
