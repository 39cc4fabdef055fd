// SPDX-License-Identifier: MIT

package cli

import (
	"net"
	"os"
)

// sdNotify sends state (e.g. "READY=1") to the service manager when it asked for it with
// $NOTIFY_SOCKET, as sd_notify(3) does; without the variable it does nothing. It is a few
// lines over a datagram socket, so it does not need libsystemd or a Go dependency.
func sdNotify(state string) error {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	if path[0] == '@' {
		path = "\x00" + path[1:] // an abstract socket
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte(state))
	return err
}
