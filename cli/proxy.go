// SPDX-License-Identifier: MIT

package cli

import (
	"context"
	"errors"
	"net"

	"github.com/pptp-go/pptp/netif"
	"github.com/pptp-go/pptp/ppp"
	"github.com/pptp-go/pptp/session"
)

// startProxies is proxy mode's Configure: once IPCP gave us an address it builds the user-space
// TCP/IP stack and serves SOCKS5 and/or HTTP on local listeners through it. No TUN, no routes,
// no CAP_NET_ADMIN: only the raw GRE socket needs privilege (CAP_NET_RAW).
func startProxies(log *logger, s *clientSettings, lazy *session.LazyDevice, p ppp.LinkParams) (func() error, error) {
	dev, tnet, err := netif.CreateNetstack(p.Local, p.DNS, p.MTU)
	if err != nil {
		return nil, err
	}
	lazy.Set(dev)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	n := 0
	serve := func(addr, what string, fn func(context.Context, net.Listener) error) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
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
	if s.socksAddr != "" {
		if err := serve(s.socksAddr, "SOCKS5", func(ctx context.Context, ln net.Listener) error { return netif.ServeSOCKS5(ctx, ln, tnet) }); err != nil {
			undo()
			return nil, err
		}
	}
	if s.httpAddr != "" {
		if err := serve(s.httpAddr, "HTTP", func(ctx context.Context, ln net.Listener) error { return netif.ServeHTTPProxy(ctx, ln, tnet) }); err != nil {
			undo()
			return nil, err
		}
	}
	return undo, nil
}
