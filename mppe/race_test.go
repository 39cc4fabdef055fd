// SPDX-License-Identifier: MIT

//go:build race

package mppe

// The race detector slows the RC4 loop ~50x; long tests run fewer packets under it.
const raceEnabled = true
