// SPDX-License-Identifier: MIT

package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pptp-go/pptp/netif"
	"github.com/pptp-go/pptp/session"
)

// ptySettings is what the two pppd modes need.
type ptySettings struct {
	dial        session.DialConfig
	sync        bool
	noHostRoute bool
	pppdPath    string
	pppdArgs    []string // launch mode: options after the tty and speed
	// pppdPassword (launch mode, from --password/--password-file) reaches pppd through a
	// pipe read by its passwordfd plugin, never on its command line.
	pppdPassword string
	debug        bool
	pidFile      string
}

// runNoLaunch is `pppd pty "pptp HOST --nolaunchpppd"`: fd 0 is pppd's pty, read and written;
// fd 1 is unused; stderr goes quiet once the call is up (pptp-linux's contract).
func runNoLaunch(ctx context.Context, log *logger, s *ptySettings) int {
	if null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		unix.Dup2(int(null.Fd()), 1)
		null.Close()
	}
	// A pollable fd 0 lets the bridge stop its reader with a deadline.
	unix.SetNonblock(0, true)
	tty := os.NewFile(0, "pty")
	return runBridge(ctx, log, s, tty, nil)
}

// runLaunch is pptp-linux's launch mode: we open a pty, place the call, then exec pppd on the
// pty's slave with the remaining options, and bridge until pppd exits.
func runLaunch(ctx context.Context, log *logger, s *ptySettings) int {
	path := s.pppdPath
	if path == "" {
		path = "/usr/sbin/pppd"
	}
	if _, err := os.Stat(path); err != nil {
		if p, lerr := exec.LookPath("pppd"); lerr == nil {
			path = p
		} else {
			log.Logf("launch mode needs pppd, which is not installed (%s); the built-in mode needs no pppd: drop --launch-pppd and give --user/--password", path)
			return exitFatal
		}
	}
	s.pppdPath = path
	if _, err := os.Stat("/dev/ppp"); err != nil {
		log.Logf("launch mode needs kernel PPP (/dev/ppp is missing: no ppp_generic module?); the built-in mode needs none: drop --launch-pppd")
		return exitFatal
	}
	master, slave, err := openPTY()
	if err != nil {
		log.Logf("cannot open a pty: %v", err)
		return exitFatal
	}
	defer master.Close()
	return runBridge(ctx, log, s, master, slave)
}

// runBridge places the call and bridges tty ⇄ GRE. With slave non-nil it launches pppd on it.
func runBridge(ctx context.Context, log *logger, s *ptySettings, tty, slave *os.File) int {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	release, ok := takePidFile(log, s.pidFile)
	if !ok {
		return exitFatal
	}
	defer release()
	dctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	t, err := session.Dial(dctx, s.dial)
	cancel()
	if err != nil {
		log.Logf("%v", err)
		return exitFatal
	}
	// The host route goes to the address the control connection reached (of several a
	// name may have), before pppd starts and brings routes into the tunnel.
	if server, callID := t.Server, t.Call.LocalCallID(); !s.noHostRoute {
		shared := func() bool { return session.OtherCallsTo(server, callID) }
		if undo, err := netif.HostRoute(server, shared, log.Debugf); err != nil {
			log.Warnf("host route to %s: %v", server, err)
		} else {
			defer undo()
		}
	}
	log.Logf("Outgoing call established (call ID %d, peer's call ID %d).", t.Call.LocalCallID(), t.Call.PeerCallID())

	var pppd *exec.Cmd
	pppdExited := make(chan struct{}) // closed once Wait has returned; ProcessState is then safe to read
	if slave != nil {
		// nodetach: pppd is our child, and its exit ends the call; a pppd that forked into
		// the background would look like one that had exited.
		args := append([]string{slave.Name(), "38400", "nodetach"}, s.pppdArgs...)
		var pw *os.File
		if s.pppdPassword != "" {
			if pw, err = passwordPipe(s.pppdPassword); err != nil {
				log.Logf("password pipe for pppd: %v", err)
				t.Link.Close()
				t.Call.Close()
				return exitFatal
			}
			args = append(args, "plugin", "passwordfd.so", "passwordfd", "3") // ExtraFiles[0] is fd 3
		}
		pppd = exec.Command(s.pppdPath, args...)
		pppd.Stdin, pppd.Stdout, pppd.Stderr = slave, slave, os.Stderr
		if pw != nil {
			pppd.ExtraFiles = []*os.File{pw}
		}
		pppd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := pppd.Start(); err != nil {
			log.Logf("starting pppd: %v", err)
			if pw != nil {
				pw.Close()
			}
			t.Link.Close()
			t.Call.Close()
			return exitFatal
		}
		slave.Close()
		if pw != nil {
			pw.Close() // pppd has its copy
		}
		go func() { pppd.Wait(); close(pppdExited) }()
	} else {
		log.quiet()
	}

	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	go func() {
		for range usr1 {
			log.Logf("GRE statistics:\n%s", t.Link.Stats())
		}
	}()

	var stats session.PTYStats
	err = t.RunOver(ctx, func(ctx context.Context) error {
		bctx, cancel := context.WithCancel(ctx)
		defer cancel()
		if pppd != nil {
			go func() {
				select {
				case <-pppdExited:
					cancel()
				case <-bctx.Done():
				}
			}()
		}
		return session.RunPTY(bctx, t.Link, tty, session.PTYConfig{Sync: s.sync, Logf: log.Debugf}, &stats)
	})
	if s.debug {
		log.Logf("GRE statistics:\n%s", t.Link.Stats())
		log.Logf("pty: %d frames from pppd, %d bad FCS, %d runts, %d to pppd",
			stats.Decoder.Frames, stats.Decoder.BadFCS, stats.Decoder.Runts, stats.ToPPPD)
	}
	code := exitOK
	if pppd != nil {
		select {
		case <-pppdExited:
		default:
			pppd.Process.Signal(syscall.SIGTERM)
			select {
			case <-pppdExited:
			case <-time.After(5 * time.Second):
				pppd.Process.Kill()
				<-pppdExited
			}
		}
		if ps := pppd.ProcessState; ps != nil && !ps.Success() {
			log.Logf("pppd exited: %s", pppdStatus(ps))
			code = exitFatal
		}
	} else if err != nil && !errors.Is(err, session.ErrPTYClosed) {
		log.Logf("%v", err)
		code = exitFatal
	}
	return code
}

// pppdStatus puts pppd's exit status (pppd(8) "EXIT STATUS") into words.
func pppdStatus(ps *os.ProcessState) string {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return fmt.Sprintf("killed by signal %v", ws.Signal())
	}
	words := map[int]string{
		1: "fatal error", 2: "error in the options", 3: "not setuid-root and not root",
		4: "the kernel does not support PPP", 5: "terminated by a signal", 6: "could not lock the serial port",
		7: "could not open the serial port", 8: "connect script failed", 9: "pty command failed",
		10: "PPP negotiation failed", 11: "peer failed to authenticate", 12: "idle timeout",
		13: "connect time limit", 14: "callback", 15: "peer stopped responding (LCP echo)",
		16: "modem hung up", 17: "loopback detected", 18: "init script failed",
		19: "authentication failed (we could not authenticate to the peer)",
	}
	c := ps.ExitCode()
	if w, ok := words[c]; ok {
		return fmt.Sprintf("status %d: %s", c, w)
	}
	return fmt.Sprintf("status %d", c)
}

// passwordPipe returns the read end of a pipe that holds password and is closed for writing
// (pppd's passwordfd plugin reads it to EOF when it authenticates).
func passwordPipe(password string) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	_, err = w.WriteString(password)
	w.Close()
	if err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}
