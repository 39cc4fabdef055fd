// SPDX-License-Identifier: MIT

// Command pptp is a PPTP client: a drop-in for pptp-linux 1.10.0 (--nolaunchpppd under
// `pppd pty`, launch mode) that also runs the whole PPP stack itself (the default), bringing
// up a TUN interface with no pppd and no kernel PPP. See pptp(8) and `pptp --help`.
package main

import (
	"os"

	"github.com/pptp-go/pptp/cli"
)

func main() {
	os.Exit(cli.PPTPMain(os.Args[1:]))
}
