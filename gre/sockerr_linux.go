// SPDX-License-Identifier: MIT

package gre

import (
	"errors"

	"golang.org/x/sys/unix"
)

// sendFailure classifies an error from PacketConn.WriteBatch and returns the errno behind
// it, for the log. EBADF, EFAULT and EINVAL mean a closed or broken socket; any other errno
// refuses just the one packet (ENOBUFS, EMSGSIZE, an ICMP error reported on the connected
// socket, a firewall's EPERM) and the tunnel lives on.
func sendFailure(err error) (sendFault, error) {
	var errno unix.Errno
	if !errors.As(err, &errno) {
		return sendFatal, err
	}
	switch errno {
	case unix.EBADF, unix.EFAULT, unix.EINVAL:
		return sendFatal, errno
	case unix.EMSGSIZE:
		return sendTooBig, errno
	case unix.ENOBUFS:
		return sendNoBuffer, errno
	}
	return sendRefused, errno
}

// recvFailure reports whether an error from PacketConn.ReadBatch is one the Link reads on
// after (an ICMP error reported on the connected socket, a momentary lack of memory), and
// the errno behind it, for the log.
func recvFailure(err error) (errno error, transient bool) {
	var e unix.Errno
	if !errors.As(err, &e) {
		return err, false
	}
	switch e {
	case unix.ECONNREFUSED, unix.EHOSTUNREACH, unix.ENETUNREACH, unix.ENOPROTOOPT,
		unix.EHOSTDOWN, unix.ENETDOWN, unix.EMSGSIZE, unix.ENOBUFS, unix.ENOMEM:
		return e, true
	}
	return e, false
}
