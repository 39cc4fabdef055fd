// SPDX-License-Identifier: MIT

package netif

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/tun"
)

func TestCreateTUNBadName(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"this-name-is-too-long", "is too long (21 bytes, at most 15)"},
		{"a/b", "is invalid"},
		{"a:b", "is invalid"},
		{"a b", "is invalid"},
		{"tab\tx", "is invalid"},
		{".", "is invalid"},
		{"..", "is invalid"},
		{"tun%s", "the only pattern allowed is one %d"},
		{"t%d%d", "the only pattern allowed is one %d"},
	} {
		dev, _, err := CreateTUN(tc.name, 1400)
		if err == nil {
			dev.Close()
			t.Errorf("CreateTUN(%q) succeeded", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CreateTUN(%q) = %q, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

func TestCreateTUNBadMTU(t *testing.T) {
	for _, mtu := range []int{-1, 67, 65536} {
		if _, _, err := CreateTUN("nt-mtu0", mtu); err == nil || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("CreateTUN mtu %d: err = %v", mtu, err)
		}
	}
}

func TestCreateTUNNoCloneDevice(t *testing.T) {
	old := tunClonePath
	tunClonePath = filepath.Join(t.TempDir(), "tun")
	defer func() { tunClonePath = old }()
	_, _, err := CreateTUN("nt-none0", 1400)
	if err == nil {
		t.Fatal("CreateTUN without a clone device succeeded")
	}
	if !strings.HasPrefix(err.Error(), errTextNoTUN) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %q", err)
	}
}

func TestCreateTUNNameOfNonTUN(t *testing.T) {
	withNetns(t, func(h *netlink.Handle) {
		addPhys(t, h)
		dev, _, err := CreateTUN("nt-phys0", 1400)
		if err == nil {
			dev.Close()
			t.Fatal("CreateTUN over a veth device succeeded")
		}
		if want := `interface name "nt-phys0" is in use by a non-TUN device (type veth)`; err.Error() != want {
			t.Fatalf("err = %q, want %q", err, want)
		}
		tap := &netlink.Tuntap{LinkAttrs: netlink.LinkAttrs{Name: "nt-tap0"}, Mode: netlink.TUNTAP_MODE_TAP, Flags: netlink.TUNTAP_DEFAULTS}
		if err := h.LinkAdd(tap); err != nil {
			t.Fatal(err)
		}
		for _, f := range tap.Fds {
			f.Close()
		}
		if _, _, err := CreateTUN("nt-tap0", 1400); err == nil || !strings.Contains(err.Error(), "in use by a TAP device") {
			t.Fatalf("CreateTUN over a TAP: err = %v", err)
		}
	})
}

func TestCreateTUNBusyAndPattern(t *testing.T) {
	withNetns(t, func(h *netlink.Handle) {
		dev, name, err := CreateTUN("nt-busy0", 1300)
		if err != nil {
			t.Fatal(err)
		}
		defer dev.Close()
		if name != "nt-busy0" {
			t.Errorf("name = %q", name)
		}
		if mtu, err := dev.MTU(); err != nil || mtu != 1300 {
			t.Errorf("MTU = %d, %v; want 1300", mtu, err)
		}
		if bs := dev.BatchSize(); bs <= 1 {
			t.Errorf("BatchSize = %d: the vnet header / offloads were not enabled", bs)
		}
		l, err := h.LinkByName("nt-busy0")
		if err != nil {
			t.Fatal(err)
		}
		if l.Type() != "tuntap" {
			t.Errorf("link type %q", l.Type())
		}

		_, _, err = CreateTUN("nt-busy0", 1300)
		if err == nil || !errors.Is(err, unix.EBUSY) || !strings.Contains(err.Error(), "already in use by another process") {
			t.Fatalf("second CreateTUN: err = %v", err)
		}

		dev2, name2, err := CreateTUN("ntp%d", 0)
		if err != nil {
			t.Fatal(err)
		}
		defer dev2.Close()
		if name2 != "ntp0" {
			t.Errorf("pattern name = %q, want ntp0", name2)
		}
		if mtu, _ := dev2.MTU(); mtu != DefaultMTU {
			t.Errorf("MTU = %d, want DefaultMTU", mtu)
		}

		if err := SetMTU("ntp0", 1280); err != nil {
			t.Fatal(err)
		}
		if mtu, _ := dev2.MTU(); mtu != 1280 {
			t.Errorf("after SetMTU: MTU = %d", mtu)
		}
		if err := SetMTU("nt-absent0", 1280); err == nil {
			t.Error("SetMTU on a missing interface succeeded")
		}
	})
}

// TestCreateTUNWithoutCapNetAdmin runs CreateTUN in a child process (inside a test namespace)
// whose capability bounding set lacks CAP_NET_ADMIN, so TUNSETIFF answers EPERM.
func TestCreateTUNWithoutCapNetAdmin(t *testing.T) {
	if os.Getenv("NETIF_TEST_HELPER") == "nocap" {
		_, _, err := CreateTUN("nt-nocap0", 1400)
		os.Stdout.WriteString("RESULT: " + errString(err) + "\n")
		os.Exit(0)
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv not installed")
	}
	withNetns(t, func(h *netlink.Handle) {
		cmd := exec.Command(setpriv, "--bounding-set=-net_admin", "--inh-caps=-net_admin", "--",
			os.Args[0], "-test.run=^TestCreateTUNWithoutCapNetAdmin$")
		cmd.Env = append(os.Environ(), "NETIF_TEST_HELPER=nocap")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("helper: %v\n%s", err, out)
		}
		want := "RESULT: " + errTextNeedAdmin + ": operation not permitted\n"
		if !bytes.Contains(out, []byte(want)) {
			t.Fatalf("helper output %q, want %q", out, want)
		}
		if _, err := h.LinkByName("nt-nocap0"); err == nil {
			t.Error("the interface was created anyway")
		}
	})
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// TestTUNReadWrite pings the peer address from inside the namespace, reads the echo request
// out of the TUN, writes the echo reply into the TUN and sees the kernel deliver it.
func TestTUNReadWrite(t *testing.T) {
	withNetns(t, func(h *netlink.Handle) {
		const offset = 16 // session's receive offset; ≥ 10 for the vnet header
		dev, name, err := CreateTUN("nt-io0", 1400)
		if err != nil {
			t.Fatal(err)
		}
		defer dev.Close()
		local, peer := netip.MustParseAddr("10.64.0.2"), netip.MustParseAddr("10.64.0.1")
		undo, err := Apply(Config{IfName: name, Local: local, Peer: peer})
		if err != nil {
			t.Fatal(err)
		}
		defer undo()

		pc, err := icmp.ListenPacket("ip4:icmp", "0.0.0.0") // raw socket in this namespace
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		body := &icmp.Echo{ID: 0x1234, Seq: 7, Data: []byte("netif tun round trip")}
		req, _ := (&icmp.Message{Type: ipv4.ICMPTypeEcho, Body: body}).Marshal(nil)
		if _, err := pc.WriteTo(req, &net.IPAddr{IP: peer.AsSlice()}); err != nil {
			t.Fatal(err)
		}

		pkt := readTUNUntil(t, dev, offset, func(p []byte) bool {
			return len(p) >= 20 && p[0]>>4 == 4 && p[9] == 1 && netip.AddrFrom4([4]byte(p[16:20])) == peer
		})
		if got := netip.AddrFrom4([4]byte(pkt[12:16])); got != local {
			t.Errorf("echo request source %v, want %v", got, local)
		}
		ihl := int(pkt[0]&0xf) * 4
		if checksum(pkt[:ihl]) != 0 {
			t.Error("bad IPv4 header checksum from the TUN")
		}
		if checksum(pkt[ihl:]) != 0 {
			t.Error("bad ICMP checksum from the TUN")
		}
		if !bytes.Equal(pkt[ihl:], req) {
			t.Fatalf("ICMP from the TUN % x, want % x", pkt[ihl:], req)
		}

		// Answer it: IPv4 peer → local, ICMP echo reply, written at offset.
		buf := make([]byte, offset+ihl+len(req))
		reply := buf[offset:]
		ipHdr := reply[:20]
		ipHdr[0], ipHdr[1] = 0x45, 0
		binary.BigEndian.PutUint16(ipHdr[2:], uint16(len(reply)))
		binary.BigEndian.PutUint16(ipHdr[4:], 0x4242)
		ipHdr[6], ipHdr[7], ipHdr[8], ipHdr[9] = 0x40, 0, 64, 1
		copy(ipHdr[12:], peer.AsSlice())
		copy(ipHdr[16:], local.AsSlice())
		binary.BigEndian.PutUint16(ipHdr[10:], checksum(ipHdr))
		copy(reply[20:], req)
		reply[20] = 0 // echo reply
		reply[22], reply[23] = 0, 0
		binary.BigEndian.PutUint16(reply[22:], checksum(reply[20:]))
		if _, err := dev.Write([][]byte{buf}, offset); err != nil {
			t.Fatalf("TUN write: %v", err)
		}

		pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		rb := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(rb)
			if err != nil {
				t.Fatalf("no echo reply delivered by the kernel: %v", err)
			}
			m, err := icmp.ParseMessage(1, rb[:n])
			if err != nil || m.Type != ipv4.ICMPTypeEchoReply {
				continue
			}
			e, ok := m.Body.(*icmp.Echo)
			if !ok || e.ID != body.ID || e.Seq != body.Seq {
				continue
			}
			if !bytes.Equal(e.Data, body.Data) || from.String() != peer.String() {
				t.Fatalf("reply from %v data %q", from, e.Data)
			}
			return
		}
	})
}

// readTUNUntil reads packets from dev until match accepts one (other traffic such as IPv6
// router solicitations is skipped) and returns a copy of it.
func readTUNUntil(t *testing.T, dev tun.Device, offset int, match func([]byte) bool) []byte {
	t.Helper()
	type result struct {
		p   []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		bufs := make([][]byte, dev.BatchSize())
		for i := range bufs {
			bufs[i] = make([]byte, offset+65535)
		}
		sizes := make([]int, len(bufs))
		for {
			n, err := dev.Read(bufs, sizes, offset)
			if err != nil {
				ch <- result{err: err}
				return
			}
			for i := range n {
				p := bufs[i][offset : offset+sizes[i]]
				if match(p) {
					ch <- result{p: bytes.Clone(p)}
					return
				}
			}
		}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("TUN read: %v", r.err)
		}
		return r.p
	case <-time.After(5 * time.Second):
		dev.Close() // unblocks the reader
		t.Fatal("expected packet never came out of the TUN")
		return nil
	}
}

// checksum is the Internet checksum (RFC 1071); 0 over a block that contains its checksum.
func checksum(b []byte) uint16 {
	var s uint32
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}
