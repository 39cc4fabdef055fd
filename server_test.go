// SPDX-License-Identifier: MIT

package pptp

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/pptp-go/pptp/netstack"
	"github.com/pptp-go/pptp/ppp/auth"
)

func validServer() ServerConfig {
	return ServerConfig{
		Password: func(string) (string, bool) { return "", false },
		Local:    netip.MustParseAddr("10.0.0.1"),
		Pool:     []netip.Addr{netip.MustParseAddr("10.0.0.10")},
		Handle:   func(*ServerSession) (netstack.Handler, func()) { return netstack.Handler{}, nil },
	}
}

// TestZeroServerConfigIsSafe: the defaults require MS-CHAPv2 and 128-bit MPPE.
func TestZeroServerConfigIsSafe(t *testing.T) {
	c := validServer()
	sc, err := c.sessionConfig()
	if err != nil {
		t.Fatal(err)
	}
	e := sc.PPP
	if !e.Server || e.Require != auth.MethodSet(0).Add(auth.MSCHAPv2) || !e.MPPE.Require || e.MPPE.Allow40 {
		t.Errorf("engine %+v", e)
	}
	if sc.Stack == nil || sc.Connections != 1 {
		t.Errorf("Stack %v, Connections %d", sc.Stack != nil, sc.Connections)
	}
}

func TestServerConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		mod  func(*ServerConfig)
		want string
	}{
		{func(c *ServerConfig) { c.Password = nil }, "Password"},
		{func(c *ServerConfig) { c.Handle = nil }, "Handle"},
		{func(c *ServerConfig) { c.Local = netip.Addr{} }, "Local"},
		{func(c *ServerConfig) { c.Pool = nil }, "Pool"},
		{func(c *ServerConfig) { c.Pool = append(c.Pool, c.Local) }, "Pool"},
		{func(c *ServerConfig) { c.Auth = PAP }, "MS-CHAP"},
		{func(c *ServerConfig) { c.Encryption = 99 }, "Encryption"},
	} {
		c := validServer()
		tc.mod(&c)
		if _, err := c.sessionConfig(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want one naming %s", err, tc.want)
		}
	}
}
