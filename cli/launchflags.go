// SPDX-License-Identifier: MIT

package cli

import (
	"fmt"

	"github.com/pptp-go/pptp/pppconf"
)

// launchWords turns the built-in PPP flags given on pptp's command line (--novj,
// --require-mppe-128, --user …) into pppd words for launch mode, where pppd does PPP. The
// password never goes on pppd's command line (ps shows it to every user): it is returned
// apart, for pppd's passwordfd plugin. Our extensions that pppd has no word for are
// returned as warnings.
func launchWords(flags [][2]string) (words []string, password string, warnings []string, err error) {
	for _, f := range flags {
		name, v := f[0], f[1]
		info, ok := pppconf.Lookup(name)
		switch {
		case name == "password":
			password = v
			continue
		case name == "password-file":
			p, warn, err := pppconf.ReadPasswordFile(v)
			if err != nil {
				return nil, "", nil, err
			}
			if warn != "" {
				warnings = append(warnings, warn)
			}
			password = p
			continue
		case name == "noencrypt":
			// pppd 2.4.9 spells it nomppe.
			words = append(words, "nomppe")
			continue
		case !ok || info.Ext:
			warnings = append(warnings, fmt.Sprintf("--%s has no pppd equivalent and is ignored in launch mode", name))
			continue
		}
		words = append(words, name)
		if info.Kind.TakesArg() {
			words = append(words, v)
		}
	}
	return words, password, warnings, nil
}
