// SPDX-License-Identifier: MIT

package pptp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/pptp-go/pptp"
	"github.com/pptp-go/pptp/egress"
	"github.com/pptp-go/pptp/netstack"
)

// Fetch a page from behind a PPTP server, without a TUN device.
func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	t, err := pptp.Dial(ctx, pptp.Config{Server: "vpn.example.com", User: "alice", Password: "secret"})
	if err != nil {
		log.Fatal(err)
	}
	defer t.Close()
	p := t.Params()
	log.Printf("up: %v, peer %v, DNS %v, %s", p.Local, p.Peer, p.DNS, p.Encryption)

	// Names resolve through the tunnel with the server's DNS.
	client := &http.Client{Transport: &http.Transport{DialContext: t.DialContext}}
	resp, err := client.Get("http://intranet.example/")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
}

// A Config field that makes no sense is refused before anything is sent, by name.
func ExampleDial_badConfig() {
	_, err := pptp.Dial(context.Background(), pptp.Config{Server: "vpn.example.com", User: "alice", Password: "secret", MTU: 9000})
	var de *pptp.DialError
	if errors.As(err, &de) {
		fmt.Println(de.Stage, "-", de.Err)
	}
	// Output: configuration - pptp: Config.MTU 9000 out of range (576..1500)
}

// Serve a port inside the tunnel: the server's side reaches it at our tunnel address.
func ExampleTunnel_Listen() {
	t, err := pptp.Dial(context.Background(), pptp.Config{Server: "vpn.example.com", User: "alice", Password: "secret"})
	if err != nil {
		log.Fatal(err)
	}
	defer t.Close()
	ln, err := t.Listen("tcp", ":8080")
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("serving on %v:8080 inside the tunnel", t.Params().Local)
	go http.Serve(ln, http.FileServer(http.Dir("/srv/www")))
	<-t.Done()
	log.Printf("link ended: %v", t.Err())
}

// Weaker choices are explicit: a server that offers only 40-bit MPPE, with MS-CHAPv1.
func ExampleConfig_weaker() {
	cfg := pptp.Config{
		Server: "old-router.example", User: "alice", Password: "secret",
		Auth:       pptp.MSCHAPv2 | pptp.MSCHAPv1,
		Encryption: pptp.RequireMPPE,
	}
	_ = cfg
}

// A PPTP server whose sessions' traffic goes on from this process (no TUN): every client
// connection is re-originated here, the server host's loopback refused.
func ExampleServe() {
	ln, err := net.Listen("tcp4", ":1723")
	if err != nil {
		log.Fatal(err)
	}
	users := map[string]string{"alice": "wonderland"}
	err = pptp.Serve(context.Background(), ln, pptp.ServerConfig{
		Password: func(u string) (string, bool) { p, ok := users[u]; return p, ok },
		Local:    netip.MustParseAddr("10.0.0.1"),
		Pool:     []netip.Addr{netip.MustParseAddr("10.0.0.10"), netip.MustParseAddr("10.0.0.11")},
		DNS:      []netip.Addr{netip.MustParseAddr("10.0.0.1")},
		Handle: func(s *pptp.ServerSession) (netstack.Handler, func()) {
			log.Printf("%s from %v: %s, %s", s.User, s.Client, s.Auth, s.Encryption)
			es := egress.NewSession(egress.Config{Logf: log.Printf}, s.User, []netip.Addr{s.Local})
			return es.Handler(), es.Close
		},
		Logf: log.Printf,
	})
	if err != nil {
		log.Fatal(err)
	}
}
