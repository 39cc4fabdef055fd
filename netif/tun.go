// SPDX-License-Identifier: MIT

// Package netif is the upper side of a PPTP tunnel (RFC 2637) on Linux: the TUN device that
// carries the IPv4 datagrams of the PPP link (RFC 1661, IPCP per RFC 1332), its point-to-point
// address, the routes through it, the host route that keeps the PPTP control connection and GRE
// on the physical path, and the DNS servers learned through IPCP (RFC 1877).
//
// Every netlink request is made in the network namespace of the calling thread; the package
// never switches namespaces itself, so a process started with `ip netns exec NS` configures NS.
package netif

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/tun"
)

// DefaultMTU is used by CreateTUN when mtu is 0: the largest inner MTU that fits a 1500-byte
// path after IPv4 (20) + GRE (16) + PPP/MPPE (6) overhead, rounded down as pppd users expect.
const DefaultMTU = 1400

// tunClonePath is a variable so that tests can point it at a missing file.
var tunClonePath = "/dev/net/tun"

// Error texts that callers (and users) can rely on.
const (
	errTextNoTUN     = "/dev/net/tun is missing (load the tun module or run the container with --device /dev/net/tun)"
	errTextNeedAdmin = "creating a TUN interface needs root or CAP_NET_ADMIN"
)

// CreateTUN creates (or opens) the TUN interface name with wireguard's tun package and returns
// it with its real name. An empty name or one containing a single "%d" lets the kernel pick
// (for example "tun%d" → "tun0"). mtu 0 means DefaultMTU; otherwise it must be 68..65535.
//
// Errors say exactly what is missing or wrong: the /dev/net/tun node or driver, root or
// CAP_NET_ADMIN, an invalid or too long name, a name used by a non-TUN device (or a TAP
// device), or a TUN interface that another process holds open. The underlying errno is
// wrapped, so errors.Is(err, unix.EPERM) and similar work.
//
// The device is opened with IFF_VNET_HDR (wireguard's batched, offload-aware mode): Read and
// Write need an offset of at least 10 bytes in front of each packet.
func CreateTUN(name string, mtu int) (tun.Device, string, error) {
	if err := checkIfName(name, true); err != nil {
		return nil, "", err
	}
	if mtu == 0 {
		mtu = DefaultMTU
	}
	if mtu < 68 || mtu > 65535 {
		return nil, "", fmt.Errorf("TUN MTU %d out of range (68..65535)", mtu)
	}
	if name != "" && !strings.Contains(name, "%") {
		// Checked up front because the kernel answers a name clash with a bare EINVAL.
		if err := checkExistingLink(name); err != nil {
			return nil, "", err
		}
	}

	// The open and TUNSETIFF below are tun.CreateTUN's first steps, done here so that a failure
	// closes the descriptor (tun.CreateTUN leaks it) and so each errno gets its own message.
	fd, err := unix.Open(tunClonePath, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		switch {
		case errors.Is(err, unix.ENOENT):
			return nil, "", fmt.Errorf("%s: %w", errTextNoTUN, err)
		case errors.Is(err, unix.ENODEV), errors.Is(err, unix.ENXIO):
			return nil, "", fmt.Errorf("%s exists but the tun driver is not loaded (modprobe tun): %w", tunClonePath, err)
		case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
			return nil, "", fmt.Errorf("%s (cannot open %s): %w", errTextNeedAdmin, tunClonePath, err)
		}
		return nil, "", fmt.Errorf("open %s: %w", tunClonePath, err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, "", fmt.Errorf("interface name %q: %w", name, err)
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, "", tunSetIffError(name, err)
	}
	// Set here, while a failure can still close fd (the call below leaks it then).
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, "", fmt.Errorf("TUN %q: set non-blocking: %w", name, err)
	}
	// Unmonitored: wireguard's monitored TUN runs a netlink listener per device that hears
	// every link and address change in the namespace. With a thousand sessions each set-up
	// woke a thousand threads (half the server's CPU), and a listener whose socket overflowed
	// (ENOBUFS) died and handed its error to the device's next Read, stopping that session's
	// downstream for good. We need none of its events: addresses and MTU are ours to set.
	dev, real, err := tun.CreateUnmonitoredTUNFromFD(fd)
	if err != nil {
		// fd now belongs to an os.File inside, whose finalizer closes it: not closed here.
		return nil, "", fmt.Errorf("TUN %q: %w", name, err)
	}
	if err := setMTU(real, mtu); err != nil {
		dev.Close()
		return nil, "", fmt.Errorf("TUN %q: %w", real, err)
	}
	if err := NoAutoLinkLocal(real); err != nil {
		dev.Close()
		return nil, "", fmt.Errorf("TUN %q: %w", real, err)
	}
	return dev, real, nil
}

// setMTU sets ifname's MTU with SIOCSIFMTU.
func setMTU(ifname string, mtu int) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("set MTU %d: %w", mtu, err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(ifname)
	if err != nil {
		return err
	}
	ifr.SetUint32(uint32(mtu))
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFMTU, ifr); err != nil {
		return fmt.Errorf("set MTU %d: %w", mtu, err)
	}
	return nil
}

// tunSetIffError turns a TUNSETIFF errno into a sentence.
func tunSetIffError(name string, err error) error {
	switch {
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return fmt.Errorf("%s: %w", errTextNeedAdmin, err)
	case errors.Is(err, unix.EBUSY):
		return fmt.Errorf("TUN interface %q is already in use by another process: %w", name, err)
	case errors.Is(err, unix.EINVAL):
		if cerr := checkExistingLink(name); cerr != nil {
			return fmt.Errorf("%v: %w", cerr, err)
		}
		return fmt.Errorf("TUN interface %q: invalid name or flags (an existing TUN with other flags?): %w", name, err)
	}
	return fmt.Errorf("create TUN interface %q: %w", name, err)
}

// checkIfName applies the kernel's dev_valid_name rules (and dev_alloc_name's single "%d"
// when pattern is allowed), so a bad name fails with a sentence instead of EINVAL.
func checkIfName(name string, pattern bool) error {
	if name == "" {
		if pattern {
			return nil
		}
		return errors.New("interface name is empty")
	}
	if len(name) >= unix.IFNAMSIZ {
		return fmt.Errorf("interface name %q is too long (%d bytes, at most %d)", name, len(name), unix.IFNAMSIZ-1)
	}
	if name == "." || name == ".." {
		return fmt.Errorf("interface name %q is invalid", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '/' || c == ':' || c <= ' ' || c == 0x7f {
			return fmt.Errorf("interface name %q is invalid: no '/', ':', spaces or control characters allowed", name)
		}
	}
	if n := strings.Count(name, "%"); n > 0 {
		if !pattern || n > 1 || !strings.Contains(name, "%d") {
			return fmt.Errorf("interface name %q is invalid: the only pattern allowed is one %%d", name)
		}
	}
	return nil
}

// checkExistingLink reports an error when name is taken by something that cannot be opened
// as our TUN (any other link type, or a TAP device). A missing link is fine.
func checkExistingLink(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return nil // absent, or netlink unavailable: let TUNSETIFF decide
	}
	if l.Type() != "tuntap" {
		return fmt.Errorf("interface name %q is in use by a non-TUN device (type %s)", name, l.Type())
	}
	if tt, ok := l.(*netlink.Tuntap); ok && tt.Mode == netlink.TUNTAP_MODE_TAP {
		return fmt.Errorf("interface name %q is in use by a TAP device, not a TUN device", name)
	}
	return nil
}

// SetMTU sets the MTU of the interface name (any link type).
func SetMTU(name string, mtu int) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return fmt.Errorf("set MTU of %q: %w", name, err)
	}
	if err := netlink.LinkSetMTU(l, mtu); err != nil {
		return fmt.Errorf("set MTU of %q to %d: %w", name, mtu, err)
	}
	return nil
}
