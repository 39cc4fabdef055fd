// SPDX-License-Identifier: MIT

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// plugin radius.so reads radiusclient.conf; its errors, and a plugin we do not have,
// name their file and line; with RADIUS the server gets hooks and no secrets lookup.
func TestServerConfigRadius(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o600)
		return p
	}
	rc := write("radiusclient.conf", "authserver 127.0.0.1\nacctserver 127.0.0.1\nservers "+filepath.Join(dir, "servers")+"\nradius_retries 2\n")
	write("servers", "127.0.0.1 topsecret\n")
	bad := write("bad.conf", "authserver 127.0.0.1\nradius_retries many\n")
	secrets := write("cs", "u * p *\n")
	for _, c := range []struct{ opts, wantErr string }{
		{"plugin radius.so\nplugin radattr.so\nradius-config-file " + rc + "\n", ""},
		{"plugin /usr/lib/pppd/2.4.9/radius.so\nradius-config-file " + bad + "\n", "bad.conf:2: radius_retries needs a positive number"},
		{"name pptpd\nplugin rp-pppoe.so\n", "opts:2: option \"plugin\": plugin \"rp-pppoe.so\" is not available"},
	} {
		opts := write("opts", c.opts)
		conf := write("conf", "option "+opts+"\nlocalip 10.9.0.1\nremoteip 10.9.0.2-3\n")
		a, err := ParsePPTPDArgs([]string{"--conf", conf, "--chap-secrets", secrets})
		if err != nil {
			t.Fatal(err)
		}
		out := &strings.Builder{}
		cfg, _, _, _, rad, err := serverConfig(a, &logger{w: out, prefix: "pptpd: "})
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%q: error %v, want %q", c.opts, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if rad == nil || cfg.Hooks == nil {
			t.Fatalf("plugin radius.so: no RADIUS hooks")
		}
		if strings.Contains(out.String(), "topsecret") {
			t.Errorf("the log shows the RADIUS secret:\n%s", out.String())
		}
		if !strings.Contains(out.String(), "chap-secrets is not used") {
			t.Errorf("the log does not say chap-secrets is out of use:\n%s", out.String())
		}
	}
}
