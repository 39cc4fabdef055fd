// SPDX-License-Identifier: MIT

package gre

import (
	"slices"
	"testing"
)

func TestTestReorder(t *testing.T) {
	for _, tc := range []struct {
		kind, rate, n int
		want          []byte
	}{
		{1, 3, 8, []byte{1, 2, 4, 3, 5, 6, 8, 7}},
		{2, 2, 14, []byte{1, 12, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13}}, // 14 starts the next round
		{3, 1, 12, []byte{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}},
	} {
		r := newTestReorder(tc.kind, tc.rate)
		var got []byte
		for i := 1; i <= tc.n; i++ {
			for _, p := range r.next([]byte{byte(i)}, nil) {
				got = append(got, p[0])
			}
		}
		// kind 3 with rate 1 starts a new round right after the first: packets 11, 12 are held.
		if !slices.Equal(got, tc.want) {
			t.Errorf("kind %d rate %d: sent %v, want %v", tc.kind, tc.rate, got, tc.want)
		}
	}
	if newTestReorder(0, 100) != nil || newTestReorder(4, 100) != nil || newTestReorder(1, 0) != nil {
		t.Error("kinds other than 1-3, or rate ≤ 0, must mean no reordering")
	}
}
