// SPDX-License-Identifier: MIT

//go:build !linux

package control

import "errors"

func setMark(uintptr, int) error { return errors.New("SO_MARK is Linux only") }
