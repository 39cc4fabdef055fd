// SPDX-License-Identifier: MIT

package pppconf

import (
	"strings"
	"testing"
)

func FuzzTokenize(f *testing.F) {
	f.Add([]byte("lock\nnoauth\nname CORP\\\\alice\nremotename vpn\nrequire-mppe-128\n"))
	f.Add([]byte(`pty "/usr/sbin/pptp vpn --nolaunchpppd"`))
	f.Add([]byte("\"unterminated\n"))     // quote runs to EOF
	f.Add([]byte("word\\"))               // backslash as the last byte
	f.Add([]byte("\\x\\xf\\777\\0\\"))    // short hex, octal overflow, trailing backslash
	f.Add([]byte("a\\\n\\\nb#c #d\n'e'")) // continuations, hash inside and at word start
	f.Add([]byte("\r\n\t\v\f"))           // only white space
	f.Add([]byte(strings.Repeat("x", 1100)))
	f.Fuzz(func(t *testing.T, data []byte) {
		ws, err := Tokenize("f", data)
		if err != nil {
			if e, ok := err.(*Error); !ok || e.Src.Line < 1 {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		prev := 0
		for i, w := range ws {
			if len(w.Text) > maxWordLen || w.Line < prev || (i == 0 && !w.BOL) {
				t.Fatalf("word %d %+v after line %d", i, w, prev)
			}
			prev = w.Line
		}
		// Options never panic on any words.
		var o Options
		words := make([]string, len(ws))
		for i, w := range ws {
			words[i] = w.Text
		}
		_ = o.ParseWords(words, Source{})
	})
}

func FuzzParseSecrets(f *testing.F) {
	f.Add([]byte(chapSecrets))
	f.Add([]byte("a b\n"))                // record too short
	f.Add([]byte("a b c d e f\n\n* * *")) // addresses, then a wildcard record
	f.Add([]byte("a b \"c\n d\" e\n"))    // quoted secret spanning lines
	f.Add([]byte("a b c\\\nd\n"))         // continuation turns a line into addresses
	f.Fuzz(func(t *testing.T, data []byte) {
		es, err := ParseSecrets("s", data)
		if err != nil {
			return
		}
		s := &Secrets{Entries: es}
		for _, e := range es {
			got, ok := s.Lookup(e.Client, e.Server)
			if !ok {
				t.Fatalf("record %v not found by its own names", e)
			}
			if strings.Contains(e.String(), "\x00secret") {
				t.Fatal("unreachable")
			}
			_ = got
		}
	})
}

func FuzzPPTPDConf(f *testing.F) {
	f.Add([]byte(poptopSample))
	f.Add([]byte("remoteip 10.0.0.1-255,10.0.0-3.1\n")) // ranges in different octets
	f.Add([]byte("localip 1.2.3.4-3\n"))                // backwards range
	f.Add([]byte("connections -1\nstimeout x\n"))       // bad numbers
	f.Add([]byte("\tlisten\t10.0.0.1\t# tabs\n"))       // tabs around keyword and value
	f.Add([]byte("remoteip6 2001:db8:99::/56\ndns6 2001:db8::53 ::ffff:1.2.3.4\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParsePPTPDConfData("c", data)
		if err != nil {
			return
		}
		pairs, _, err := c.Pairs()
		if err == nil && (len(pairs) > c.Connections || len(pairs) == 0) {
			t.Fatalf("%d pairs for %d connections", len(pairs), c.Connections)
		}
	})
}
