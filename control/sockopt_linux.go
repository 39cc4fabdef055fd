// SPDX-License-Identifier: MIT

package control

import "golang.org/x/sys/unix"

func setMark(fd uintptr, mark int) error {
	return unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_MARK, mark)
}
