// SPDX-License-Identifier: MIT

package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"

	"github.com/pptp-go/pptp/aaa"
	"github.com/pptp-go/pptp/pppconf"
)

// DefaultRadiusConfig is where pppd's radius plugin looks when radius-config-file is absent.
const DefaultRadiusConfig = "/etc/radiusclient/radiusclient.conf"

// radattrDir is where radattr.IFNAME files go (pppd's radattr plugin writes to /var/run);
// PPTP_GO_RUNDIR moves it (tests).
func radattrDir() string {
	if d := os.Getenv("PPTP_GO_RUNDIR"); d != "" {
		return d
	}
	return "/var/run"
}

// radiusConfig reads the RADIUS configuration when the options file loads radius.so
// (nil otherwise).
func radiusConfig(o *pppconf.Options, log *logger) (*aaa.RADIUS, error) {
	if !slices.Contains(o.Plugins, "radius.so") {
		if o.RadiusConfigFile != "" {
			log.Warnf("radius-config-file is ignored without plugin radius.so")
		}
		return nil, nil
	}
	path := o.RadiusConfigFile
	if path == "" {
		path = DefaultRadiusConfig
	}
	c, err := aaa.ParseConfig(path)
	if err != nil {
		return nil, err
	}
	for _, n := range c.Notes {
		log.Logf("%s", n)
	}
	r := aaa.New(c, log.Logf)
	if slices.Contains(o.Plugins, "radattr.so") {
		r.RadattrDir = radattrDir()
	}
	log.Logf("RADIUS: authentication via %v, accounting via %v (timeout %v, %d tries per server); chap-secrets is not used",
		c.Auth, c.Acct, c.Timeout, c.Retries)
	return r, nil
}

// startDAE opens the Disconnect/CoA listener when dae-server is configured.
func startDAE(ctx context.Context, r *aaa.RADIUS, log *logger) error {
	addr := r.DAEAddr()
	if addr == "" {
		return nil
	}
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		return fmt.Errorf("dae-server %s: %w", addr, err)
	}
	log.Logf("RADIUS: Disconnect/CoA requests accepted on %s", conn.LocalAddr())
	go func() {
		if err := r.ServeDAE(ctx, conn); err != nil {
			log.Logf("RADIUS DAE: %v", err)
		}
	}()
	return nil
}
