// SPDX-License-Identifier: MIT

package cli

import (
	"fmt"
	"io"
	"log/syslog"
	"os"
	"sync"
	"time"
)

// logger writes human-readable lines to stderr (and, in the pty modes, to syslog with
// pptp-linux's "<logstring> log[…]: text" shape, since pppd owns the terminal there).
type logger struct {
	mu     sync.Mutex
	w      io.Writer // nil: stderr silenced
	sys    *syslog.Writer
	prefix string // "pptp: "
	tag    string // --logstring
	debug  bool
	stamp  bool
}

func newLogger(prog string, debug bool) *logger {
	return &logger{w: os.Stderr, prefix: prog + ": ", tag: "anon", debug: debug, stamp: debug}
}

// useSyslog adds syslog output (pty modes) as pptp-linux writes it: ident "pptp", lines
// "<tag> log[pptp]: ...". Failure to reach syslog is not fatal.
func (l *logger) useSyslog(tag string) {
	if tag != "" {
		l.tag = tag
	}
	l.openSyslog("pptp")
}

// useDaemonSyslog adds syslog output for pptpd as a daemon: ident "pptpd", as poptop's,
// and the lines as they would go to stderr.
func (l *logger) useDaemonSyslog() {
	l.tag = ""
	l.openSyslog("pptpd")
}

func (l *logger) openSyslog(ident string) {
	if w, err := syslog.New(syslog.LOG_NOTICE|syslog.LOG_DAEMON, ident); err == nil {
		l.sys = w
	}
}

// quiet stops writing to stderr (pty mode after set-up, as pptp-linux does).
func (l *logger) quiet() {
	l.mu.Lock()
	l.w = nil
	l.mu.Unlock()
}

func (l *logger) out(kind, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w != nil {
		if l.stamp {
			fmt.Fprintf(l.w, "%s %s%s\n", time.Now().Format("15:04:05.000"), l.prefix, msg)
		} else {
			fmt.Fprintf(l.w, "%s%s\n", l.prefix, msg)
		}
	}
	if l.sys != nil {
		line := msg
		if l.tag != "" {
			line = fmt.Sprintf("%s %s[pptp]: %s", l.tag, kind, msg)
		}
		if kind == "warn" {
			l.sys.Warning(line)
		} else {
			l.sys.Notice(line)
		}
	}
}

// Logf is a stage line: always shown.
func (l *logger) Logf(format string, args ...any) { l.out("log", format, args...) }

// Warnf is a warning.
func (l *logger) Warnf(format string, args ...any) { l.out("warn", "warning: "+format, args...) }

// Debugf is shown with --debug only.
func (l *logger) Debugf(format string, args ...any) {
	if l.debug {
		l.out("log", format, args...)
	}
}
