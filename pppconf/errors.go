// SPDX-License-Identifier: MIT

package pppconf

import "errors"

// Error is a configuration error with its place. Msg never contains secret values.
type Error struct {
	Src    Source
	Option string // the option or keyword involved; "" for syntax errors
	Msg    string // e.g. `unknown option "requre-mppe"; did you mean "require-mppe"?`
}

// Error is "file:line: msg", or just msg for the command line.
func (e *Error) Error() string {
	if s := e.Src.String(); s != "" {
		return s + ": " + e.Msg
	}
	return e.Msg
}

// ErrNoSecret is wrapped by lookups that find no matching secrets entry.
var ErrNoSecret = errors.New("no matching secret")

// Closest returns the candidate nearest to word by edit distance when it is plausibly a
// typo (distance ≤ max(1, len/3)), else "". The command lines use it for their suggestions too.
func Closest(word string, candidates func(yield func(string) bool)) string {
	best, bestD := "", len(word)/3
	if bestD < 1 {
		bestD = 1
	}
	bestD++ // accept distances up to the limit
	for c := range candidates {
		if d := editDistance(word, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance over bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30 // nobody mistypes that much; bound the work on hostile input
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
