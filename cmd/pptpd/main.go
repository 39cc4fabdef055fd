// SPDX-License-Identifier: MIT

// Command pptpd is a PPTP server compatible with poptop's configuration files that runs the
// PPP authenticator itself: no pppd and no kernel PPP. See pptpd(8) and `pptpd --help`.
package main

import (
	"os"

	"github.com/pptp-go/pptp/cli"
	_ "github.com/pptp-go/pptp/internal/promexp" // pptpd.conf "metrics": Prometheus, in this binary only
)

func main() {
	os.Exit(cli.PPTPDMain(os.Args[1:]))
}
