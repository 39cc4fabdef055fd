// SPDX-License-Identifier: MIT

// Package cli holds the two command lines (pptp, pptpd): option parsing compatible with
// pptp-linux 1.10.0 and poptop, and the run logic that wires the protocol packages together.
package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/pptp-go/pptp/control"
	"github.com/pptp-go/pptp/gre"
	"github.com/pptp-go/pptp/netif"
	"github.com/pptp-go/pptp/pppconf"
	"github.com/pptp-go/pptp/proxy"
	"github.com/pptp-go/pptp/session"
)

// Version is set at build time (-ldflags -X).
var Version = "dev"

// PPTPMain runs the pptp command with args (without argv[0]) and returns the exit status.
func PPTPMain(args []string) int {
	defer cpuProfile("pptp")()
	usePPPDirEnv()
	if isStatusCommand(args) {
		return pptpStatusMain(args[1:])
	}
	if isSetupCommand(args) {
		return setupMain(args[1:])
	}
	a, err := ParsePPTPArgs(args)
	if err != nil {
		var ue *UsageError
		if errors.As(err, &ue) {
			fmt.Fprintf(os.Stderr, "pptp: %s\n", ue.Msg)
			if ue.Code == 1 {
				fmt.Fprintln(os.Stderr, "Try 'pptp --help' for more information.")
			}
			return ue.Code
		}
		fmt.Fprintf(os.Stderr, "pptp: %v\n", err)
		return exitFatal
	}
	if a.Help {
		fmt.Print(PPTPUsage())
		return exitOK
	}
	if a.Version {
		fmt.Printf("pptp version 1.10.0 (pptp-go %s)\n", Version)
		return exitOK
	}
	log := newLogger("pptp", a.Debug)
	for _, w := range a.Warnings {
		log.Warnf("%s", w)
	}
	ctx := context.Background()
	dial := dialConfig(a, log)
	switch {
	case a.NoLaunchPPPD || a.LaunchPPPD:
		log.useSyslog(a.LogString)
		log.Logf("The synchronous pptp option is %sactivated", map[bool]string{true: "", false: "NOT "}[a.Sync])
		s := &ptySettings{dial: dial, sync: a.Sync, noHostRoute: a.NoHostRoute, debug: a.Debug, pidFile: a.PidFile}
		if a.NoLaunchPPPD {
			return runNoLaunch(ctx, log, s)
		}
		words, password, warns, err := a.LaunchFlags()
		if err != nil {
			log.Logf("%v", err)
			return exitOptions
		}
		for _, w := range warns {
			log.Warnf("%s", w)
		}
		// pppd reads its words in order, later ones winning: our flags, --pppd, then the rest.
		s.pppdArgs = append(append(words, a.PPPD...), a.PPPDWords...)
		s.pppdPassword = password
		return runLaunch(ctx, log, s)
	}
	s, err := builtinSettings(a, log)
	if err != nil {
		log.Logf("%v", err)
		return exitOptions
	}
	s.dial = dial
	return runClient(ctx, log, s)
}

// dialConfig turns pptp-linux's options into the control and GRE configuration.
func dialConfig(a *PPTPArgs, log *logger) session.DialConfig {
	cc := control.ClientConfig{
		HostName:    a.ClientHostname,
		Phone:       a.Phone,
		IdleWait:    a.IdleWait,
		MaxEchoWait: a.MaxEchoWait,
		LocalAddr:   a.LocalBind,
		Mark:        a.RTMark,
		Quirk:       a.Quirks,
		Logf:        log.Debugf,
	}
	return session.DialConfig{
		Server:  a.Server,
		Control: cc,
		Link: gre.LinkOptions{
			// One call per process: its GRE reads may hold a thread (see gre.Options.Blocking).
			Socket:     gre.Options{Local: a.LocalBind, Mark: a.RTMark, FastPath: a.GRETx != pppconf.GRETxIP, Blocking: true},
			NoMSSClamp: a.NoMSSClamp,
			Reorder: gre.ReorderConfig{
				Timeout:       a.Timeout,
				NoBuffer:      a.NoBuffer,
				MissingWindow: a.MissingWindow,
				MinTimeout:    gre.DefaultMinTimeout, // --timeout is the longest hold
			},
			LogLevel: a.LogLevel,
			TestType: a.TestType,
			TestRate: a.TestRate,
			// 32 KiB receive buffers: the TUN then coalesces up to 23 TCP segments into one
			// write (GRO). 4 MiB per client (pages touched lazily), worth it for its one session.
			PacketSize: 32768,
			SendWindow: a.SendWindow,
		},
		Logf: log.Logf,
	}
}

// builtinSettings reads pppd's files and the command line into what the built-in client needs.
func builtinSettings(a *PPTPArgs, log *logger) (*clientSettings, error) {
	o, err := a.BuiltinOptions()
	if err != nil {
		return nil, err
	}
	for _, w := range o.Warnings {
		log.Warnf("%s", w)
	}
	if a.Server == "" {
		return nil, errors.New("no server given (pptp HOST, or a peers file with pty \"pptp HOST …\")")
	}
	s := &clientSettings{
		server:     a.Server,
		debug:      a.Debug || o.Debug,
		ipparam:    o.IPParam,
		pidFile:    a.PidFile,
		statusFile: o.StatusFile,
		socksAddr:  o.SOCKS,
		httpAddr:   o.HTTPProxy,
		persist:    o.Persist,
		maxFail:    pppconf.DefaultMaxFail,
		holdoff:    pppconf.DefaultHoldoff * time.Second,
	}
	if o.IsSet("maxfail") {
		s.maxFail = o.MaxFail
	}
	if o.IsSet("holdoff") {
		s.holdoff = time.Duration(o.Holdoff) * time.Second
	}
	if o.LinkName != "" && s.pidFile == "" {
		s.pidFile = "/var/run/ppp-" + o.LinkName + ".pid"
	}
	s.ifname = o.IfName
	if s.ifname == "" {
		s.ifname = "pptp%d" // the first free, as pppd takes the next free unit
		if o.IsSet("unit") {
			s.ifname = fmt.Sprintf("pptp%d", o.Unit)
		}
	}
	s.mtu = 1400
	if o.MTU > 0 {
		s.mtu = o.MTU
	}

	user := o.AuthName()
	if user == "" {
		return nil, errors.New("no user name: give --user NAME (or `user NAME` / `name NAME` in a pppd options file)")
	}
	password, err := findPassword(o, user, a.Server, log)
	if err != nil {
		return nil, err
	}
	e, err := o.EngineConfig(false)
	if err != nil {
		return nil, err
	}
	e.User, e.Password = user, password
	if len(o.SetMPPEKey) > 0 {
		// Applied by EngineConfig (ppp.Config.StartKeys); never logged, even with --debug.
		s.mppeKeyWarn = true
	}
	s.engine = e
	s.netif = netif.Config{Routes: o.Routes, DefaultRoute: o.DefaultRoute}
	s.defaultRoute6 = o.DefaultRoute6
	s.noHostRoute = a.NoHostRoute
	s.applyDNS = o.UsePeerDNS
	if s.socksAddr != "" || s.httpAddr != "" {
		// The proxies resolve names through the tunnel, so they need the server's DNS.
		s.engine.UsePeerDNS = true
	}
	if o.ProxyUser != "" || o.ProxyPasswordFile != "" {
		if o.ProxyUser == "" || o.ProxyPasswordFile == "" {
			return nil, errors.New("--proxy-user and --proxy-password-file go together")
		}
		pw, warn, err := pppconf.ReadPasswordFile(o.ProxyPasswordFile)
		if err != nil {
			return nil, fmt.Errorf("--proxy-password-file: %w", err)
		}
		if warn != "" {
			log.Warnf("%s", warn)
		}
		s.proxyAuth = proxy.Auth{User: o.ProxyUser, Password: pw}
	}
	return s, nil
}

// readPasswordLine reads one line (spaces and all) from r, without its line end.
func readPasswordLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && (err != io.EOF || line == "") {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// findPassword: --password (with a warning), --password-file (or "-" for stdin), then the
// secrets files by user + remotename/server, then a prompt when stdin is a terminal.
func findPassword(o *pppconf.Options, user, server string, log *logger) (string, error) {
	if o.IsSet("password") {
		log.Warnf("--password is visible to every user in ps; prefer --password-file or /etc/ppp/chap-secrets")
		return o.Password, nil
	}
	if o.PasswordFile != "" {
		if o.PasswordFile == "-" {
			return readPasswordLine(os.Stdin)
		}
		pw, warn, err := pppconf.ReadPasswordFile(o.PasswordFile)
		if warn != "" {
			log.Warnf("%s", warn)
		}
		return pw, err
	}
	for _, f := range []string{"chap-secrets", "pap-secrets"} {
		path := pppconf.PPPDir + "/" + f
		if _, err := os.Stat(path); err != nil {
			continue
		}
		remote := o.RemoteName
		if remote == "" {
			remote = server
		}
		if warn := pppconf.PermWarning(path); warn != "" {
			log.Warnf("%s", warn)
		}
		secret, _, err := pppconf.LookupSecret(path, user, remote)
		if err != nil && !errors.Is(err, pppconf.ErrNoSecret) {
			return "", err // the file or the record does not parse: say where
		}
		if err == nil && secret != "" {
			return secret, nil
		}
		if o.RemoteName == "" {
			// pppd would look the secret up under the name the server sends in its
			// challenge, which we do not know before connecting: take the user's records
			// if they all agree, whatever server name they give.
			if s, rerr := pppconf.ReadSecrets(path); rerr == nil {
				e, ok, ambiguous := s.LookupClient(user)
				switch {
				case ok && e.Secret != "":
					log.Logf("%s:%d: using the secret for %q (server %q); set remotename to pick a record by server name", path, e.Line, user, e.Server)
					return e.Secret, nil
				case ambiguous:
					return "", fmt.Errorf("%s: %q has records for several servers with different secrets: set remotename to the server's name", path, user)
				}
			}
		}
	}
	if isTerminal(0) {
		fmt.Fprintf(os.Stderr, "Password for %s: ", user)
		return readPassword()
	}
	return "", fmt.Errorf("no password for %q: give --password-file FILE, a %s/chap-secrets entry, or --password", user, pppconf.PPPDir)
}

// pppDirEnv moves pppd's configuration directory (options, peers/, chap-secrets), for tests
// and for users without write access to /etc/ppp.
const pppDirEnv = "PPTP_GO_PPPDIR"

func usePPPDirEnv() {
	if d := os.Getenv(pppDirEnv); d != "" {
		pppconf.PPPDir = d
	}
}
