// SPDX-License-Identifier: MIT

package session

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pptp-go/pptp/gre"
	"github.com/pptp-go/pptp/hdlc"
	"github.com/pptp-go/pptp/ppp"
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
	var accm accmSnoop
	accm.reset()
	errc := make(chan error, 2)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		errc <- ptyToGRE(pty, link, cfg, stats, &accm)
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
				accm.fromPeer(frame)
				out = hdlc.AppendFrame(out, frame, accm.current.Load())
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
func ptyToGRE(pty *os.File, link *gre.Link, cfg PTYConfig, stats *PTYStats, accm *accmSnoop) error {
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
		if !cfg.Sync {
			accm.fromPPPD(frame)
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

// accmSnoop learns the async control character map pppd negotiated for what it receives, so
// frames to pppd escape only the control characters it asked for (RFC 1662 §7.1) rather than
// all 32, as pptp-linux always did. pppd's LCP Configure-Request states the map and the peer's
// Configure-Ack accepts it, but pppd's tty only starts using it when LCP opens, and bytes it
// receives before that are filtered with the full map: a control character we left unescaped
// then vanishes. So the map takes effect only once pppd sends its first non-LCP frame, which
// it does only after LCP is up. Until then, and whenever pppd renegotiates, every control
// character is escaped, which is always safe.
type accmSnoop struct {
	current atomic.Uint32
	// state of pppd's last Configure-Request: 1<<41 acked | 1<<40 valid | id<<32 | map
	requested atomic.Uint64
}

const (
	accmValid = 1 << 40
	accmAcked = 1 << 41
)

func (a *accmSnoop) reset() { a.current.Store(0xFFFFFFFF) }

// lcp returns the LCP packet in frame, or ok false.
func lcp(frame []byte) (p ppp.Packet, ok bool) {
	proto, info, err := ppp.ParseFrame(frame)
	if err != nil || proto != ppp.ProtoLCP {
		return nil, false
	}
	p, err = ppp.ParsePacket(info)
	return p, err == nil
}

// fromPPPD looks at a frame pppd sent.
func (a *accmSnoop) fromPPPD(frame []byte) {
	p, ok := lcp(frame)
	if !ok {
		if r := a.requested.Load(); r&accmAcked != 0 && !isLCP(frame) {
			a.current.Store(uint32(r)) // pppd is past LCP: its tty uses the new map
		}
		return
	}
	if p.Code() != ppp.CodeConfigureRequest {
		return
	}
	a.reset()
	m := uint64(0xFFFFFFFF) // the RFC 1662 default when the option is absent
	for o, err := range ppp.Options(p.Data()) {
		if err == nil && o.Type() == ppp.LCPOptACCM && len(o.Data()) == 4 {
			m = uint64(binary.BigEndian.Uint32(o.Data()))
		}
	}
	a.requested.Store(accmValid | uint64(p.ID())<<32 | m)
}

// isLCP reports whether frame carries LCP (malformed LCP included).
func isLCP(frame []byte) bool {
	proto, _, err := ppp.ParseFrame(frame)
	return err != nil || proto == ppp.ProtoLCP
}

// fromPeer looks at a frame the peer sent towards pppd.
func (a *accmSnoop) fromPeer(frame []byte) {
	if len(frame) < 4 || frame[0] != ppp.FrameAddress && frame[0] != ppp.ProtoLCP>>8 {
		return // fast path: not LCP, with or without address and control
	}
	p, ok := lcp(frame)
	if !ok || p.Code() != ppp.CodeConfigureAck {
		return
	}
	if r := a.requested.Load(); r&accmValid != 0 && byte(r>>32) == p.ID() {
		a.requested.Store(r | accmAcked)
	}
}
