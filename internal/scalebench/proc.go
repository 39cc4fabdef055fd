// SPDX-License-Identifier: MIT

package main

// Reading a process: its status, CPU time, descriptors, limits and network counters.

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// netSNMP reads the Ip, Icmp and IcmpMsg counters of pid's network namespace.
func netSNMP(pid int) map[string]int64 {
	m := map[string]int64{}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/snmp", pid))
	if err != nil {
		return m
	}
	lines := strings.Split(string(data), "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		names, values := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if len(names) != len(values) || len(names) == 0 {
			continue
		}
		group := strings.TrimSuffix(names[0], ":")
		if group != "Ip" && group != "Icmp" && group != "IcmpMsg" {
			continue
		}
		for k := 1; k < len(names); k++ {
			v, _ := strconv.ParseInt(values[k], 10, 64)
			m[group+"."+names[k]] = v
		}
	}
	return m
}

// snmpDelta lists the counters that changed, sorted by name.
func snmpDelta(before, after map[string]int64) string {
	var out []string
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out = append(out, fmt.Sprintf("%s +%d", k, d))
		}
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// raiseNoFile lifts this process's RLIMIT_NOFILE (soft and hard) to at least want; pptpd,
// started by us, inherits it. Each session holds a TCP socket and a raw GRE socket on both
// sides, plus a TUN descriptor on the server.
func raiseNoFile(want uint64) error {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return err
	}
	if rl.Max < want {
		rl.Max = want
	}
	rl.Cur = rl.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return fmt.Errorf("raising RLIMIT_NOFILE to %d: %w", rl.Max, err)
	}
	return nil
}

func noFileLimit(pid int) string {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "Max open files") {
			f := strings.Fields(line)
			if len(f) >= 5 {
				return f[3] + "/" + f[4]
			}
		}
	}
	return "?"
}

// procStatus reads the kB and count fields of /proc/PID/status.
func procStatus(pid int) map[string]int64 {
	m := map[string]int64{}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		if x, err := strconv.ParseInt(f[0], 10, 64); err == nil {
			m[k] = x
		}
	}
	return m
}

// cpuTicks is utime+stime of pid in clock ticks.
func cpuTicks(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state); utime is field 14
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return u + st
}

func countFDs(pid int) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	return len(ents)
}
