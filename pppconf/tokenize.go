// SPDX-License-Identifier: MIT

package pppconf

import (
	"fmt"
	"strings"
)

// Source says where a word came from, for error messages.
type Source struct {
	File string // path of the file; "" for the command line
	Line int    // 1-based line of the word's first byte; 0 when unknown
}

// String is "file:line", "file", or "" for the command line.
func (s Source) String() string {
	switch {
	case s.File == "":
		return ""
	case s.Line == 0:
		return s.File
	default:
		return fmt.Sprintf("%s:%d", s.File, s.Line)
	}
}

// Word is one token of a pppd-style file.
type Word struct {
	Text string
	Line int  // line where the word starts
	BOL  bool // an unescaped newline (or the start of the file) precedes it: secrets records start here
}

// maxWordLen bounds one word, like pppd's MAXWORDLEN, so a runaway quote cannot eat memory.
const maxWordLen = 1024

// Tokenize splits data the way pppd reads options and secrets files: words separated by
// white space; '#' at the start of a word comments out the rest of the line; double or
// single quotes group (and may appear mid-word: a"b c"d is one word); a backslash escapes
// the next character inside and outside quotes, with the C escapes \a \b \f \n \r \t \v,
// \s (space), \ooo (octal), \xhh (hex); backslash-newline continues a line. file only
// names the source in errors.
func Tokenize(file string, data []byte) ([]Word, error) {
	var words []Word
	var b strings.Builder
	line, bol := 1, true
	i, n := 0, len(data)
	for {
		// Skip white space, comments and line continuations between words.
		for i < n {
			c := data[i]
			switch {
			case c == '\n':
				line++
				bol = true
				i++
				continue
			case isSpace(c):
				i++
				continue
			case c == '#':
				for i < n && data[i] != '\n' {
					i++
				}
				continue
			case c == '\\' && i+1 < n && data[i+1] == '\n':
				line++
				i += 2
				continue
			}
			break
		}
		if i >= n {
			return words, nil
		}
		start := line
		b.Reset()
		var quote byte
	word:
		for i < n {
			c := data[i]
			switch {
			case c == '\\':
				i++
				if i >= n {
					return nil, &Error{Src: Source{file, line}, Msg: "backslash at end of file"}
				}
				var v byte
				v, i = unescape(data, i)
				if v == '\n' && data[i-1] == '\n' {
					line++ // an escaped real newline continues the word
					continue
				}
				b.WriteByte(v)
			case quote != 0:
				i++
				if c == quote {
					quote = 0
					continue
				}
				if c == '\n' {
					line++
				}
				b.WriteByte(c)
			case c == '"' || c == '\'':
				quote = c
				i++
			case isSpace(c) || c == '\n':
				break word
			default:
				b.WriteByte(c)
				i++
			}
			if b.Len() > maxWordLen {
				return nil, &Error{Src: Source{file, start}, Msg: fmt.Sprintf("word longer than %d bytes", maxWordLen)}
			}
		}
		if quote != 0 {
			return nil, &Error{Src: Source{file, start}, Msg: "unterminated quoted string"}
		}
		words = append(words, Word{Text: b.String(), Line: start, BOL: bol})
		bol = false
	}
}

// unescape decodes the escape whose first byte (after the backslash) is data[i]; it
// returns the byte and the index after the escape.
func unescape(data []byte, i int) (byte, int) {
	c := data[i]
	i++
	switch c {
	case 'a':
		return '\a', i
	case 'b':
		return '\b', i
	case 'f':
		return '\f', i
	case 'n':
		return '\n', i
	case 'r':
		return '\r', i
	case 's':
		return ' ', i
	case 't':
		return '\t', i
	case 'v':
		return '\v', i
	case 'x':
		v, k := 0, 0
		for ; k < 2 && i < len(data) && hexVal(data[i]) >= 0; k++ {
			v = v<<4 | hexVal(data[i])
			i++
		}
		if k == 0 {
			return 'x', i
		}
		return byte(v), i
	}
	if c >= '0' && c <= '7' {
		v := int(c - '0')
		for k := 1; k < 3 && i < len(data) && data[i] >= '0' && data[i] <= '7'; k++ {
			v = v<<3 | int(data[i]-'0')
			i++
		}
		return byte(v), i // like pppd, \777 keeps the low 8 bits
	}
	return c, i
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' }

// SplitWords splits one string with the file syntax (quotes, escapes; '#' comments), e.g.
// the value of `pty "…"` or of pptp --pppd "…".
func SplitWords(s string) ([]string, error) {
	ws, err := Tokenize("", []byte(s))
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.Text
	}
	return out, nil
}
