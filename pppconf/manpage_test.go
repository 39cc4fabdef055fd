// SPDX-License-Identifier: MIT

package pppconf

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

var updateMan = flag.Bool("update", false, "rewrite the generated part of doc/pptpd.conf.5")

const manPage = "../doc/pptpd.conf.5"

// roff escapes text for a man page line.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// manOptions is the OPTIONS FILE list: every entry of the option table, by group.
func manOptions() string {
	var b strings.Builder
	opts := Table()
	for g := GroupAuth; g <= GroupCompat; g++ {
		first := true
		for _, o := range opts {
			if o.Group != g {
				continue
			}
			if first {
				fmt.Fprintf(&b, ".SS %s\n", strings.ToUpper(g.String()[:1])+g.String()[1:])
				first = false
			}
			b.WriteString(".TP\n")
			if o.Arg != "" {
				fmt.Fprintf(&b, ".BI %s \" %s\"\n", roff(o.Name), roff(o.Arg))
			} else {
				fmt.Fprintf(&b, ".B %s\n", roff(o.Name))
			}
			help := o.Help
			if o.Ext {
				help = "(ours) " + help
			}
			if o.Repeat && !strings.Contains(help, "repeatable") {
				help += " (repeatable)"
			}
			fmt.Fprintf(&b, "%s\n", roff(help))
		}
	}
	return b.String()
}

var generated = regexp.MustCompile(`(?s)(\.\\" BEGIN GENERATED OPTIONS[^\n]*\n)(.*?)(\.\\" END GENERATED OPTIONS)`)

// TestManPage keeps pptpd.conf(5) listing every keyword we read: the options file's words
// come from the option table itself, and each pptpd.conf keyword needs its entry.
func TestManPage(t *testing.T) {
	data, err := os.ReadFile(manPage)
	if err != nil {
		t.Fatal(err)
	}
	m := generated.FindSubmatchIndex(data)
	if m == nil {
		t.Fatalf("%s: no generated-options markers", manPage)
	}
	want := manOptions()
	if got := string(data[m[4]:m[5]]); got != want {
		if !*updateMan {
			t.Fatalf("%s is out of date with the option table: go test ./pppconf -run TestManPage -update", manPage)
		}
		out := string(data[:m[4]]) + want + string(data[m[5]:])
		if err := os.WriteFile(manPage, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	head := string(data[:m[0]])
	for _, kw := range pptpdKeywords {
		if !regexp.MustCompile(`(?m)^\.B[IR]? .*\b` + regexp.QuoteMeta(roff(kw)) + `\b`).MatchString(head) {
			t.Errorf("%s: pptpd.conf keyword %q has no entry", manPage, kw)
		}
	}
}
