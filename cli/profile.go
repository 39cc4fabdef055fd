// SPDX-License-Identifier: MIT

package cli

import (
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
)

// cpuProfile writes a Go CPU profile of this process to the file PPTP_GO_CPUPROFILE names
// ("%p" in it becomes the pid, for pptp run by pppd, or several at once), from now until the
// returned stop is called. An environment variable, not an option: pptp-linux's command line
// has no room for it. The bench uses it to profile both ends under load.
func cpuProfile(prog string) (stop func()) {
	path := os.Getenv("PPTP_GO_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	path = strings.ReplaceAll(path, "%p", strconv.Itoa(os.Getpid()))
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
		if err != nil {
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: PPTP_GO_CPUPROFILE: %v (not profiling)\n", prog, err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
