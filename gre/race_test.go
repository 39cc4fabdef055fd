// SPDX-License-Identifier: MIT

//go:build race

package gre

// The race detector allocates on its own; allocation counts are only checked without it.
const raceEnabled = true
