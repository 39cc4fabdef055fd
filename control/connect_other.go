// SPDX-License-Identifier: MIT

//go:build !linux

package control

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// beginConnect returns what dials ap (from local if valid); outside Linux there are no
// namespaces to keep, so the dial itself runs on the waiting goroutine.
func beginConnect(ap netip.AddrPort, local netip.Addr, mark int) func(context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		d := net.Dialer{}
		if local.IsValid() {
			d.LocalAddr = &net.TCPAddr{IP: local.AsSlice(), Zone: local.Zone()}
		}
		if mark != 0 {
			d.Control = markControl(mark)
		}
		return d.DialContext(ctx, "tcp", ap.String())
	}
}

func markControl(mark int) func(string, string, syscall.RawConn) error {
	return func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) { serr = setMark(fd, mark) }); err != nil {
			return err
		}
		if serr != nil {
			return fmt.Errorf("set SO_MARK %d: %w", mark, serr)
		}
		return nil
	}
}
