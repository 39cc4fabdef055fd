// SPDX-License-Identifier: MIT

//go:build !linux && !plan9

package gre

import (
	"errors"
	"syscall"
)

// sendFailure classifies an error from PacketConn.WriteBatch as on Linux, by the
// syscall.Errno names in-memory PacketConns (internal/lossylink) report: EBADF, EFAULT and
// EINVAL end the Link, any other errno refuses just the one packet.
func sendFailure(err error) (sendFault, error) {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return sendFatal, err
	}
	switch errno {
	case syscall.EBADF, syscall.EFAULT, syscall.EINVAL:
		return sendFatal, errno
	case syscall.EMSGSIZE:
		return sendTooBig, errno
	case syscall.ENOBUFS:
		return sendNoBuffer, errno
	}
	return sendRefused, errno
}

// recvFailure: no receive error is transient here; those Linux reads on after are ICMP
// errors reported on its connected raw sockets.
func recvFailure(err error) (errno error, transient bool) { return err, false }
