// SPDX-License-Identifier: MIT

// Package testhex decodes the hex test vectors the protocol packages' tests are written in.
package testhex

import (
	"encoding/hex"
	"strings"
	"testing"
)

// Bytes decodes s, ignoring spaces (vectors are written byte by byte as in the RFCs), and
// fails the test on bad hex.
func Bytes(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
