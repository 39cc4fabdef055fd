// SPDX-License-Identifier: MIT

// Command netstackbench measures a tunnel of the public package's netstack mode (pptp.Dial):
// TCP throughput of one Go stream through Tunnel.DialContext, up and down, to a sink and
// source in the server's network namespace, with the connect time, this process's CPU per GB
// and its peak RSS. scripts/bench.sh runs it as the pptp-netstack config next to the TUN
// path's iperf3 figures, against the same pptpd. Run as root:
//
//	go run ./internal/netstackbench -client-ns C -server-ns S -server 198.18.0.1 \
//	    -user bench -password-file F -time 4 -json out.json
//
// It is a measuring program, not a test.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pptp-go/pptp"
	"github.com/pptp-go/pptp/internal/nstest"
)

type result struct {
	ConnectS     float64 `json:"connect_s"`
	Tcp1UpMbps   float64 `json:"tcp1_up_mbps"`
	Tcp1DownMbps float64 `json:"tcp1_down_mbps"`
	CPUClientSGB float64 `json:"cpu_client_s_per_gb"`
	ClientRSSMiB float64 `json:"client_rss_mib"`
	Encryption   string  `json:"encryption"`
}

func main() {
	clientNS := flag.String("client-ns", "", "network namespace of the client (this process dials from it)")
	serverNS := flag.String("server-ns", "", "network namespace of the server; the sink and source listen there")
	server := flag.String("server", "", "PPTP server address")
	user := flag.String("user", "", "user name")
	pwFile := flag.String("password-file", "", "file with the password")
	secs := flag.Int("time", 4, "seconds per direction")
	port := flag.Int("port", 5299, "TCP port of the sink/source in the server namespace")
	jsonOut := flag.String("json", "", "write the result as JSON here")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the measurement here")
	serveMode := flag.Bool("serve", false, "be the sink and source (started by the measuring process in -server-ns)")
	flag.Parse()
	if *serveMode {
		ln, err := net.Listen("tcp4", fmt.Sprintf("0.0.0.0:%d", *port))
		if err != nil {
			fatal(err)
		}
		fmt.Println("listening") // the measuring process waits for this line
		serve(ln, time.Duration(*secs)*time.Second)
		return
	}
	if *clientNS == "" || *serverNS == "" || *server == "" || *user == "" || *pwFile == "" {
		fmt.Fprintln(os.Stderr, "netstackbench: -client-ns, -server-ns, -server, -user and -password-file are required")
		os.Exit(2)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	pw, err := os.ReadFile(*pwFile)
	if err != nil {
		fatal(err)
	}
	r, err := run(*clientNS, *serverNS, *server, *user, strings.TrimRight(string(pw), "\r\n"), *port, time.Duration(*secs)*time.Second)
	if err != nil {
		pprof.StopCPUProfile()
		fatal(err)
	}
	fmt.Printf("pptp-netstack (%s): connect %.3f s, TCP up %.0f Mbit/s, down %.0f Mbit/s, client %.2f CPU s/GB, RSS %.1f MiB\n",
		r.Encryption, r.ConnectS, r.Tcp1UpMbps, r.Tcp1DownMbps, r.CPUClientSGB, r.ClientRSSMiB)
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(r, "", "  ")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			fatal(err)
		}
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "netstackbench:", err)
	os.Exit(1)
}

func run(clientNS, serverNS, server, user, password string, port int, d time.Duration) (*result, error) {
	// The sink and source run in a process of their own, so that this one's CPU time is the
	// client's alone.
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	srv := nstest.Cmd(context.Background(), serverNS, self, "-serve", "-port", strconv.Itoa(port), "-time", strconv.Itoa(int(d.Seconds())))
	out, err := srv.StdoutPipe()
	if err != nil {
		return nil, err
	}
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		return nil, err
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "listening\n" {
		return nil, fmt.Errorf("sink did not start: %q %v", line, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	t0 := time.Now()
	var t *pptp.Tunnel
	if err := nstest.In(clientNS, func() (err error) {
		t, err = pptp.Dial(ctx, pptp.Config{Server: server, User: user, Password: password})
		return err
	}); err != nil {
		return nil, err
	}
	defer t.Close()
	r := &result{ConnectS: time.Since(t0).Seconds(), Encryption: t.Params().Encryption}
	peer := fmt.Sprintf("%s:%d", t.Params().Peer, port)
	cpu0 := cpuSeconds()
	var moved int64

	// Up: we write for d; the sink counts what arrived, and its count over the time to the
	// last byte is the rate.
	c, err := t.DialContext(ctx, "tcp", peer)
	if err != nil {
		return nil, err
	}
	if _, err := c.Write([]byte{'u'}); err != nil {
		return nil, err
	}
	buf := make([]byte, 256<<10)
	start := time.Now()
	for time.Since(start) < d {
		if _, err := c.Write(buf); err != nil {
			return nil, err
		}
	}
	c.(interface{ CloseWrite() error }).CloseWrite()
	var count [8]byte // the sink answers EOF with what it read
	if _, err := io.ReadFull(c, count[:]); err != nil {
		return nil, fmt.Errorf("sink's count: %w", err)
	}
	up := time.Since(start)
	c.Close()
	received := int64(binary.BigEndian.Uint64(count[:]))
	moved += received
	r.Tcp1UpMbps = float64(received) * 8 / up.Seconds() / 1e6

	// Down: the source writes for d, we count.
	if c, err = t.DialContext(ctx, "tcp", peer); err != nil {
		return nil, err
	}
	if _, err := c.Write([]byte{'d'}); err != nil {
		return nil, err
	}
	start = time.Now()
	n, err := io.CopyBuffer(io.Discard, c, buf)
	down := time.Since(start)
	c.Close()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	moved += n
	r.Tcp1DownMbps = float64(n) * 8 / down.Seconds() / 1e6
	r.CPUClientSGB = (cpuSeconds() - cpu0) / (float64(moved) / 1e9)
	r.ClientRSSMiB = float64(peakRSSKiB()) / 1024
	return r, nil
}

// serve is the sink ('u': read to EOF, answer with the count) and the source ('d': write
// for d).
func serve(ln net.Listener, d time.Duration) {
	buf := make([]byte, 256<<10)
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		var mode [1]byte
		if _, err := io.ReadFull(c, mode[:]); err != nil {
			c.Close()
			continue
		}
		switch mode[0] {
		case 'u':
			n, _ := io.CopyBuffer(io.Discard, c, buf)
			c.Write(binary.BigEndian.AppendUint64(nil, uint64(n)))
		case 'd':
			start := time.Now()
			for time.Since(start) < d {
				if _, err := c.Write(buf); err != nil {
					break
				}
			}
		}
		c.Close()
	}
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// peakRSSKiB is this process's VmHWM.
func peakRSSKiB() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		var v int64
		if n, _ := fmt.Sscanf(line, "VmHWM: %d kB", &v); n == 1 {
			return v
		}
	}
	return 0
}
