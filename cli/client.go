// SPDX-License-Identifier: MIT

package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pptp-go/pptp"
	"github.com/pptp-go/pptp/control"
	"github.com/pptp-go/pptp/mschap"
	"github.com/pptp-go/pptp/netif"
	"github.com/pptp-go/pptp/ppp"
	"github.com/pptp-go/pptp/proxy"
	"github.com/pptp-go/pptp/session"
)

// Exit statuses of the built-in mode follow pppd(8), which scripts around pppd already know;
// the pty modes keep pptp-linux's 0/1/2.
const (
	exitOK          = 0
	exitFatal       = 1
	exitOptions     = 2
	exitNotRoot     = 3
	exitNoGRE       = 8 // pppd's "connect script failed": the call is up but GRE does not pass
	exitNegotiation = 10
	exitPeerDead    = 15 // pppd's: a keepalive (LCP echo or the control connection's) gave up
	exitHangup      = 16 // pppd's "modem hang-up": the server ended the link or the call
	exitAuthFailed  = 19
)

// clientSettings is everything the built-in client needs, resolved from the command line,
// pppd option files and secrets.
type clientSettings struct {
	server      string
	dial        session.DialConfig
	engine      ppp.Config
	ifname      string
	mtu         int
	netif       netif.Config
	applyDNS    bool
	pidFile     string
	debug       bool
	ipparam     string // for ip-up and ip-down
	persist     bool
	maxFail     int
	holdoff     time.Duration
	statusFile  string
	socksAddr   string
	httpAddr    string
	proxyAuth   proxy.Auth
	mppeKeyWarn bool
	noHostRoute bool

	// defaultRoute6: the IPv6 default route from the server's Router Advertisement
	defaultRoute6 bool
}

// exitError carries an exit status with its message.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// classify maps why a session ended to pppd's exit statuses.
func classify(err error) int {
	var f *mschap.Failure
	var re *control.ResultError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &f), errors.Is(err, ppp.ErrAuthFailed):
		return exitAuthFailed
	case errors.Is(err, session.ErrNoGRE):
		return exitNoGRE
	case errors.Is(err, ppp.ErrPeerDead), errors.Is(err, control.ErrNoEchoReply):
		return exitPeerDead
	case errors.Is(err, ppp.ErrNegotiation):
		return exitNegotiation
	case errors.Is(err, ppp.ErrPeerTerminated), errors.Is(err, session.ErrCallEnded), errors.As(err, &re):
		return exitHangup
	}
	return exitFatal
}

// runClient is the built-in mode: our PPP engine and a TUN device.
func runClient(ctx context.Context, log *logger, s *clientSettings) int {
	proxyMode := s.socksAddr != "" || s.httpAddr != ""
	if os.Geteuid() != 0 && !hasCaps(proxyMode) {
		if proxyMode {
			log.Logf("proxy mode needs root or CAP_NET_RAW (raw GRE socket)")
		} else {
			log.Logf("the built-in mode needs root or CAP_NET_ADMIN (TUN device, routes) and CAP_NET_RAW (GRE)")
		}
		return exitNotRoot
	}
	if s.mppeKeyWarn {
		log.Warnf("--set-mppe-key: a fixed MPPE key is for testing only; it gives no security")
	}
	release, ok := takePidFile(log, s.pidFile)
	if !ok {
		return exitFatal
	}
	defer release()
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	cs := &clientStatus{server: s.server} // `pptp status`, from the first link up to exit
	defer cs.close()
	fails := 0 // consecutive attempts that did not bring the link up (pppd's maxfail)
	for {
		// SIGHUP ends this link only: as pppd, we redial with persist and exit without.
		actx, cancel := context.WithCancel(ctx)
		var hupped atomic.Bool
		watched := make(chan struct{})
		go func() {
			select {
			case <-hup:
				hupped.Store(true)
				cancel()
			case <-watched:
			}
		}()
		up, err := clientOnce(actx, log, s, cs)
		close(watched)
		cancel()
		code := classify(err)
		if err != nil {
			var ee *exitError
			if errors.As(err, &ee) {
				code = ee.code
			}
			log.Logf("%v", err)
		}
		if ctx.Err() != nil || (hupped.Load() && !s.persist) {
			return exitOK // stopped by a signal after a clean teardown
		}
		if up || hupped.Load() {
			fails = 0 // a link that came up was no failed attempt
		}
		if !hupped.Load() && (!s.persist || code == exitAuthFailed || code == exitNotRoot || code == exitOptions) {
			return code
		}
		if !hupped.Load() {
			fails++
		}
		if s.maxFail > 0 && fails >= s.maxFail {
			log.Logf("giving up after %d failed attempts (maxfail %d)", fails, s.maxFail)
			return code
		}
		log.Logf("persist: redialing in %v", s.holdoff)
		select {
		case <-ctx.Done():
			return exitOK
		case <-time.After(s.holdoff):
		}
	}
}

// clientOnce places one call and runs it until it ends; up reports whether the link came up.
func clientOnce(ctx context.Context, log *logger, s *clientSettings, cs *clientStatus) (bool, error) {
	proxyMode := s.socksAddr != "" || s.httpAddr != ""
	var lns proxyListeners
	if proxyMode {
		var err error
		if lns, err = listenProxies(log, s); err != nil {
			return false, &exitError{exitOptions, err}
		}
		defer lns.close()
	}
	ec := s.engine
	cfg := pptp.Config{
		Server:  s.dial.Server,
		Control: s.dial.Control,
		Link:    s.dial.Link,
		PPP:     &ec,
		Logf:    log.Logf, // one line per stage; --debug adds pppd-style packet traces
		Debug:   s.debug,
	}
	var (
		t      *pptp.Tunnel
		err    error
		ifname = "netstack"
	)
	if proxyMode {
		t, err = pptp.Dial(ctx, cfg)
	} else {
		scripts := newLinkScripts(log, false, s.ipparam)
		scripts6 := newIPv6Scripts(log, false, s.ipparam)
		t, err = pptp.DialTUN(ctx, cfg, pptp.TUNConfig{
			Name:          s.ifname,
			Routes:        s.netif.Routes,
			DefaultRoute:  s.netif.DefaultRoute,
			SetDNS:        s.applyDNS,
			NoHostRoute:   s.noHostRoute,
			Up:            scripts.upParams,
			Down:          scripts.down,
			Up6:           scripts6.up6Params,
			Down6:         scripts6.down,
			DefaultRoute6: s.defaultRoute6,
		})
	}
	if err != nil {
		if ctx.Err() != nil {
			return false, nil
		}
		var de *pptp.DialError
		if errors.As(err, &de) {
			if de.Stage == pptp.StageSetup && !errors.Is(err, session.ErrGRESocket) {
				return false, &exitError{exitNotRoot, de.Err} // the TUN device
			}
			err = de.Err // the message says its stage already
		}
		return false, err
	}
	stopProxies := func() {}
	if proxyMode {
		stopProxies = startProxies(log, lns, t, s.proxyAuth)
	} else {
		ifname = t.Params().Interface
	}

	cs.linkUp(log, t, ifname)
	defer cs.linkDown()
	stopStatusFile := func() {}
	if s.statusFile != "" {
		stopStatusFile = keepStatusFile(log, s.statusFile, t)
	}

	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	go func() {
		for range usr1 {
			log.Logf("GRE statistics:\n%s", t.LinkStats())
		}
	}()

	select {
	case <-ctx.Done():
		stopProxies()
		t.Close()
	case <-t.Done():
		stopProxies()
	}
	err = t.Err()
	if s.debug {
		log.Logf("GRE statistics:\n%s", t.LinkStats())
	}
	stopStatusFile()
	if s.statusFile != "" {
		if err := writeStatus(s.statusFile, t); err != nil {
			log.Warnf("status file: %v", err)
		}
	}
	if err == nil {
		log.Logf("disconnected; %s removed", ifname)
	}
	return true, err
}

func hasCaps(rawOnly bool) bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	var eff uint64
	for _, line := range splitLines(string(b)) {
		if n, _ := fmt.Sscanf(line, "CapEff: %x", &eff); n == 1 {
			const netAdmin, netRaw = 1 << 12, 1 << 13
			if rawOnly {
				return eff&netRaw != 0
			}
			return eff&netAdmin != 0 && eff&netRaw != 0
		}
	}
	return false
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		out = append(out, s[:i])
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}

// takePidFile writes our pid to path (if any) and returns how to remove it; false means it
// could not, which was logged.
func takePidFile(log *logger, path string) (release func(), ok bool) {
	if path == "" {
		return func() {}, true
	}
	release, err := writePidFile(path)
	if err != nil {
		log.Logf("%v", err)
		return nil, false
	}
	return release, true
}

// writePidFile writes our pid; a stale file from a dead process is replaced, a live one refuses.
func writePidFile(path string) (release func(), err error) {
	if b, err := os.ReadFile(path); err == nil {
		var pid int
		if _, err := fmt.Sscanf(string(b), "%d", &pid); err == nil && pid > 0 && pid != os.Getpid() {
			if syscall.Kill(pid, 0) == nil {
				return nil, fmt.Errorf("pid file %s: process %d is still running", path, pid)
			}
		}
	}
	if err := os.WriteFile(path, fmt.Appendf(nil, "%d\n", os.Getpid()), 0o644); err != nil {
		return nil, fmt.Errorf("pid file: %w", err)
	}
	return func() { os.Remove(path) }, nil
}
