// SPDX-License-Identifier: MIT

package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pptp-go/pptp/internal/radtest"
)

// TestDebianClientViaRadius: Debian's pptp-linux + pppd (client VM) → our pptpd → FreeRADIUS
// 3.2 in its own namespace. MS-CHAPv2 with MPPE-128 comes up and pings, with the address
// FreeRADIUS assigns (Framed-IP-Address) and the MPPE keys it sent (a key other than the
// one pppd derives would decrypt nothing, so the ping proves they agree); a wrong password
// gets E=691 on the client; accounting Start and Stop reach FreeRADIUS's detail file.
func TestDebianClientViaRadius(t *testing.T) {
	rad := radtest.Start(t, radtest.Options{Users: `test	Cleartext-Password := "test"
	Framed-IP-Address = 10.88.0.177,
	MS-Primary-DNS-Server = 10.88.0.53
`})
	serverStart(t) // the VM network must exist; our server listens on the host side
	nasAddr, radAddr := rad.Link(ns)
	dir := t.TempDir()
	rc := radtest.RadiusclientConf(t, dir, []string{radAddr}, fmt.Sprintf("nas-identifier interop-nas\nbindaddr %s\n", nasAddr))
	os.WriteFile(filepath.Join(dir, "options"), []byte("name pptpd\nrequire-mschap-v2\nrequire-mppe-128\nms-dns 10.88.0.1\nplugin radius.so\nradius-config-file "+rc+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "pptpd.conf"), []byte("option "+filepath.Join(dir, "options")+"\nlocalip 10.88.0.1\nremoteip 10.88.0.100-120\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "chap-secrets"), []byte("test * wrong *\n"), 0o600) // must not be read
	s := start(t, pptpdBin, "--fg", "--debug", "--conf", filepath.Join(dir, "pptpd.conf"),
		"--chap-secrets", filepath.Join(dir, "chap-secrets"), "--listen", "192.0.2.1", "--pidfile", filepath.Join(dir, "pid"))
	time.Sleep(300 * time.Millisecond)
	out, err := run(t, 120*time.Second, "client", "192.0.2.1", "--ping", "5")
	res := keyValues(out)
	if err != nil || res["link"] != "up" {
		t.Logf("refvm client failed once (%v, link=%s); retrying", err, res["link"])
		out, err = run(t, 120*time.Second, "client", "192.0.2.1", "--ping", "5")
		res = keyValues(out)
	}
	t.Logf("refvm client 192.0.2.1 via RADIUS: link=%s local_ip=%s mppe=%s dns1=%s ping=%s", res["link"], res["local_ip"], res["mppe"], res["dns1"], res["ping"])
	if err != nil || res["link"] != "up" || res["ping"] != "ok" {
		t.Fatalf("reference client via RADIUS: %v\n%s\nour server:\n%s\nFreeRADIUS:\n%s", err, out, s.log.String(), rad.Log.String())
	}
	if !strings.Contains(res["mppe"], "128") {
		t.Errorf("mppe=%q", res["mppe"])
	}
	if res["local_ip"] != "10.88.0.177" {
		t.Errorf("client address %q, want Framed-IP-Address 10.88.0.177", res["local_ip"])
	}
	if res["dns1"] != "10.88.0.53" {
		t.Errorf("dns1=%q, want MS-Primary-DNS-Server 10.88.0.53", res["dns1"])
	}
	if !strings.Contains(s.log.String(), `RADIUS accepted "test" (MS-CHAPv2)`) {
		t.Errorf("our server did not log the RADIUS accept:\n%s", s.log.String())
	}

	out, err = run(t, 120*time.Second, "client", "192.0.2.1", "--password", "nottest", "--ping", "0", "--timeout", "15")
	cl, _ := run(t, 30*time.Second, "log", "client")
	if err == nil || keyValues(out)["link"] == "up" {
		t.Errorf("a wrong password linked:\n%s", out)
	}
	if !strings.Contains(cl, "E=691") {
		t.Errorf("the client VM's pppd did not see E=691:\n%s", tail(cl, 30))
	}
	s.stop(t)

	var starts, stops int
	for _, r := range rad.Records() {
		if r["NAS-Identifier"] != "interop-nas" || r["User-Name"] != "test" {
			continue
		}
		switch r["Acct-Status-Type"] {
		case "Start":
			starts++
		case "Stop":
			stops++
			if r["Framed-IP-Address"] != "10.88.0.177" {
				t.Errorf("Stop record Framed-IP-Address %q", r["Framed-IP-Address"])
			}
		}
	}
	if starts < 1 || stops != starts {
		t.Errorf("detail file: %d Start, %d Stop records for the session(s):\n%s", starts, stops, rad.Detail())
	}
}
