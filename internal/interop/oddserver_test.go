// SPDX-License-Identifier: MIT

package interop

import (
	"strings"
	"testing"
	"time"

	"github.com/pptp-go/pptp/internal/nstest"
)

// TestClientToMultilinkPppd: Debian's pppd configured to send what Windows RRAS and
// MikroTik send beside pppd's usual options (multilink: MRRU, short sequence numbers, an
// endpoint discriminator). Our client names each option in its debug log, rejects them
// (RFC 1661 Configure-Reject) and the link comes up without multilink.
func TestClientToMultilinkPppd(t *testing.T) {
	serverStart(t, "--pppd-opt", "multilink", "--pppd-opt", "mrru 1500", "--pppd-opt", "mpshortseq", "--pppd-opt", "endpoint magic:0102030405060708")
	c := start(t, pptpBin, "192.0.2.2", "--user", "test", "--password", "test", "--debug")
	if !nstest.WaitFor(25*time.Second, func() bool { return addrOf("pptp0") != "" || c.exited() }) || c.exited() {
		t.Fatalf("no address on pptp0:\n%s\nserver:\n%s", c.log.String(), serverLog(t))
	}
	log := c.log.String()
	for _, want := range []string{"rcvd [LCP ConfReq", "<mrru 1500>", "<ssnhf>", "<endpoint magic:0102030405060708>", "sent [LCP ConfRej", "MPPE 128-bit stateless"} {
		if !strings.Contains(log, want) {
			t.Errorf("client log lacks %q:\n%s", want, log)
		}
	}
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "[LCP ") && strings.Contains(line, "<opt") {
			t.Errorf("an LCP option without a name: %s", line)
		}
	}
	if out, err := nstest.Output(ns, "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.99.0.1"); err != nil {
		t.Errorf("ping: %v\n%s", err, out)
	}
	if code := c.stop(t); code != 0 {
		t.Errorf("exit status %d after SIGINT", code)
	}
}
