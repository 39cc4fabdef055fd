// SPDX-License-Identifier: MIT

package ra

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.zx2c4.com/wireguard/tun"

	"github.com/pptp-go/pptp/internal/nstest"
	"github.com/pptp-go/pptp/netif"
)

const tunOffset = 16

// packets reads dev in the background and hands over copies of every packet.
func packets(dev tun.Device) <-chan []byte {
	ch := make(chan []byte, 64)
	go func() {
		defer close(ch)
		bufs := make([][]byte, dev.BatchSize())
		sizes := make([]int, len(bufs))
		for i := range bufs {
			bufs[i] = make([]byte, tunOffset+65535)
		}
		for {
			n, err := dev.Read(bufs, sizes, tunOffset)
			if err != nil {
				return
			}
			for i := range n {
				ch <- bytes.Clone(bufs[i][tunOffset : tunOffset+sizes[i]])
			}
		}
	}()
	return ch
}

// nextRA waits for an IPv6 packet carrying a Router Advertisement; nil after wait.
func nextRA(ch <-chan []byte, wait time.Duration) []byte {
	deadline := time.After(wait)
	for {
		select {
		case p, ok := <-ch:
			if !ok {
				return nil
			}
			if len(p) > 40 && p[0]>>4 == 6 && p[6] == 58 && p[40] == TypeRouterAdvertisement {
				return p
			}
		case <-deadline:
			return nil
		}
	}
}

// solicitation is an IPv6 packet with a Router Solicitation from src to ff02::2.
func solicitation(src netip.Addr, hopLimit uint8) []byte {
	dst := netip.MustParseAddr("ff02::2")
	icmp := []byte{TypeRouterSolicitation, 0, 0, 0, 0, 0, 0, 0}
	p := make([]byte, 40, 48)
	p[0] = 0x60
	binary.BigEndian.PutUint16(p[4:], uint16(len(icmp)))
	p[6], p[7] = 58, hopLimit
	s, d := src.As16(), dst.As16()
	copy(p[8:], s[:])
	copy(p[24:], d[:])
	// ICMPv6 checksum over the pseudo-header (RFC 8200 §8.1).
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
	}
	add(s[:])
	add(d[:])
	sum += uint32(len(icmp)) + 58
	add(icmp)
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(icmp[2:], ^uint16(sum))
	return append(p, icmp...)
}

// TestResponderOnTUN: a real TUN with the link-local addresses IPV6CP would give it; the
// responder advertises at once, answers a solicitation (one per minDelay) written into the TUN (as one from
// the client arrives), ignores one whose hop limit is not 255, and stops after Remove.
func TestResponderOnTUN(t *testing.T) {
	nstest.RequireRoot(t)
	ns := nstest.New(t, "ratest")
	ad := Advertisement{HopLimit: 64, RouterLifetime: RouterLife, Prefix: netip.MustParsePrefix("2001:db8:99:7::/64"),
		ValidLife: ValidLife, PreferredLife: PreferredLife, MTU: 1396, DNS: []netip.Addr{netip.MustParseAddr("2001:db8::53")}, DNSLife: RouterLife}
	local, peer := netip.MustParseAddr("fe80::1:2:3:4"), netip.MustParseAddr("fe80::5:6:7:8")
	err := nstest.In(ns, func() error {
		dev, name, err := netif.CreateTUN("ratun%d", 1400)
		if err != nil {
			return err
		}
		defer dev.Close()
		if _, err := netif.Apply6(netif.Config6{IfName: name, Local: local, Peer: peer}); err != nil {
			return err
		}
		pkts := packets(dev)
		r, err := NewResponder(t.Logf)
		if err != nil {
			return err
		}
		defer r.Close()
		r.mu.Lock()
		r.minDelay = 700 * time.Millisecond
		r.mu.Unlock()
		idx := ifIndex(t, name)
		if err := r.Add(idx, name, local, ad); err != nil {
			return err
		}
		check := func(what string, p []byte) {
			if p == nil {
				t.Fatalf("%s: no Router Advertisement came out of %s", what, name)
			}
			if p[7] != 255 || netip.AddrFrom16([16]byte(p[8:24])) != local || netip.AddrFrom16([16]byte(p[24:40])) != netip.MustParseAddr("ff02::1") {
				t.Fatalf("%s: hop limit %d, %v -> %v", what, p[7], netip.AddrFrom16([16]byte(p[8:24])), netip.AddrFrom16([16]byte(p[24:40])))
			}
			got, err := Parse(p[40:])
			if err != nil || got.Prefix != ad.Prefix || got.MTU != 1396 || len(got.DNS) != 1 {
				t.Fatalf("%s: %+v %v", what, got, err)
			}
		}
		check("at Add", nextRA(pkts, 3*time.Second))
		write := func(p []byte) {
			b := append(make([]byte, tunOffset), p...)
			if _, err := dev.Write([][]byte{b}, tunOffset); err != nil {
				t.Fatal(err)
			}
		}
		write(solicitation(peer, 64))
		if p := nextRA(pkts, 500*time.Millisecond); p != nil {
			t.Fatal("answered a solicitation with hop limit 64")
		}
		time.Sleep(r.minDelay)
		write(solicitation(peer, 255))
		check("solicited", nextRA(pkts, 3*time.Second))
		write(solicitation(peer, 255))
		if p := nextRA(pkts, 300*time.Millisecond); p != nil {
			t.Fatal("answered two solicitations within minDelay")
		}
		r.Remove(idx)
		write(solicitation(peer, 255))
		if p := nextRA(pkts, 500*time.Millisecond); p != nil {
			t.Fatal("advertised after Remove")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func ifIndex(t *testing.T, name string) int {
	t.Helper()
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return ifi.Index
}
