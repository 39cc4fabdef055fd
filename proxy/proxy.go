// SPDX-License-Identifier: MIT

// Package proxy serves SOCKS5 (RFC 1928) and HTTP proxies on local listeners that dial
// through a tunnel: pptp's proxy mode, with no TUN and no routes.
package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"sync"
	"time"

	"github.com/things-go/go-socks5"
)

// Dialer is what the proxies reach the far side through: a *pptp.Tunnel, a
// *netstack.Stack, or anything that dials and resolves names the same way.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// Auth, when User is set, makes a proxy demand credentials: SOCKS5's username/password
// method (RFC 1929; clients offering only "no authentication" are refused) and HTTP's
// Proxy-Authorization: Basic (407 otherwise). Both travel in clear: they keep strangers on
// the network off the tunnel, not eavesdroppers.
type Auth struct{ User, Password string }

func (a Auth) valid(user, password string) bool {
	// Constant time, so the comparison tells nothing about how much of a guess was right.
	u := subtle.ConstantTimeCompare([]byte(user), []byte(a.User))
	p := subtle.ConstantTimeCompare([]byte(password), []byte(a.Password))
	return u&p == 1
}

type socksCredentials Auth

func (c socksCredentials) Valid(user, password, _ string) bool { return Auth(c).valid(user, password) }

// ServeSOCKS5 serves SOCKS5 (RFC 1928, no authentication) on ln until ctx is done, dialling
// every CONNECT through d; host names are resolved with the tunnel's DNS servers, so
// nothing leaks to the local resolver. BIND and UDP ASSOCIATE are refused (UDP ASSOCIATE
// would relay through the host's own sockets, outside the tunnel). When ctx is done, ln and
// every connection being served are closed and ServeSOCKS5 returns nil; otherwise it returns
// the listener's error.
func ServeSOCKS5(ctx context.Context, ln net.Listener, d Dialer) error {
	return ServeSOCKS5Auth(ctx, ln, d, Auth{})
}

// ServeSOCKS5Auth is ServeSOCKS5 demanding a's credentials when a.User is set.
func ServeSOCKS5Auth(ctx context.Context, ln net.Listener, d Dialer, a Auth) error {
	tl := newTrackingListener(ln)
	// go-socks5 hands the dialer and resolver a background context; ours ends with ctx and
	// bounds each dial, so a shutdown or a black-holed destination cannot pin a handler.
	dial := func(_ context.Context, network, addr string) (net.Conn, error) {
		dctx, cancel := context.WithTimeout(ctx, dialTimeout)
		defer cancel()
		return d.DialContext(dctx, network, addr)
	}
	opts := []socks5.Option{
		socks5.WithDial(dial),
		socks5.WithResolver(tunnelResolver{ctx, d}),
		socks5.WithRule(&socks5.PermitCommand{EnableConnect: true}),
	}
	if a.User != "" {
		opts = append(opts, socks5.WithAuthMethods([]socks5.Authenticator{socks5.UserPassAuthenticator{Credentials: socksCredentials(a)}}))
	}
	srv := socks5.NewServer(opts...)
	stop := context.AfterFunc(ctx, tl.closeAll)
	defer stop()
	err := srv.Serve(tl)
	if ctx.Err() != nil {
		return nil
	}
	tl.closeAll()
	return err
}

// dialTimeout bounds a proxy's connection attempt through the tunnel.
const dialTimeout = 30 * time.Second

// tunnelResolver resolves SOCKS5 domain-name destinations through the tunnel's DNS.
type tunnelResolver struct {
	serveCtx context.Context // ends with ServeSOCKS5
	d        Dialer
}

func (r tunnelResolver) Resolve(ctx context.Context, name string) (context.Context, net.IP, error) {
	ctx2, cancel := context.WithTimeout(r.serveCtx, dialTimeout)
	defer cancel()
	addrs, err := r.d.LookupHost(ctx2, name)
	if err != nil {
		return ctx, nil, err
	}
	for _, a := range addrs { // prefer an A record; AAAA when there is none
		if ip := net.ParseIP(a); ip != nil && ip.To4() != nil {
			return ctx, ip, nil
		}
	}
	if len(addrs) > 0 {
		if ip := net.ParseIP(addrs[0]); ip != nil {
			return ctx, ip, nil
		}
	}
	return ctx, nil, &net.DNSError{Err: "no address", Name: name, IsNotFound: true}
}

// ServeHTTPProxy serves an HTTP proxy on ln until ctx is done: CONNECT host:port is dialled
// through d and then spliced (the client's bytes already buffered after the CONNECT
// request are forwarded first); requests with an absolute URI (http:// or https://) are
// forwarded by an http.Transport whose DialContext is d.s, hop-by-hop headers removed.
// Host names are resolved with the tunnel's DNS. Other requests get 400. When ctx is done,
// ln and all connections (hijacked ones included) are closed and it returns nil; otherwise it
// returns the listener's error.
func ServeHTTPProxy(ctx context.Context, ln net.Listener, d Dialer) error {
	return ServeHTTPProxyAuth(ctx, ln, d, Auth{})
}

// ServeHTTPProxyAuth is ServeHTTPProxy demanding a's credentials when a.User is set.
func ServeHTTPProxyAuth(ctx context.Context, ln net.Listener, d Dialer, a Auth) error {
	tl := newTrackingListener(ln)
	tr := &http.Transport{
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     false,
		MaxIdleConns:          64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   15 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	defer tr.CloseIdleConnections()
	p := &httpProxy{
		d:    d,
		ctx:  ctx,
		auth: a,
		fwd: &httputil.ReverseProxy{
			Rewrite:   func(pr *httputil.ProxyRequest) { pr.Out.Host = pr.In.Host },
			Transport: tr,
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				http.Error(w, "proxy: "+err.Error(), http.StatusBadGateway)
			},
			ErrorLog: discardLogger,
		},
	}
	srv := &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          discardLogger,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	stop := context.AfterFunc(ctx, func() {
		srv.Close()
		tl.closeAll()
	})
	defer stop()
	err := srv.Serve(tl)
	if ctx.Err() != nil {
		return nil
	}
	srv.Close()
	tl.closeAll()
	return err
}

type httpProxy struct {
	d    Dialer
	ctx  context.Context
	fwd  *httputil.ReverseProxy
	auth Auth
}

func (p *httpProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.auth.User != "" {
		user, password, ok := proxyBasicAuth(r)
		if !ok || !p.auth.valid(user, password) {
			w.Header().Set("Proxy-Authenticate", `Basic realm="pptp"`)
			http.Error(w, "proxy authentication required", http.StatusProxyAuthRequired)
			return
		}
		r.Header.Del("Proxy-Authorization") // never forwarded
	}
	if r.Method == http.MethodConnect {
		p.connect(w, r)
		return
	}
	if !r.URL.IsAbs() || r.URL.Host == "" || (r.URL.Scheme != "http" && r.URL.Scheme != "https") {
		http.Error(w, "this is a proxy: send an absolute http:// URI or use CONNECT", http.StatusBadRequest)
		return
	}
	p.fwd.ServeHTTP(w, r)
}

// proxyBasicAuth reads Proxy-Authorization as net/http's BasicAuth reads Authorization.
func proxyBasicAuth(r *http.Request) (user, password string, ok bool) {
	h := r.Header.Get("Proxy-Authorization")
	if h == "" {
		return "", "", false
	}
	rr := http.Request{Header: http.Header{"Authorization": {h}}}
	return rr.BasicAuth()
}

func (p *httpProxy) connect(w http.ResponseWriter, r *http.Request) {
	host := r.RequestURI // authority form: host:port
	if _, port, err := net.SplitHostPort(host); err != nil || port == "" {
		http.Error(w, "CONNECT needs host:port", http.StatusBadRequest)
		return
	}
	dctx, cancel := context.WithTimeout(r.Context(), dialTimeout)
	target, err := p.d.DialContext(dctx, "tcp", host)
	cancel()
	if err != nil {
		http.Error(w, "proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer target.Close()
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "proxy: connection cannot be hijacked", http.StatusInternalServerError)
		return
	}
	client, brw, err := hj.Hijack()
	if err != nil {
		return
	}
	defer client.Close()
	stop := context.AfterFunc(p.ctx, func() { client.Close(); target.Close() })
	defer stop()
	if _, err := io.WriteString(client, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	splice(client, target, brw.Reader)
}

// splice copies both ways until both directions are done, passing on half-closes; buffered
// holds bytes the client sent before the tunnel was ready.
func splice(client, target net.Conn, buffered *bufio.Reader) {
	var wg sync.WaitGroup
	wg.Go(func() {
		var src io.Reader = client
		if n := buffered.Buffered(); n > 0 {
			b, _ := buffered.Peek(n)
			src = io.MultiReader(bytes.NewReader(b), client)
		}
		io.Copy(target, src)
		closeWrite(target)
	})
	io.Copy(client, target)
	closeWrite(client)
	wg.Wait()
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		if cw.CloseWrite() == nil {
			return
		}
	}
	c.Close()
}

// trackingListener remembers accepted connections so that shutdown can close them all.
type trackingListener struct {
	net.Listener
	mu     sync.Mutex
	conns  map[*trackedConn]struct{}
	closed bool
}

func newTrackingListener(ln net.Listener) *trackingListener {
	return &trackingListener{Listener: ln, conns: map[*trackedConn]struct{}{}}
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, l: l}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	l.conns[tc] = struct{}{}
	return tc, nil
}

func (l *trackingListener) closeAll() {
	l.Listener.Close()
	l.mu.Lock()
	l.closed = true
	conns := l.conns
	l.conns = map[*trackedConn]struct{}{}
	l.mu.Unlock()
	for c := range conns {
		c.Conn.Close()
	}
}

type trackedConn struct {
	net.Conn
	l    *trackingListener
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// CloseWrite keeps half-close working through the wrapper (SOCKS5 relies on it).
func (c *trackedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// discardLogger silences net/http's per-connection complaints (client hang-ups and such).
var discardLogger = log.New(io.Discard, "", 0)
