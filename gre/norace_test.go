// SPDX-License-Identifier: MIT

//go:build !race

package gre

const raceEnabled = false
