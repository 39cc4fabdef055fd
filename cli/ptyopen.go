// SPDX-License-Identifier: MIT

package cli

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// openPTY opens a pty pair for launch mode's pppd, which opens the slave again by its name.
// The master comes from /dev/pts/ptmx when it can be opened: its pty numbers are those of the
// devpts mounted on /dev/pts, whose names pppd will open. /dev/ptmx may belong to another
// devpts instance (seen in User-Mode Linux with a hostfs /dev, and in containers), and then
// "/dev/pts/N" is another terminal: pppd configures that one while our master stays in
// cooked mode and echoes the server's frames back to it.
func openPTY() (master, slave *os.File, err error) {
	for _, path := range []string{"/dev/pts/ptmx", "/dev/ptmx"} {
		fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0) // non-blocking: os.NewFile makes it pollable, so reads take deadlines
		if err != nil {
			continue
		}
		m := os.NewFile(uintptr(fd), path)
		s, err := ptySlave(fd)
		if err != nil {
			m.Close()
			continue
		}
		return m, s, nil
	}
	return nil, nil, fmt.Errorf("no usable /dev/pts/ptmx or /dev/ptmx")
}

// ptySlave unlocks the master's slave, opens it by name, checks that the name leads to the
// master's own peer (TIOCGPTPEER), and puts it in raw mode: frames written before pppd has
// set up the line must not be echoed back or have their bytes translated.
func ptySlave(master int) (*os.File, error) {
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		return nil, err
	}
	n, err := unix.IoctlGetInt(master, unix.TIOCGPTN)
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("/dev/pts/%d", n)
	s, err := os.OpenFile(name, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	if peer, err := unix.IoctlRetInt(master, unix.TIOCGPTPEER); err == nil {
		var a, b unix.Stat_t
		same := unix.Fstat(peer, &a) == nil && unix.Fstat(int(s.Fd()), &b) == nil && a.Rdev == b.Rdev
		unix.Close(peer)
		if !same {
			s.Close()
			return nil, fmt.Errorf("%s is not this master's terminal", name)
		}
	}
	tio, err := unix.IoctlGetTermios(int(s.Fd()), unix.TCGETS)
	if err != nil {
		s.Close()
		return nil, err
	}
	// cfmakeraw(3)
	tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	tio.Oflag &^= unix.OPOST
	tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	tio.Cflag &^= unix.CSIZE | unix.PARENB
	tio.Cflag |= unix.CS8
	tio.Cc[unix.VMIN], tio.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(int(s.Fd()), unix.TCSETS, tio); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}
