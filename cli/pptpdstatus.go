// SPDX-License-Identifier: MIT

package cli

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pptp-go/pptp/internal/ctlsock"
	"github.com/pptp-go/pptp/session"
)

func pptpdSocketPath() string { return filepath.Join(runDir(), "pptpd.sock") }

// sessionReport is one line of `pptpd status`.
type sessionReport struct {
	Interface   string    `json:"interface,omitempty"` // none before authentication
	State       string    `json:"state"`               // "up", or "starting" before PPP is up
	User        string    `json:"user,omitempty"`
	Client      string    `json:"client"`            // the control connection's source
	Address     string    `json:"address,omitempty"` // what the client was given
	Local       string    `json:"local,omitempty"`
	Auth        string    `json:"auth,omitempty"`
	Cipher      string    `json:"cipher,omitempty"`
	CallID      uint16    `json:"call_id"`
	PeerCallID  uint16    `json:"peer_call_id"`
	Started     time.Time `json:"started"`
	Uptime      int64     `json:"uptime_seconds"` // since PPP came up
	TxBytes     uint64    `json:"tx_bytes"`       // to the client
	TxPackets   uint64    `json:"tx_packets"`
	RxBytes     uint64    `json:"rx_bytes"`
	RxPackets   uint64    `json:"rx_packets"`
	RxLost      uint64    `json:"rx_lost"`
	RxReordered uint64    `json:"rx_reordered"`
}

func reportSession(i session.SessionInfo) sessionReport {
	r := sessionReport{Interface: i.IfName, State: "starting", Client: i.Client.String(), CallID: i.CallID, PeerCallID: i.PeerCallID,
		Started: i.Started.UTC().Truncate(time.Second),
		TxBytes: i.TxBytes, TxPackets: i.TxPackets, RxBytes: i.RxBytes, RxPackets: i.RxPackets, RxLost: i.RxLost, RxReordered: i.RxReordered}
	if i.Up {
		r.State, r.User, r.Address, r.Local, r.Auth, r.Cipher = "up", i.User, i.Peer.String(), i.Local.String(), i.Auth, i.Cipher
		r.Uptime = int64(time.Since(i.UpSince).Seconds())
	}
	return r
}

// kickReply is what `pptpd kick` gets back.
type kickReply struct {
	Kicked []sessionReport `json:"kicked"`
	Ended  bool            `json:"ended"` // every kicked session was gone within kickWait
}

// kickWait is how long a kick waits for its sessions to end (LCP Terminate, CDN) before
// answering; a client that does not answer the Terminate-Request takes pppd's 3 s restart.
const kickWait = 8 * time.Second

// serveServerStatus opens pptpd's status socket; the returned func closes it.
func serveServerStatus(log *logger, srv *session.Server) func() {
	s, err := ctlsock.Listen(pptpdSocketPath(), func(r ctlsock.Request) (any, error) {
		if r.Verb == "status" {
			out := []sessionReport{}
			for _, i := range srv.Sessions() {
				out = append(out, reportSession(i))
			}
			return out, nil
		}
		return kick(log, srv, r.Target)
	})
	if err != nil {
		log.Warnf("status socket: %v; `pptpd status` and `pptpd kick` will not reach this server", err)
		return func() {}
	}
	return func() { s.Close() }
}

// kick ends the sessions of user target, or the one with target as its assigned or client
// address.
func kick(log *logger, srv *session.Server, target string) (any, error) {
	addr, err := netip.ParseAddr(target)
	isAddr := err == nil
	addr = addr.Unmap()
	var rep kickReply
	for _, i := range srv.Sessions() {
		if isAddr && (i.Up && i.Peer == addr || i.Client == addr) || !isAddr && i.Up && i.User == target {
			if srv.Kick(i.CallID) {
				log.Logf("%s: kicked (pptpd kick %s): client %s user %q", cmp.Or(i.IfName, "call "+fmt.Sprint(i.CallID)), target, i.Client, i.User)
				rep.Kicked = append(rep.Kicked, reportSession(i))
			}
		}
	}
	if len(rep.Kicked) == 0 {
		what := "user"
		if isAddr {
			what = "address"
		}
		return nil, fmt.Errorf("no session of %s %q", what, target)
	}
	deadline := time.Now().Add(kickWait)
	for !rep.Ended && time.Now().Before(deadline) {
		rep.Ended = true
		for _, i := range srv.Sessions() {
			for _, k := range rep.Kicked {
				if i.CallID == k.CallID {
					rep.Ended = false
				}
			}
		}
		if !rep.Ended {
			time.Sleep(50 * time.Millisecond)
		}
	}
	return rep, nil
}

// pptpdStatusMain is `pptpd status [--json]` and `pptpd kick USER|IP`.
func pptpdStatusMain(verb string, args []string) int {
	asJSON := false
	var words []string
	for _, a := range args {
		switch {
		case a == "--json":
			asJSON = true
		case a == "-h" || a == "--help":
			fmt.Print("usage: pptpd status [--json]      every session of the running pptpd\n       pptpd kick USER|IP [--json]  end a user's sessions, or the one with that address\n")
			return 0
		case strings.HasPrefix(a, "-"):
			fmt.Fprintf(os.Stderr, "pptpd %s: unknown option %s\n", verb, a)
			return 2
		default:
			words = append(words, a)
		}
	}
	req := "status"
	switch {
	case verb == "status" && len(words) > 0:
		fmt.Fprintln(os.Stderr, "pptpd status: takes no argument (besides --json)")
		return 2
	case verb == "kick" && len(words) != 1:
		fmt.Fprintln(os.Stderr, "pptpd kick: give one user name or IP address")
		return 2
	case verb == "kick":
		req = "kick " + words[0]
	}
	raw, err := ctlsock.Query(pptpdSocketPath(), req)
	if err != nil {
		switch {
		case errors.Is(err, ctlsock.ErrNotRunning):
			fmt.Fprintf(os.Stderr, "pptpd %s: pptpd is not running (no %s)\n", verb, pptpdSocketPath())
		case errors.Is(err, ctlsock.ErrGone):
			fmt.Fprintf(os.Stderr, "pptpd %s: pptpd is gone: it exited without removing %s (removed now)\n", verb, pptpdSocketPath())
		default:
			fmt.Fprintf(os.Stderr, "pptpd %s: %v\n", verb, err)
		}
		return 1
	}
	if asJSON {
		os.Stdout.Write(append(raw, '\n'))
		return 0
	}
	if verb == "kick" {
		var rep kickReply
		if err := json.Unmarshal(raw, &rep); err != nil {
			fmt.Fprintf(os.Stderr, "pptpd kick: %v\n", err)
			return 1
		}
		for _, k := range rep.Kicked {
			fmt.Printf("kicked %s: user %q, client %s, address %s\n", cmp.Or(k.Interface, "a call not logged in"), k.User, k.Client, cmp.Or(k.Address, "-"))
		}
		if !rep.Ended {
			fmt.Printf("(still ending after %v: the client has not answered)\n", kickWait)
		}
		return 0
	}
	var list []sessionReport
	if err := json.Unmarshal(raw, &list); err != nil {
		fmt.Fprintf(os.Stderr, "pptpd status: %v\n", err)
		return 1
	}
	printSessions(os.Stdout, list)
	return 0
}

func printSessions(w io.Writer, list []sessionReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INTERFACE\tUSER\tCLIENT\tADDRESS\tCIPHER\tSENT\tRECEIVED\tLOST\tUPTIME")
	for _, r := range list {
		user, addr, cipher, up := r.User, r.Address, r.Cipher, (time.Duration(r.Uptime) * time.Second).String()
		if r.State != "up" {
			user, addr, cipher, up = "-", "-", "-", r.State
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", cmp.Or(r.Interface, "-"), user, r.Client, addr, cipher,
			byteCount(r.TxBytes), byteCount(r.RxBytes), r.RxLost, up)
	}
	tw.Flush()
	if len(list) == 1 {
		fmt.Fprintln(w, "1 session")
	} else {
		fmt.Fprintf(w, "%d sessions\n", len(list))
	}
}

func byteCount(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
