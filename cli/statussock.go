// SPDX-License-Identifier: MIT

package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pptp-go/pptp"
	"github.com/pptp-go/pptp/internal/ctlsock"
)

// runDirEnv moves the status sockets' directory (default /run/pptp-go), for tests and for
// several network namespaces on one /run.
const runDirEnv = "PPTP_GO_RUNDIR"

func runDir() string {
	if d := os.Getenv(runDirEnv); d != "" {
		return d
	}
	return "/run/pptp-go"
}

// clientSocketPath is the status socket of the pptp whose interface is ifname.
func clientSocketPath(ifname string) string {
	return filepath.Join(runDir(), "pptp-"+ifname+".sock")
}

// clientReport is what `pptp status` shows, and --status-file holds beside its counters.
type clientReport struct {
	PID        int       `json:"pid"`
	Server     string    `json:"server"`
	ServerAddr string    `json:"server_addr,omitempty"`
	State      string    `json:"state"` // "up", or "redialing" between persist attempts
	Interface  string    `json:"interface"`
	Since      time.Time `json:"up_since,omitzero"`
	Uptime     int64     `json:"uptime_seconds"`
	Local      string    `json:"local,omitempty"`
	Peer       string    `json:"peer,omitempty"`
	DNS        []string  `json:"dns,omitempty"`
	MTU        int       `json:"mtu,omitempty"`
	Cipher     string    `json:"cipher,omitempty"`
	Auth       string    `json:"auth,omitempty"`
	User       string    `json:"user,omitempty"`
	CallID     uint16    `json:"call_id,omitempty"`
	PeerCallID uint16    `json:"peer_call_id,omitempty"`

	TxBytes         uint64 `json:"tx_bytes"`
	TxPackets       uint64 `json:"tx_packets"`
	RxBytes         uint64 `json:"rx_bytes"`
	RxPackets       uint64 `json:"rx_packets"`
	TxDropped       uint64 `json:"tx_dropped"`
	RxLost          uint64 `json:"rx_lost"`
	RxReordered     uint64 `json:"rx_reordered"`
	RxDecryptErrors uint64 `json:"rx_decrypt_errors"`
	RxInvalid       uint64 `json:"rx_invalid"`
	CCPResets       uint64 `json:"ccp_reset_requests"`
	RTTMicros       int64  `json:"gre_rtt_us"`
	EchoRTTMicros   int64  `json:"echo_rtt_us"` // control connection; 0 until an echo was answered
}

// clientStatus is a running client's live state for its status socket: the tunnel of the
// link that is up (nil between persist attempts). The socket's goroutines only read it.
type clientStatus struct {
	server string

	mu    sync.Mutex
	t     *pptp.Tunnel
	since time.Time
	sock  *ctlsock.Server
}

// linkUp records t as the current link and opens the socket on its interface's name the
// first time (the name is known only now: "pptp%d" picks the first free).
func (cs *clientStatus) linkUp(log *logger, t *pptp.Tunnel, ifname string) {
	cs.mu.Lock()
	cs.t, cs.since = t, time.Now()
	open := cs.sock == nil
	cs.mu.Unlock()
	if !open {
		return
	}
	s, err := ctlsock.Listen(clientSocketPath(ifname), cs.handle)
	if err != nil {
		log.Warnf("status socket: %v; `pptp status` will not see this client", err)
		return
	}
	cs.mu.Lock()
	cs.sock = s
	cs.mu.Unlock()
}

func (cs *clientStatus) linkDown() {
	cs.mu.Lock()
	cs.t = nil
	cs.mu.Unlock()
}

// close removes the socket (at exit).
func (cs *clientStatus) close() {
	cs.mu.Lock()
	s := cs.sock
	cs.sock = nil
	cs.mu.Unlock()
	if s != nil {
		s.Close()
	}
}

func (cs *clientStatus) handle(r ctlsock.Request) (any, error) {
	if r.Verb != "status" {
		return nil, fmt.Errorf("%s: only pptpd has sessions to kick; stop a client with SIGTERM", r.Verb)
	}
	return cs.report(), nil
}

func (cs *clientStatus) report() clientReport {
	cs.mu.Lock()
	t, since := cs.t, cs.since
	cs.mu.Unlock()
	r := clientReport{PID: os.Getpid(), Server: cs.server, State: "redialing"}
	if t == nil {
		return r
	}
	r.State = "up"
	r.Since, r.Uptime = since.UTC().Truncate(time.Second), int64(time.Since(since).Seconds())
	p, st := t.Params(), t.Stats()
	r.ServerAddr, r.Interface = p.Server.String(), p.Interface
	if p.Interface == "" {
		r.Interface = "netstack"
	}
	r.Local, r.Peer, r.MTU = p.Local.String(), p.Peer.String(), p.MTU
	for _, d := range p.DNS {
		r.DNS = append(r.DNS, d.String())
	}
	r.Cipher, r.Auth, r.User, r.CallID, r.PeerCallID = p.Encryption, p.Auth, p.User, p.CallID, p.PeerCallID
	r.TxBytes, r.TxPackets, r.RxBytes, r.RxPackets = st.TxBytes, st.TxPackets, st.RxBytes, st.RxPackets
	r.TxDropped, r.RxLost, r.RxReordered = st.TxDropped, st.RxLost, st.RxReordered
	r.RxDecryptErrors, r.RxInvalid, r.CCPResets = st.RxDecryptErrors, st.RxInvalid, st.CCPResets
	r.RTTMicros, r.EchoRTTMicros = st.RTT.Microseconds(), st.EchoRTT.Microseconds()
	return r
}

// printClientReport is the one-screen summary of `pptp status`.
func printClientReport(w io.Writer, r clientReport) {
	fmt.Fprintf(w, "%s: %s to %s", r.Interface, r.State, r.Server)
	if r.ServerAddr != "" && r.ServerAddr != r.Server {
		fmt.Fprintf(w, " (%s)", r.ServerAddr)
	}
	fmt.Fprintf(w, ", pid %d\n", r.PID)
	if r.State != "up" {
		return
	}
	fmt.Fprintf(w, "  uptime      %s (since %s)\n", time.Duration(r.Uptime)*time.Second, r.Since.Format(time.RFC3339))
	fmt.Fprintf(w, "  address     %s peer %s, MTU %d\n", r.Local, r.Peer, r.MTU)
	if len(r.DNS) > 0 {
		fmt.Fprintf(w, "  DNS         %s\n", strings.Join(r.DNS, " "))
	}
	fmt.Fprintf(w, "  cipher      %s\n", r.Cipher)
	fmt.Fprintf(w, "  auth        %s as %q\n", r.Auth, r.User)
	fmt.Fprintf(w, "  call IDs    %d, peer's %d\n", r.CallID, r.PeerCallID)
	fmt.Fprintf(w, "  sent        %d bytes in %d packets (%d dropped)\n", r.TxBytes, r.TxPackets, r.TxDropped)
	fmt.Fprintf(w, "  received    %d bytes in %d packets\n", r.RxBytes, r.RxPackets)
	fmt.Fprintf(w, "  GRE         %d lost, %d reordered, %d invalid; %d undecryptable, %d CCP resets\n",
		r.RxLost, r.RxReordered, r.RxInvalid, r.RxDecryptErrors, r.CCPResets)
	rtt := "GRE unknown (nothing acknowledged yet)"
	if r.RTTMicros > 0 {
		rtt = fmt.Sprintf("GRE %.1f ms", float64(r.RTTMicros)/1000)
	}
	if r.EchoRTTMicros > 0 {
		rtt += fmt.Sprintf(", control echo %.1f ms", float64(r.EchoRTTMicros)/1000)
	} else {
		rtt += ", control echo none yet (sent after --idle-wait of silence)"
	}
	fmt.Fprintf(w, "  RTT         %s\n", rtt)
}

// isStatusCommand tells `pptp status [IFNAME|--all] [--json]` from a server named "status":
// any other option or a second word makes it a server.
func isStatusCommand(args []string) bool {
	if len(args) == 0 || args[0] != "status" {
		return false
	}
	words := 0
	for _, a := range args[1:] {
		switch {
		case a == "--all" || a == "--json" || a == "-h" || a == "--help":
		case strings.HasPrefix(a, "-"):
			return false
		default:
			words++
		}
	}
	return words <= 1
}

// pptpStatusMain is `pptp status [IFNAME|--all] [--json]`.
func pptpStatusMain(args []string) int {
	var names []string
	asJSON, all := false, false
	for _, a := range args {
		switch {
		case a == "--json":
			asJSON = true
		case a == "--all":
			all = true
		case a == "-h" || a == "--help":
			fmt.Print("usage: pptp status [IFNAME|--all] [--json]\n  the state and counters of running pptp clients (all of them without IFNAME)\n")
			return exitOK
		case strings.HasPrefix(a, "-"):
			fmt.Fprintf(os.Stderr, "pptp status: unknown option %s\n", a)
			return exitOptions
		default:
			names = append(names, a)
		}
	}
	if len(names) > 1 || (all && len(names) > 0) {
		fmt.Fprintln(os.Stderr, "pptp status: give one interface name or --all")
		return exitOptions
	}
	named := len(names) == 1 // one client asked for by name: --json prints the object itself
	if len(names) == 0 {
		m, _ := filepath.Glob(filepath.Join(runDir(), "pptp-*.sock"))
		for _, p := range m {
			names = append(names, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "pptp-"), ".sock"))
		}
		slices.Sort(names)
		if len(names) == 0 {
			fmt.Fprintf(os.Stderr, "pptp status: no pptp client is running (no status socket in %s)\n", runDir())
			return exitFatal
		}
	}
	code := exitOK
	var reports []clientReport
	for _, n := range names {
		raw, err := ctlsock.Query(clientSocketPath(n), "status")
		var r clientReport
		if err == nil {
			err = json.Unmarshal(raw, &r)
		}
		if err != nil {
			switch {
			case errors.Is(err, ctlsock.ErrNotRunning):
				fmt.Fprintf(os.Stderr, "pptp status: no pptp client is running on %s (no %s)\n", n, clientSocketPath(n))
			case errors.Is(err, ctlsock.ErrGone):
				fmt.Fprintf(os.Stderr, "pptp status: the pptp client on %s is gone: it exited without removing its socket (removed now)\n", n)
			default:
				fmt.Fprintf(os.Stderr, "pptp status: %s: %v\n", n, err)
			}
			code = exitFatal
			continue
		}
		reports = append(reports, r)
	}
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if named {
			if len(reports) == 1 {
				enc.Encode(reports[0])
			}
		} else {
			enc.Encode(reports)
		}
		return code
	}
	for _, r := range reports {
		printClientReport(os.Stdout, r)
	}
	return code
}
