// SPDX-License-Identifier: MIT

package gre

import (
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
)

const noNetRawEnv = "GRE_TEST_NO_NET_RAW"

func TestDialWithoutCapNetRaw(t *testing.T) {
	check := func() {
		_, err := Dial(netip.MustParseAddr("127.0.0.1"), Options{})
		if err == nil || !strings.Contains(err.Error(), "raw GRE socket needs root or CAP_NET_RAW") {
			t.Fatalf("Dial without CAP_NET_RAW: %v", err)
		}
	}
	if os.Getenv(noNetRawEnv) == "1" || os.Geteuid() != 0 {
		check()
		return
	}
	// As root: rerun this test in a child whose capability bounding set
	// lacks CAP_NET_RAW.
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv not found")
	}
	cmd := exec.Command(setpriv, "--bounding-set=-net_raw", "--inh-caps=-net_raw", "--",
		os.Args[0], "-test.run=^TestDialWithoutCapNetRaw$", "-test.v")
	cmd.Env = append(os.Environ(), noNetRawEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func TestDialRejectsIPv6(t *testing.T) {
	if _, err := Dial(netip.MustParseAddr("2001:db8::1"), Options{}); err == nil {
		t.Fatal("IPv6 peer accepted")
	}
}

func TestCallIDFilterProgram(t *testing.T) {
	prog, err := CallIDFilter(0x1A2B)
	if err != nil {
		t.Fatal(err)
	}
	// ldxb 4*([0]&0xf); ldh [x+6]; jeq #0x1a2b; ret all; ret 0
	if len(prog) != 5 || prog[0].Op != 0xb1 || prog[1].Op != 0x48 || prog[1].K != 6 ||
		prog[2].K != 0x1A2B || prog[4].K != 0 {
		t.Fatalf("program %+v", prog)
	}
}
