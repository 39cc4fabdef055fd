// SPDX-License-Identifier: MIT

// Command socks5 is a SOCKS5 proxy in front of a PPTP link, with no TUN device: every
// connection made through it leaves from the tunnel's user-space TCP/IP stack. It needs
// CAP_NET_RAW (the GRE socket) and nothing else.
//
//	socks5 -server vpn.example.com -user alice -password-file alice.pass -listen 127.0.0.1:1080
//	curl --socks5-hostname 127.0.0.1:1080 http://intranet.example/
package main

import (
	"context"
	"flag"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"

	"github.com/pptp-go/pptp"
	"github.com/pptp-go/pptp/proxy"
)

func main() {
	server := flag.String("server", "", "PPTP server")
	user := flag.String("user", "", "user name")
	pwFile := flag.String("password-file", "", "file whose first line is the password")
	listen := flag.String("listen", "127.0.0.1:1080", "SOCKS5 address")
	flag.Parse()
	pw, err := os.ReadFile(*pwFile)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ln, err := net.Listen("tcp", *listen) // before dialling: a busy port costs no call
	if err != nil {
		log.Fatal(err)
	}
	t, err := pptp.Dial(ctx, pptp.Config{
		Server: *server, User: *user, Password: strings.TrimRight(string(pw), "\r\n"), Logf: log.Printf,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer t.Close()
	log.Printf("SOCKS5 on %s through %s (%s)", ln.Addr(), t.Params().Local, t.Params().Encryption)
	go func() {
		<-t.Done() // the link failed: stop serving
		stop()
	}()
	if err := proxy.ServeSOCKS5(ctx, ln, t); err != nil {
		log.Print(err)
	}
	if err := t.Err(); err != nil {
		log.Fatal(err)
	}
}
