package main
import (
 _ "golang.zx2c4.com/wireguard/tun"
 _ "golang.zx2c4.com/wireguard/tun/netstack"
 _ "golang.org/x/net/ipv4"
 _ "golang.org/x/net/bpf"
 _ "golang.org/x/sys/unix"
 _ "golang.org/x/crypto/md4"
 _ "github.com/vishvananda/netlink"
 _ "github.com/vishvananda/netns"
 _ "github.com/spf13/pflag"
 _ "github.com/creack/pty"
 _ "github.com/things-go/go-socks5"
 _ "pgregory.net/rapid"
 _ "layeh.com/radius/rfc2759"
 _ "layeh.com/radius/rfc3079"
)
func main(){}
