// SPDX-License-Identifier: MIT

package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"syscall"

	"golang.zx2c4.com/wireguard/tun"

	"github.com/pptp-go/pptp/aaa"
	"github.com/pptp-go/pptp/control"
	"github.com/pptp-go/pptp/egress"
	"github.com/pptp-go/pptp/gre"
	"github.com/pptp-go/pptp/netstack"
	"github.com/pptp-go/pptp/ppp"
	"github.com/pptp-go/pptp/pppconf"
	"github.com/pptp-go/pptp/proxy"
	"github.com/pptp-go/pptp/ra"
	"github.com/pptp-go/pptp/session"
)

const daemonEnv = "PPTPD_GO_DAEMON"

// PPTPDMain runs the pptpd command with args (without argv[0]) and returns the exit status.
func PPTPDMain(args []string) int {
	defer cpuProfile("pptpd")()
	usePPPDirEnv()
	if len(args) > 0 && (args[0] == "status" || args[0] == "kick") {
		return pptpdStatusMain(args[0], args[1:])
	}
	a, err := ParsePPTPDArgs(args)
	if err != nil {
		var ue *UsageError
		if errors.As(err, &ue) {
			fmt.Fprintf(os.Stderr, "pptpd: %s\n", ue.Msg)
			return ue.Code
		}
		fmt.Fprintf(os.Stderr, "pptpd: %v\n", err)
		return 1
	}
	if a.Help {
		fmt.Print(PPTPDUsage())
		return 0
	}
	if a.Version {
		fmt.Printf("pptpd (pptp-go) %s\n", Version)
		return 0
	}
	log := newLogger("pptpd", a.Debug)
	cfg, listen, pidFile, secrets, rad, err := serverConfig(a, log)
	if err != nil {
		log.Logf("%v", err)
		return 1
	}
	if !a.Foreground && os.Getenv(daemonEnv) == "" {
		return daemonize(log)
	}
	if os.Getenv(daemonEnv) != "" {
		log.useDaemonSyslog()
		log.quiet()
	}
	if pidFile != "" {
		release, err := writePidFile(pidFile)
		if err != nil {
			log.Logf("%v", err)
			return 1
		}
		defer release()
	}
	if cfg.Stack == nil && (cfg.IPv6.Pool != nil || cfg.Hooks != nil && cfg.PPP.IPv6.Mode != ppp.IPv6Off) {
		// With RADIUS a Framed-IPv6-Prefix may come for any session. A netstack session's
		// stack advertises on its link itself.
		// After daemonizing: the socket and its goroutine belong to the serving process.
		r, err := ra.NewResponder(log.Debugf)
		if err != nil {
			log.Logf("%v", err)
			return 1
		}
		defer r.Close()
		cfg.IPv6.RA = r
	}
	var metrics *serverMetrics
	if a.metrics.IsValid() {
		metrics = newServerMetrics() // before the server: its AuthFailed hook counts failures
		cfg.AuthFailed = metrics.authFailed
	}
	srv, err := session.NewServer(*cfg)
	if err != nil {
		log.Logf("%v", err)
		return 1
	}
	if metrics != nil {
		metrics.srv = srv
		if MetricsExporter == nil {
			log.Logf("metrics %s: this pptpd binary was built without the metrics exporter (internal/promexp)", a.metrics)
			return 1
		}
		stopMetrics, err := MetricsExporter(a.metrics, metrics.snapshot, log.Logf)
		if err != nil {
			log.Logf("metrics %s: %v", a.metrics, err)
			return 1
		}
		defer stopMetrics()
	}
	ln, err := listenTCP(listen)
	if err != nil {
		log.Logf("cannot listen on %s: %v", listen, err)
		return 1
	}
	log.Logf("listening on %s (connections %d)", ln.Addr(), cfg.Connections)
	// Type=notify: systemd starts dependent units only once we accept calls.
	if err := sdNotify(fmt.Sprintf("READY=1\nMAINPID=%d\nSTATUS=listening on %s", os.Getpid(), ln.Addr())); err != nil {
		log.Warnf("sd_notify: %v", err)
	}
	defer serveServerStatus(log, srv)()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if rad != nil {
		defer func() {
			// Stop records of the sessions just ended go out before we exit, within the
			// bound of one exchange.
			cctx, cancel := context.WithTimeout(context.Background(), rad.Bound())
			defer cancel()
			rad.Close(cctx)
		}()
		if err := startDAE(ctx, rad, log); err != nil {
			log.Logf("%v", err)
			return 1
		}
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGHUP)
	go func() {
		for sig := range sigs {
			if sig == syscall.SIGHUP {
				// poptop's manager lives on through a HUP; admins send one to reload.
				// chap-secrets is read again when it changes anyway; the rest needs a restart.
				if rad != nil {
					log.Logf("SIGHUP: users are in RADIUS; radiusclient.conf, pptpd.conf and the options file take effect on restart")
					continue
				}
				log.Logf("SIGHUP: reading %s again (pptpd.conf and the options file take effect on restart)", secrets.path)
				sdNotify("RELOADING=1")
				secrets.refresh(true)
				sdNotify("READY=1")
				continue
			}
			log.Logf("status: %d connections, %d goroutines", srv.Active(), runtime.NumGoroutine())
		}
	}()
	err = srv.Serve(ctx, ln)
	sdNotify("STOPPING=1")
	if err != nil {
		log.Logf("%v", err)
		return 1
	}
	log.Logf("stopped")
	return 0
}

// serverConfig reads pptpd.conf, the pppd options file and chap-secrets into the server's
// configuration; any error names its file and line.
func serverConfig(a *PPTPDArgs, log *logger) (cfg *session.ServerConfig, listen, pidFile string, secrets *liveSecrets, rad *aaa.RADIUS, err error) {
	conf := pppconf.DefaultPPTPDConf()
	path := a.Conf
	if path == "" {
		path = pppconf.DefaultPPTPDConfPath
	}
	if _, err := os.Stat(path); err == nil || a.Conf != "" {
		c, err := pppconf.ParsePPTPDConf(path)
		if err != nil {
			return nil, "", "", nil, nil, err
		}
		conf = c
	}
	a.Merge(conf)
	a.metrics = conf.Metrics
	if conf.Debug {
		log.debug, log.stamp = true, true // "debug" in pptpd.conf is -d
	}
	for _, n := range append(conf.Notes, a.Notes...) {
		log.Logf("%s", n)
	}
	o := new(pppconf.Options)
	if conf.Option != "" {
		if err := o.ParseFile(conf.Option); err != nil {
			return nil, "", "", nil, nil, err
		}
	}
	for _, w := range o.Warnings {
		log.Warnf("%s", w)
	}
	secretsPath := a.ChapSecrets
	if secretsPath == "" {
		secretsPath = pppconf.PPPDir + "/chap-secrets"
	}
	if secrets, err = newLiveSecrets(secretsPath, log); err != nil {
		return nil, "", "", nil, nil, err
	}
	pairs, notes, err := conf.Pairs()
	if err != nil {
		return nil, "", "", nil, nil, err
	}
	for _, n := range notes {
		log.Logf("%s", n)
	}
	e, err := o.EngineConfig(true)
	if err != nil {
		return nil, "", "", nil, nil, fmt.Errorf("%s: %w", conf.Option, err)
	}
	e.Secret = secrets.ForServer(e.Name)
	if rad, err = radiusConfig(o, log); err != nil {
		return nil, "", "", nil, nil, err
	}
	e.Debug = e.Debug || conf.Debug // -d, or "debug" in pptpd.conf or the options file
	e.AuthTimeout = conf.AuthTimeout
	cfg = &session.ServerConfig{
		Control: control.ServerConfig{
			HostName:     "local",
			StartTimeout: conf.StartTimeout,
			Logf:         log.Debugf,
		},
		PPP:  e,
		Pool: session.NewPool(pairs),
		Link: gre.LinkOptions{
			Socket:     gre.Options{FastPath: conf.GRETx != pppconf.GRETxIP},
			PacketSize: 16384, // GRO of up to 11 segments per TUN write; 2 MiB of buffers per session
			NoMSSClamp: conf.NoMSSClamp,
			Reorder:    gre.ReorderConfig{MinTimeout: gre.DefaultMinTimeout},
		},
		Connections:   min(conf.Connections, len(pairs)),
		OwnGRESockets: ownGRESockets(conf.GREOwn),
		LinkScripts: func(client netip.Addr) (func(string, ppp.LinkParams), func()) {
			ipparam := client.String() // as poptop passes it to pppd, unless noipparam
			if conf.NoIPParam {
				ipparam = ""
			}
			sc := newLinkScripts(log, true, ipparam)
			return sc.up, sc.down
		},
		LinkScripts6: func(client netip.Addr) (func(string, ppp.IPv6Params), func()) {
			ipparam := client.String()
			if conf.NoIPParam {
				ipparam = ""
			}
			sc := newIPv6Scripts(log, true, ipparam)
			return func(ifname string, p ppp.IPv6Params) {
				sc.up(ifname, ppp.LinkParams{Local: p.Local(), Peer: p.Peer()})
			}, sc.down
		},
		Limits: session.Limits{
			HalfOpen:  conf.HalfOpen,
			Calls:     conf.CallsPerSource,
			FailDelay: conf.FailDelay,
		},
		RoutedSubnets: conf.RoutedSubnets,
		PermitAddress: secrets.PermitAddress(e.Name),
		Logf:          log.Logf,
	}
	if conf.RemoteIP6.IsValid() {
		if cfg.IPv6.Pool, err = session.NewIPv6Pool(conf.RemoteIP6); err != nil {
			return nil, "", "", nil, nil, err
		}
		cfg.IPv6.DNS = conf.DNS6
		if cfg.PPP.IPv6.Mode == ppp.IPv6Passive {
			// We have something to offer: open IPV6CP, as pppd +ipv6 does, so that a
			// client that only answers it (ours by default) gets IPv6 too.
			cfg.PPP.IPv6.Mode = ppp.IPv6Active
		}
	} else if conf.DNS6 != nil {
		log.Warnf("%s: dns6 needs remoteip6 (it goes in the Router Advertisements)", conf.Path)
	}
	if conf.Egress == "netstack" {
		if cfg.Stack, err = egressStack(conf, log); err != nil {
			return nil, "", "", nil, nil, err
		}
		// ip-up and ip-down configure an interface, and a netstack session has none.
		cfg.LinkScripts = nil
	} else if conf.EgressProxy != "" || conf.EgressDeny != nil || conf.EgressFlows != 0 || conf.EgressDNS != nil {
		log.Warnf("%s: the egress-* keywords apply only with \"egress netstack\"", conf.Path)
	}
	listen = ":1723" // both families: one dual-stack socket (IPv4 clients come as ::ffff:a.b.c.d)
	if conf.Listen.IsValid() {
		listen = netip.AddrPortFrom(conf.Listen, control.Port).String()
	}
	if rad != nil {
		cfg.Hooks = rad.Hooks // chap-secrets is not consulted, as with pppd's plugin
		cfg.PermitAddress = nil
	}
	return cfg, listen, conf.PidFile, secrets, rad, nil
}

// egressStack makes each session's user-space stack and its egress (pptpd.conf "egress
// netstack"): the server's loopback and link-local ranges are always refused.
func egressStack(conf *pppconf.PPTPDConf, log *logger) (func(netip.Addr, ppp.LinkParams) (tun.Device, func(), error), error) {
	ec := egress.Config{
		Deny:     append(slices.Clone(egress.DefaultDeny), conf.EgressDeny...),
		MaxFlows: conf.EgressFlows,
		Logf:     log.Logf,
	}
	for _, a := range conf.EgressDNS {
		ec.Resolvers = append(ec.Resolvers, netip.AddrPortFrom(a, 53))
	}
	if conf.EgressProxy != "" {
		up, err := proxy.ParseUpstream(conf.EgressProxy)
		if err != nil {
			return nil, err // checked when the file was read
		}
		ec.Upstream = up
	}
	how := "directly"
	if ec.Upstream != nil {
		how = "through " + ec.Upstream.String()
	}
	log.Logf("egress netstack: sessions end in user-space stacks, flows go on %s; refused: %v", how, ec.Deny)
	return func(client netip.Addr, p ppp.LinkParams) (tun.Device, func(), error) {
		// The client's DNS servers: IPCP's, and dns6 from the Router Advertisement.
		es := egress.NewSession(ec, "client "+client.String(), append(slices.Clone(p.DNS), conf.DNS6...))
		st, err := netstack.NewForwarding(p.Local, p.MTU, es.Handler())
		if err != nil {
			return nil, nil, err
		}
		return st, es.Close, nil
	}, nil
}

// ownGRESockets maps pptpd.conf's gre-own-sockets (-1 when absent) to
// ServerConfig.OwnGRESockets, where 0 is the default and negative is none.
func ownGRESockets(n int) int {
	switch {
	case n == 0:
		return -1
	case n < 0:
		return 0
	}
	return n
}

// daemonize re-executes pptpd detached from the terminal (Go cannot fork a running runtime).
func daemonize(log *logger) int {
	self, err := os.Executable()
	if err != nil {
		log.Logf("cannot find my own executable to daemonize (use --fg): %v", err)
		return 1
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		log.Logf("%v", err)
		return 1
	}
	cmd := exec.Command(self, os.Args[1:]...)
	cmd.Env = append(os.Environ(), daemonEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		log.Logf("daemonize: %v", err)
		return 1
	}
	return 0
}

// listenTCP listens on addr: an IPv4 address with an IPv4 socket (0.0.0.0 is every IPv4
// address and no IPv6 one), anything else with Go's "tcp", whose wildcard (":1723" or
// "[::]:1723") takes both families on one socket.
func listenTCP(addr string) (net.Listener, error) {
	if ap, err := netip.ParseAddrPort(addr); err == nil && ap.Addr().Is4() {
		return net.Listen("tcp4", addr)
	}
	return net.Listen("tcp", addr)
}
