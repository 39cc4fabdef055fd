// SPDX-License-Identifier: MIT

package control

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// beginConnect makes a non-blocking TCP socket to ap (bound to local if valid, with
// SO_MARK mark if non-zero) and starts its connect, on the calling thread and so in its
// network namespace; the function it returns waits for the connect, through the runtime
// poller, until ctx ends.
func beginConnect(ap netip.AddrPort, local netip.Addr, mark int) func(context.Context) (net.Conn, error) {
	fail := func(err error) func(context.Context) (net.Conn, error) {
		return func(context.Context) (net.Conn, error) { return nil, err }
	}
	rsa, err := tcpSockaddr(ap.Addr(), ap.Port())
	if err != nil {
		return fail(err)
	}
	family := unix.AF_INET6
	if ap.Addr().Unmap().Is4() {
		family = unix.AF_INET
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return fail(os.NewSyscallError("socket", err))
	}
	if mark != 0 {
		if err := setMark(uintptr(fd), mark); err != nil {
			unix.Close(fd)
			return fail(fmt.Errorf("set SO_MARK %d: %w", mark, err))
		}
	}
	if local.IsValid() {
		lsa, err := tcpSockaddr(local, 0)
		if err == nil {
			err = os.NewSyscallError("bind", unix.Bind(fd, lsa))
		}
		if err != nil {
			unix.Close(fd)
			return fail(err)
		}
	}
	if err := unix.Connect(fd, rsa); err != nil && err != unix.EINPROGRESS {
		unix.Close(fd)
		return fail(os.NewSyscallError("connect", err))
	}
	f := os.NewFile(uintptr(fd), "tcp:"+ap.String()) // non-blocking: in the poller
	return func(ctx context.Context) (net.Conn, error) {
		defer f.Close()
		if dl, ok := ctx.Deadline(); ok {
			f.SetWriteDeadline(dl)
		}
		stop := context.AfterFunc(ctx, func() { f.SetWriteDeadline(time.Unix(1, 0)) })
		defer stop()
		rc, err := f.SyscallConn()
		if err != nil {
			return nil, err
		}
		var cerr error
		werr := rc.Write(func(fd uintptr) bool {
			v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
			switch {
			case err != nil:
				cerr = err
			case v != 0:
				cerr = syscall.Errno(v)
			default:
				if _, err := unix.Getpeername(int(fd)); err != nil {
					return false // still connecting: wait until writable
				}
			}
			return true
		})
		switch {
		case werr != nil && ctx.Err() != nil:
			return nil, ctx.Err()
		case werr != nil:
			return nil, werr
		case cerr != nil:
			return nil, os.NewSyscallError("connect", cerr)
		}
		return net.FileConn(f)
	}
}

// tcpSockaddr is addr:port as a socket address; a zone becomes the scope ID.
func tcpSockaddr(addr netip.Addr, port uint16) (unix.Sockaddr, error) {
	addr = addr.Unmap()
	if addr.Is4() {
		return &unix.SockaddrInet4{Addr: addr.As4(), Port: int(port)}, nil
	}
	sa := &unix.SockaddrInet6{Addr: addr.As16(), Port: int(port)}
	if z := addr.Zone(); z != "" {
		if n, err := strconv.ParseUint(z, 10, 32); err == nil {
			sa.ZoneId = uint32(n)
		} else if ifi, err := net.InterfaceByName(z); err == nil {
			sa.ZoneId = uint32(ifi.Index)
		} else {
			return nil, fmt.Errorf("%v: zone %q: %w", addr, z, err)
		}
	}
	return sa, nil
}
