// SPDX-License-Identifier: MIT

package cli

import (
	"strings"
	"testing"

	"github.com/pptp-go/pptp/proxy"
)

// A proxy listening beyond loopback is warned about, louder without credentials; one on
// loopback is not.
func TestProxyExposedWarning(t *testing.T) {
	for _, tc := range []struct {
		addr string
		auth bool
		want string
	}{{"127.0.0.1:0", false, ""}, {"0.0.0.0:0", false, "WITHOUT AUTHENTICATION"}, {"0.0.0.0:0", true, "only the --proxy-user credentials"}} {
		var out strings.Builder
		log := &logger{w: &out, prefix: "pptp: "}
		s := &clientSettings{socksAddr: tc.addr}
		if tc.auth {
			s.proxyAuth = proxy.Auth{User: "u", Password: "p"}
		}
		lns, err := listenProxies(log, s)
		if err != nil {
			t.Fatal(err)
		}
		lns.close()
		if got := out.String(); (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s auth=%v: logged %q", tc.addr, tc.auth, got)
		}
		if strings.Contains(out.String(), "p\"") {
			t.Errorf("password logged")
		}
	}
}
