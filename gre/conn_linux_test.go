// SPDX-License-Identifier: MIT

package gre

import (
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/net/bpf"
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

// A link-local peer without a zone means no interface; Dial and Mux.Dial say so.
func TestDialLinkLocalNeedsZone(t *testing.T) {
	_, err := Dial(netip.MustParseAddr("fe80::1"), Options{})
	if !errors.Is(err, ErrNoZone) || !strings.Contains(err.Error(), "fe80::1") {
		t.Fatalf("Dial(fe80::1) = %v, want ErrNoZone naming the address", err)
	}
	if _, err := Dial(netip.MustParseAddr("fe80::1%nosuchdev0"), Options{}); err == nil || !strings.Contains(err.Error(), "nosuchdev0") {
		t.Fatalf("Dial with an unknown zone = %v", err)
	}
	if _, err := Dial(netip.MustParseAddr("2001:db8::1"), Options{Local: netip.MustParseAddr("192.0.2.1")}); err == nil || !strings.Contains(err.Error(), "different families") {
		t.Fatalf("Dial with a local address of the other family = %v", err)
	}
}

func TestCallIDFilterProgram6(t *testing.T) {
	prog, err := bpf.Assemble(callIDProgram(false, bpf.JumpEqual, 0x1A2B))
	if err != nil {
		t.Fatal(err)
	}
	// ldh [6]; jeq #0x1a2b; ret all; ret 0 — an IPv6 filter sees GRE first
	if len(prog) != 4 || prog[0].Op != 0x28 || prog[0].K != 6 || prog[1].K != 0x1A2B || prog[3].K != 0 {
		t.Fatalf("program %+v", prog)
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
