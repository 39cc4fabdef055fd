// SPDX-License-Identifier: MIT

// Command scalebench measures how our pptpd scales with concurrent sessions (issue
// "performance", part "server scale"): how many sessions it carries, how much memory each
// costs and how many it sets up per second.
//
// It builds pptpd, starts it in one network namespace with an address pool for -n sessions,
// and opens the -n sessions from this one process in a second namespace through the Go API
// (pptp.Dial, as any Go program would), each ending in its own user-space TCP/IP
// stack, so no TUN device and no process per client. It measures the set-up rate (first dial
// to the last link up, -c set-ups in flight), the server's RSS before, with all sessions up
// and after they closed, checks that the sessions carry traffic (one ICMP echo each through
// the tunnel to the server's end of the link), and that the server returns to zero sessions
// and no pptpd* interfaces. With -burst K every session then sends K full-size echoes back
// to back and the server's RSS is read again: what a server whose calls have all been busy
// holds (buffers stay resident while a call lives). Run as root from the module root:
//
//	go run ./internal/scalebench -n 1000 -json scale.json
//
// It is a measuring program, not a test; it exits nonzero if any session failed.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pptp-go/pptp/internal/nstest"
)

type options struct {
	n         int
	conc      int
	ping      int
	burst     int
	timeout   time.Duration
	settle    time.Duration
	jsonPath  string
	pptpdPath string
	keep      bool
	verbose   bool
	spare     int
	radius    bool
	egress    bool
}

const (
	serverLocal = "10.127.0.1" // localip: the server's end of every session's link
	vethNet     = "198.18.77"  // the veth between the namespaces: .1 server, .2 clients
	userHZ      = 100          // clock ticks per second in /proc/PID/stat (USER_HZ)
)

func main() {
	var o options
	flag.IntVar(&o.n, "n", 100, "number of concurrent sessions (1..10000)")
	flag.IntVar(&o.conc, "c", 32, "set-ups in flight at once (dial to link up)")
	flag.IntVar(&o.ping, "ping", -1, "sessions to check with one ICMP echo through the tunnel (-1 = all, 0 = none)")
	flag.IntVar(&o.burst, "burst", 0, "after the ping check, send this many full-size ICMP echoes back to back through every session and read the server's RSS with all of them busy once (0 = none)")
	flag.DurationVar(&o.timeout, "timeout", 60*time.Second, "per-session limit from dial to link up")
	flag.DurationVar(&o.settle, "settle", 2*time.Second, "wait with all sessions up before reading the server's memory")
	flag.StringVar(&o.jsonPath, "json", "", "write the results as JSON to this file")
	flag.StringVar(&o.pptpdPath, "pptpd", "", "pptpd binary to use (default: build ./cmd/pptpd into a temporary directory)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (pptpd's configuration and log)")
	flag.BoolVar(&o.verbose, "v", false, "log every client session's stages")
	flag.BoolVar(&o.egress, "egress", false, "run pptpd with \"egress netstack\" (no TUN) and send one TCP flow through each session to an echo server behind it")
	flag.IntVar(&o.spare, "spare", 0, "extra pool addresses and secrets (user and password spareI) for clients from outside, e.g. a pptp in the clients' namespace during -settle")
	flag.BoolVar(&o.radius, "radius", false, "authenticate and account every session through FreeRADIUS 3.2 (plugin radius.so), started in a third namespace, instead of chap-secrets")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: go run ./internal/scalebench [flags]   (as root, from the module root)\n\n"+
			"Starts our pptpd in a network namespace and opens -n sessions to it from this process in a\n"+
			"second namespace; prints set-ups per second and the server's memory per session.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if o.n < 1 || o.n > 10000 || o.conc < 1 || o.spare < 0 || o.spare > 250 {
		fmt.Fprintln(os.Stderr, "scalebench: -n must be 1..10000, -c at least 1 and -spare 0..250")
		os.Exit(2)
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "scalebench: must run as root: it creates network namespaces, a veth pair, "+
			"TUN devices (pptpd) and raw GRE sockets.\n  sudo go run ./internal/scalebench -n "+strconv.Itoa(o.n))
		os.Exit(2)
	}
	os.Exit(run(o))
}

// bench is one run: the namespaces, the server process and the client sessions.
type bench struct {
	o      options
	dir    string
	nsA    string
	nsB    string
	addrA  string
	srv    *exec.Cmd
	srvLog string
	srvErr chan error // pptpd's Wait result
	nsR    string     // -radius: FreeRADIUS's namespace
	rad    *exec.Cmd

	cleanOnce sync.Once
}

// result is what the run measured (also the JSON written with -json).
type result struct {
	N                 int     `json:"n"`
	Auth              string  `json:"auth"` // "chap-secrets" or "radius"
	Concurrency       int     `json:"concurrency"`
	SetupSeconds      float64 `json:"setup_seconds"`
	SetupsPerSecond   float64 `json:"setups_per_second"`
	ServerRSSIdleKiB  int64   `json:"server_rss_idle_kib"`
	ServerRSSFullKiB  int64   `json:"server_rss_full_kib"`
	RSSPerSessionKiB  float64 `json:"rss_per_session_kib"`
	HWMKiB            int64   `json:"hwm_kib"`
	ServerRSSAfterKiB int64   `json:"server_rss_after_kib"`
	// Failures counts sessions that did not come up, failed the ping check, or whose
	// server side logged a dead datapath ("TUN read:"), each session once.
	Failures       int `json:"failures"`
	SetupFailures  int `json:"setup_failures"`
	SessionsUp     int `json:"sessions_up"`
	SetupLatencyMs lat `json:"setup_latency_ms"`
	// SetupsPerSecondByTenth is the rate within each tenth of the sessions, in the order
	// they came up: how the rate falls as the server fills.
	SetupsPerSecondByTenth []float64 `json:"setups_per_second_by_tenth"`
	ServerCPUSetupSec      float64   `json:"server_cpu_setup_seconds"`
	ServerCPUMsPerSetup    float64   `json:"server_cpu_ms_per_setup"`
	ClientCPUSetupSec      float64   `json:"client_cpu_setup_seconds"`
	ServerCPUIdlePct       float64   `json:"server_cpu_idle_full_percent"`
	ServerThreadsFull      int       `json:"server_threads_full"`
	ServerFDsIdle          int       `json:"server_fds_idle"`
	ServerFDsFull          int       `json:"server_fds_full"`
	ServerFDsAfter         int       `json:"server_fds_after"`
	ServerActiveFull       int       `json:"server_active_full"`
	ServerActiveAfter      int       `json:"server_active_after"`
	GoroutinesIdle         int       `json:"server_goroutines_idle"`
	GoroutinesFull         int       `json:"server_goroutines_full"`
	GoroutinesAfter        int       `json:"server_goroutines_after"`
	IfacesFull             int       `json:"server_interfaces_full"`
	IfacesAfter            int       `json:"server_interfaces_after"`
	PingChecked            int       `json:"ping_checked"`
	PingFailed             int       `json:"ping_failed"`
	Egress                 bool      `json:"egress"`
	FlowChecked            int       `json:"flow_checked"`
	FlowFailed             int       `json:"flow_failed"`
	// Burst* are the -burst stage: every session sent Burst full-size echoes back to back;
	// ServerRSSBusyKiB is the server's RSS afterwards, with every call's receive and send
	// buffers touched (they stay resident while the call lives).
	Burst            int     `json:"burst,omitempty"`
	BurstSent        int     `json:"burst_sent,omitempty"`
	BurstAnswered    int     `json:"burst_answered,omitempty"`
	BurstSendS       float64 `json:"burst_send_s,omitempty"`     // sending every session's burst
	BurstAnsweredS   float64 `json:"burst_answered_s,omitempty"` // from the first echo sent to the last answered
	ServerRSSBusyKiB int64   `json:"server_rss_busy_kib,omitempty"`
	RSSPerBusyKiB    float64 `json:"rss_per_busy_session_kib,omitempty"`
	// ServerTUNReadErrors are server sessions whose TUN reader stopped on an error (pptpd
	// logs "pptpdN: TUN read: …"): from then on nothing goes from the server to that client.
	ServerTUNReadErrors int `json:"server_tun_read_errors"`
	// ServerTUNReadErrorsClosing are those logged while the sessions were being closed.
	ServerTUNReadErrorsClosing int      `json:"server_tun_read_errors_closing"`
	TeardownSeconds            float64  `json:"teardown_seconds"`
	ServerDrainSeconds         float64  `json:"server_drain_seconds"`
	ClientRSSFullKiB           int64    `json:"client_rss_full_kib"`
	ServerNoFile               string   `json:"server_rlimit_nofile"`
	Version                    string   `json:"version"`
	Cores                      int      `json:"cores"`
	Date                       string   `json:"date"`
	TotalSeconds               float64  `json:"total_seconds"`
	Errors                     []string `json:"errors,omitempty"`
}

var errInterrupted = errors.New("interrupted")

type lat struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func run(o options) int {
	start := time.Now()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	b := &bench{o: o}
	// A second signal, or a first one that the run does not act on within 30 s, still
	// removes the namespaces and the server before exiting.
	go func() {
		<-ctx.Done()
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		select {
		case <-sig:
		case <-time.After(30 * time.Second):
		}
		fmt.Fprintln(os.Stderr, "scalebench: interrupted; cleaning up")
		b.cleanup()
		os.Exit(130)
	}()
	defer b.cleanup()

	res, err := b.measure(ctx)
	if res != nil {
		res.TotalSeconds = round(time.Since(start).Seconds(), 1)
		b.report(res)
	}
	if ctx.Err() != nil {
		if err != nil {
			fmt.Fprintf(os.Stderr, "scalebench: %v\n", err)
		}
		return 130
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "scalebench: %v\n", err)
		b.tailLog(20)
		return 1
	}
	if res.Failures > 0 || res.ServerTUNReadErrors > 0 || res.ServerActiveAfter != 0 || res.IfacesAfter != 0 {
		return 1
	}
	return 0
}

func (b *bench) measure(ctx context.Context) (*result, error) {
	o := b.o
	res := &result{N: o.n, Auth: map[bool]string{false: "chap-secrets", true: "radius"}[o.radius], Concurrency: o.conc, Cores: runtime.NumCPU(), Date: time.Now().UTC().Format(time.RFC3339),
		ServerActiveFull: -1, ServerActiveAfter: -1, GoroutinesIdle: -1, GoroutinesFull: -1, GoroutinesAfter: -1}
	if out, err := exec.Command("git", "describe", "--always", "--dirty").Output(); err == nil {
		res.Version = strings.TrimSpace(string(out))
	}
	if err := raiseNoFile(uint64(8*o.n + 4096)); err != nil {
		return nil, err
	}
	var err error
	if b.dir, err = os.MkdirTemp("", "scalebench-"); err != nil {
		return nil, err
	}
	if err := b.buildServer(); err != nil {
		return nil, err
	}
	if err := b.setupNamespaces(); err != nil {
		return nil, err
	}
	if err := b.startServer(ctx); err != nil {
		return nil, err
	}
	pid := b.srv.Process.Pid
	res.ServerNoFile = noFileLimit(pid)

	// Idle: let the server's start-up garbage settle first.
	sleepCtx(ctx, time.Second)
	idle := procStatus(pid)
	res.ServerRSSIdleKiB = idle["VmRSS"]
	res.ServerFDsIdle = countFDs(pid)
	res.GoroutinesIdle, _ = b.serverStatus(ctx)

	// Set-up phase.
	fmt.Fprintf(os.Stderr, "scalebench: opening %d sessions, %d in flight\n", o.n, o.conc)
	sessions := make([]*client, o.n)
	srvCPU0, cliCPU0 := cpuTicks(pid), cpuTicks(os.Getpid())
	t0 := time.Now()
	var next atomic.Int64
	var up atomic.Int64
	var wg sync.WaitGroup
	lastUp := make([]time.Time, o.n)
	for range o.conc {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= o.n {
					return
				}
				c := b.open(ctx, i)
				sessions[i] = c
				if c.err == nil {
					lastUp[i] = c.upAt
					if k := up.Add(1); k%100 == 0 || int(k) == o.n {
						fmt.Fprintf(os.Stderr, "  %d up after %.2f s\n", k, time.Since(t0).Seconds())
					}
				}
			}
		})
	}
	wg.Wait()
	setupEnd := t0
	var lats []float64
	for i, c := range sessions {
		if c == nil {
			continue
		}
		if c.err != nil {
			if len(res.Errors) < 10 {
				res.Errors = append(res.Errors, fmt.Sprintf("session %d: %v", i, c.err))
			}
			continue
		}
		res.SessionsUp++
		lats = append(lats, float64(c.upAt.Sub(c.start).Microseconds())/1000)
		if lastUp[i].After(setupEnd) {
			setupEnd = lastUp[i]
		}
	}
	res.SetupFailures = o.n - res.SessionsUp // those that failed and those never started (interrupted)
	setupDur := setupEnd.Sub(t0).Seconds()
	res.SetupSeconds = round(setupDur, 3)
	if setupDur > 0 {
		res.SetupsPerSecond = round(float64(res.SessionsUp)/setupDur, 1)
	}
	res.SetupLatencyMs = percentiles(lats)
	res.SetupsPerSecondByTenth = ratesByTenth(t0, lastUp)
	srvCPU1, cliCPU1 := cpuTicks(pid), cpuTicks(os.Getpid())
	res.ServerCPUSetupSec = round(float64(srvCPU1-srvCPU0)/userHZ, 2)
	res.ClientCPUSetupSec = round(float64(cliCPU1-cliCPU0)/userHZ, 2)
	if res.SessionsUp > 0 {
		res.ServerCPUMsPerSetup = round(1000*res.ServerCPUSetupSec/float64(res.SessionsUp), 2)
	}
	fmt.Fprintf(os.Stderr, "scalebench: %d of %d sessions up in %.2f s\n", res.SessionsUp, o.n, setupDur)

	// Everything up: memory, interfaces, session count.
	if ctx.Err() == nil {
		c0, w0 := cpuTicks(pid), time.Now()
		sleepCtx(ctx, o.settle)
		res.ServerCPUIdlePct = round(100*float64(cpuTicks(pid)-c0)/userHZ/time.Since(w0).Seconds(), 1)
		full := procStatus(pid)
		res.ServerRSSFullKiB, res.ServerThreadsFull = full["VmRSS"], int(full["Threads"])
		res.ServerFDsFull = countFDs(pid)
		res.ClientRSSFullKiB = procStatus(os.Getpid())["VmRSS"]
		if res.SessionsUp > 0 {
			res.RSSPerSessionKiB = round(float64(res.ServerRSSFullKiB-res.ServerRSSIdleKiB)/float64(res.SessionsUp), 1)
		}
		res.IfacesFull = b.countIfaces()
		res.GoroutinesFull, res.ServerActiveFull = b.serverStatus(ctx)
	}

	// Traffic: one ICMP echo per checked session, to the server's end of its link.
	pingFailedIfs := map[string]bool{}
	if o.ping != 0 && ctx.Err() == nil {
		snmp0 := netSNMP(pid)
		res.PingChecked, res.PingFailed = b.pingCheck(ctx, sessions, pingFailedIfs, &res.Errors)
		if res.PingFailed > 0 {
			res.Errors = append(res.Errors, "server's IP/ICMP counters during the ping check: "+snmpDelta(snmp0, netSNMP(pid)))
		}
		fmt.Fprintf(os.Stderr, "scalebench: ping through %d sessions: %d failed\n", res.PingChecked, res.PingFailed)
	}
	// Egress: one TCP flow through every session's user-space stack on the server.
	if o.egress && ctx.Err() == nil {
		res.Egress = true
		res.FlowChecked, res.FlowFailed = b.flowCheck(ctx, sessions, &res.Errors)
		fmt.Fprintf(os.Stderr, "scalebench: a TCP flow through %d sessions' server stacks: %d failed\n", res.FlowChecked, res.FlowFailed)
	}
	// Every session busy once: the memory a server full of active calls needs. The server's
	// kernel counts the echoes it answered; the client side does not read the replies (the
	// user-space stack's ICMP socket queues only a few full-size packets).
	if o.burst > 0 && ctx.Err() == nil {
		res.Burst = o.burst
		snmp := netSNMP(pid)
		t0 := time.Now()
		res.BurstSent = b.burstAll(ctx, sessions)
		res.BurstSendS = round(time.Since(t0).Seconds(), 2)
		// The server may still be working through what it queued: a sender that pays for
		// the server's demultiplexing (a socket per call: the clones run in the sender's
		// system calls) sends slowly and finds everything answered; one that does not
		// finishes sending sooner and waits here.
		nstest.WaitFor(60*time.Second, func() bool {
			return netSNMP(pid)["Icmp.OutEchoReps"]-snmp["Icmp.OutEchoReps"] >= int64(res.BurstSent)
		})
		res.BurstAnswered = int(netSNMP(pid)["Icmp.OutEchoReps"] - snmp["Icmp.OutEchoReps"])
		res.BurstAnsweredS = round(time.Since(t0).Seconds(), 2)
		sleepCtx(ctx, time.Second)
		res.ServerRSSBusyKiB = procStatus(pid)["VmRSS"]
		if res.SessionsUp > 0 {
			res.RSSPerBusyKiB = round(float64(res.ServerRSSBusyKiB-res.ServerRSSIdleKiB)/float64(res.SessionsUp), 1)
		}
		fmt.Fprintf(os.Stderr, "scalebench: %d full-size echoes back to back through each session: the server answered %d of %d; server RSS %d MiB\n",
			o.burst, res.BurstAnswered, res.BurstSent, res.ServerRSSBusyKiB>>10)
	}

	// Sessions whose server side stopped reading its TUN while up (a ping may not have
	// caught them, or they failed it): each is a failure, counted once.
	tunErrs := b.tunReadErrors()
	res.ServerTUNReadErrors = len(tunErrs)
	res.Failures = res.SetupFailures + res.PingFailed + res.FlowFailed
	for ifname, msg := range tunErrs {
		if !pingFailedIfs[ifname] {
			res.Failures++
		}
		if len(res.Errors) < 30 {
			res.Errors = append(res.Errors, "server "+msg)
		}
	}

	// Tear everything down and check the server returns to nothing.
	fmt.Fprintf(os.Stderr, "scalebench: closing the sessions\n")
	t1 := time.Now()
	stuck := closeAll(sessions)
	if ctx.Err() != nil {
		return nil, fmt.Errorf("interrupted: %d of %d sessions were up; closed them", res.SessionsUp, o.n)
	}
	res.TeardownSeconds = round(time.Since(t1).Seconds(), 2)
	if n := stuck; n > 0 {
		res.Errors = append(res.Errors, fmt.Sprintf("%d client sessions did not finish closing within 30 s", n))
	}
	t2 := time.Now()
	drained := nstest.WaitFor(60*time.Second, func() bool {
		_, active := b.serverStatus(ctx)
		return active == 0 && b.countIfaces() == 0
	})
	res.ServerDrainSeconds = round(time.Since(t2).Seconds(), 2)
	res.IfacesAfter = b.countIfaces()
	res.GoroutinesAfter, res.ServerActiveAfter = b.serverStatus(ctx)
	if !drained {
		res.Errors = append(res.Errors, fmt.Sprintf("server not drained after 60 s: %d active, %d pptpd interfaces",
			res.ServerActiveAfter, res.IfacesAfter))
	}
	sleepCtx(ctx, time.Second)
	after := procStatus(pid)
	res.ServerRSSAfterKiB, res.HWMKiB = after["VmRSS"], after["VmHWM"]
	res.ServerFDsAfter = countFDs(pid)
	res.ServerTUNReadErrorsClosing = len(b.tunReadErrors()) - len(tunErrs)
	return res, nil
}

func (b *bench) report(r *result) {
	kib := func(v int64) string { return fmt.Sprintf("%d KiB (%.1f MiB)", v, float64(v)/1024) }
	rows := [][2]string{
		{"sessions up / asked", fmt.Sprintf("%d / %d", r.SessionsUp, r.N)},
		{"failed sessions", fmt.Sprintf("%d (set-up %d, ping %d, server TUN reader dead %d; %d more died while closing)", r.Failures, r.SetupFailures, r.PingFailed, r.ServerTUNReadErrors, r.ServerTUNReadErrorsClosing)},
		{"set-up time (first dial to last link up)", fmt.Sprintf("%.3f s, %d in flight", r.SetupSeconds, r.Concurrency)},
		{"set-ups per second", fmt.Sprintf("%.1f", r.SetupsPerSecond)},
		{"set-up latency p50/p90/p99/max", fmt.Sprintf("%.0f / %.0f / %.0f / %.0f ms", r.SetupLatencyMs.P50, r.SetupLatencyMs.P90, r.SetupLatencyMs.P99, r.SetupLatencyMs.Max)},
		{"set-ups per second by tenth", fmt.Sprint(r.SetupsPerSecondByTenth)},
		{"server CPU during set-up", fmt.Sprintf("%.2f s (%.2f ms per set-up); this process %.2f s", r.ServerCPUSetupSec, r.ServerCPUMsPerSetup, r.ClientCPUSetupSec)},
		{"server RSS idle", kib(r.ServerRSSIdleKiB)},
		{"server RSS, all sessions up", kib(r.ServerRSSFullKiB)},
		{"server RSS per session", fmt.Sprintf("%.1f KiB", r.RSSPerSessionKiB)},
		{"server VmHWM (peak RSS)", kib(r.HWMKiB)},
		{"server RSS after all closed", kib(r.ServerRSSAfterKiB)},
		{"server CPU, all up and idle", fmt.Sprintf("%.1f %% of one core", r.ServerCPUIdlePct)},
		{"server threads / fds, all up", fmt.Sprintf("%d / %d (fds idle %d, after %d; RLIMIT_NOFILE %s)", r.ServerThreadsFull, r.ServerFDsFull, r.ServerFDsIdle, r.ServerFDsAfter, r.ServerNoFile)},
		{"server goroutines idle/full/after", fmt.Sprintf("%d / %d / %d", r.GoroutinesIdle, r.GoroutinesFull, r.GoroutinesAfter)},
		{"server sessions / pptpd* ifaces, all up", fmt.Sprintf("%d / %d", r.ServerActiveFull, r.IfacesFull)},
		{"ping through the tunnel", fmt.Sprintf("%d checked, %d failed", r.PingChecked, r.PingFailed)},
		{"TCP flow through egress netstack", fmt.Sprintf("%d checked, %d failed (egress %v)", r.FlowChecked, r.FlowFailed, r.Egress)},
	}
	if r.Burst > 0 {
		rows = append(rows,
			[2]string{"burst of full-size echoes per session", fmt.Sprintf("%d: the server answered %d of %d; sent in %.2f s, all answered after %.2f s", r.Burst, r.BurstAnswered, r.BurstSent, r.BurstSendS, r.BurstAnsweredS)},
			[2]string{"server RSS, every session busy once", fmt.Sprintf("%s, %.1f KiB per session", kib(r.ServerRSSBusyKiB), r.RSSPerBusyKiB)})
	}
	rows = append(rows, [][2]string{
		{"client teardown / server drained", fmt.Sprintf("%.2f s / %.2f s later", r.TeardownSeconds, r.ServerDrainSeconds)},
		{"server sessions / ifaces after close", fmt.Sprintf("%d / %d", r.ServerActiveAfter, r.IfacesAfter)},
		{"this process's RSS, all up", kib(r.ClientRSSFullKiB)},
		{"whole run", fmt.Sprintf("%.1f s", r.TotalSeconds)},
	}...)
	fmt.Printf("pptp-go scalebench %s, %s, %d cores, MS-CHAPv2 + MPPE-128 stateless, users in %s\n", r.Version, r.Date, r.Cores, r.Auth)
	for _, row := range rows {
		fmt.Printf("  %-42s %s\n", row[0], row[1])
	}
	for _, e := range r.Errors {
		fmt.Printf("  error: %s\n", e)
	}
	if b.o.jsonPath != "" {
		data, _ := json.MarshalIndent(r, "", "  ")
		if err := os.WriteFile(b.o.jsonPath, append(data, '\n'), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "scalebench: %v\n", err)
		}
	}
}

// ratesByTenth splits the sessions that came up, in the order they did, into tenths and
// returns each tenth's set-ups per second.
func ratesByTenth(t0 time.Time, ups []time.Time) []float64 {
	var ts []time.Time
	for _, t := range ups {
		if !t.IsZero() {
			ts = append(ts, t)
		}
	}
	if len(ts) < 10 {
		return nil
	}
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	var out []float64
	prev := t0
	for k := 1; k <= 10; k++ {
		lo, hi := (k-1)*len(ts)/10, k*len(ts)/10
		end := ts[hi-1]
		if d := end.Sub(prev).Seconds(); d > 0 {
			out = append(out, round(float64(hi-lo)/d, 1))
		} else {
			out = append(out, 0)
		}
		prev = end
	}
	return out
}

func percentiles(v []float64) lat {
	if len(v) == 0 {
		return lat{}
	}
	slices.Sort(v)
	at := func(q float64) float64 { return round(v[min(len(v)-1, int(q*float64(len(v))))], 1) }
	return lat{P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: round(v[len(v)-1], 1)}
}

func round(x float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	return float64(int64(x*p+0.5)) / p
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
