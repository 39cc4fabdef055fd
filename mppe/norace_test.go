// SPDX-License-Identifier: MIT

//go:build !race

package mppe

const raceEnabled = false
