// SPDX-License-Identifier: MIT

package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/pptp-go/pptp"
	"github.com/pptp-go/pptp/proxy"
)

// startProxies serves SOCKS5 and/or HTTP on proxy mode's listeners (opened by
// listenProxies before dialling) through the tunnel's user-space TCP/IP stack. No TUN, no
// routes, no CAP_NET_ADMIN: only the raw GRE socket needs privilege (CAP_NET_RAW). stop
// closes the listeners and every proxied connection and waits for the servers to end.
func startProxies(log *logger, lns proxyListeners, t *pptp.Tunnel, auth proxy.Auth) (stop func()) {
	dns := t.Params().DNS
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	serve := func(ln net.Listener, what string, fn func(context.Context, net.Listener, proxy.Dialer, proxy.Auth) error) {
		if ln == nil {
			return
		}
		log.Logf("%s proxy listening on %s (through the tunnel, DNS %v)", what, ln.Addr(), dns)
		wg.Go(func() {
			if err := fn(ctx, ln, t, auth); err != nil && !errors.Is(err, net.ErrClosed) {
				log.Logf("%s proxy: %v", what, err)
			}
		})
	}
	serve(lns.socks, "SOCKS5", proxy.ServeSOCKS5Auth)
	serve(lns.http, "HTTP", proxy.ServeHTTPProxyAuth)
	return func() {
		cancel()
		wg.Wait()
	}
}

// proxyListeners are proxy mode's local listeners (nil: that proxy is off).
type proxyListeners struct{ socks, http net.Listener }

// listenProxies opens the proxies' listeners before the call is placed, so that a bad or
// busy address fails at once instead of after a server session was set up for nothing.
func listenProxies(log *logger, s *clientSettings) (proxyListeners, error) {
	var lns proxyListeners
	var err error
	defer func() {
		for _, ln := range []net.Listener{lns.socks, lns.http} {
			if ln != nil {
				warnExposed(log, ln.Addr(), s.proxyAuth.User != "")
			}
		}
	}()
	if s.socksAddr != "" {
		if lns.socks, err = net.Listen("tcp", s.socksAddr); err != nil {
			return lns, fmt.Errorf("--socks %s: %w", s.socksAddr, err)
		}
	}
	if s.httpAddr != "" {
		if lns.http, err = net.Listen("tcp", s.httpAddr); err != nil {
			lns.close()
			return proxyListeners{}, fmt.Errorf("--http-proxy %s: %w", s.httpAddr, err)
		}
	}
	return lns, nil
}

// warnExposed says loudly when a proxy listens where other hosts can reach it: they would
// use the tunnel as if they were us.
func warnExposed(log *logger, a net.Addr, auth bool) {
	ta, ok := a.(*net.TCPAddr)
	if !ok || ta.IP.IsLoopback() {
		return
	}
	if auth {
		log.Warnf("proxy on %s is reachable from the network: only the --proxy-user credentials (sent in clear) keep others off the tunnel", a)
		return
	}
	log.Warnf("proxy on %s is reachable from the network WITHOUT AUTHENTICATION: anyone who reaches it uses the tunnel as you; listen on 127.0.0.1 or set --proxy-user and --proxy-password-file", a)
}

func (l proxyListeners) close() {
	for _, ln := range []net.Listener{l.socks, l.http} {
		if ln != nil {
			ln.Close()
		}
	}
}
