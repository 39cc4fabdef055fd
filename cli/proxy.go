// SPDX-License-Identifier: MIT

package cli

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/pptp-go/pptp/netif"
	"github.com/pptp-go/pptp/ppp"
	"github.com/pptp-go/pptp/session"
)

// startProxies is proxy mode's Configure: once IPCP gave us an address it builds the user-space
// TCP/IP stack and serves SOCKS5 and/or HTTP on local listeners through it. No TUN, no routes,
// no CAP_NET_ADMIN: only the raw GRE socket needs privilege (CAP_NET_RAW).
// The listeners come from listenProxies, opened before dialling; startProxies owns them.
func startProxies(log *logger, lns proxyListeners, lazy *session.LazyDevice, p ppp.LinkParams) (func() error, error) {
	dev, tnet, err := netif.CreateNetstack(p.Local, p.DNS, p.MTU)
	if err != nil {
		lns.close()
		return nil, err
	}
	lazy.Set(dev)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	n := 0
	serve := func(ln net.Listener, what string, fn func(context.Context, net.Listener) error) error {
		log.Logf("%s proxy listening on %s (through the tunnel, DNS %v)", what, ln.Addr(), p.DNS)
		n++
		go func() {
			if err := fn(ctx, ln); err != nil && !errors.Is(err, net.ErrClosed) {
				log.Logf("%s proxy: %v", what, err)
			}
			done <- struct{}{}
		}()
		return nil
	}
	undo := func() error {
		cancel()
		for ; n > 0; n-- {
			<-done
		}
		return nil
	}
	if lns.socks != nil {
		if err := serve(lns.socks, "SOCKS5", func(ctx context.Context, ln net.Listener) error { return netif.ServeSOCKS5(ctx, ln, tnet) }); err != nil {
			undo()
			return nil, err
		}
	}
	if lns.http != nil {
		if err := serve(lns.http, "HTTP", func(ctx context.Context, ln net.Listener) error { return netif.ServeHTTPProxy(ctx, ln, tnet) }); err != nil {
			undo()
			return nil, err
		}
	}
	return undo, nil
}

// proxyListeners are proxy mode's local listeners (nil: that proxy is off).
type proxyListeners struct{ socks, http net.Listener }

// listenProxies opens the proxies' listeners before the call is placed, so that a bad or
// busy address fails at once instead of after a server session was set up for nothing.
func listenProxies(s *clientSettings) (proxyListeners, error) {
	var lns proxyListeners
	var err error
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

func (l proxyListeners) close() {
	for _, ln := range []net.Listener{l.socks, l.http} {
		if ln != nil {
			ln.Close()
		}
	}
}
