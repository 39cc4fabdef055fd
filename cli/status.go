// SPDX-License-Identifier: MIT

package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/pptp-go/pptp"
)

// status is the machine-readable summary in the status-file: written when the link comes up,
// every statusFileInterval while it runs, and when the call ends.
type status struct {
	State   string           `json:"state"` // "up" while running, "ended" at the end
	Updated time.Time        `json:"updated"`
	Link    *linkStatus      `json:"link,omitempty"`
	GRE     map[string]int64 `json:"gre"`
	Data    map[string]int64 `json:"data,omitempty"`
}

type linkStatus struct {
	Local, Peer string
	DNS         []string `json:",omitempty"`
	MTU         int
	Encryption  string
}

func writeStatus(path string, t *pptp.Tunnel) error {
	gs := t.LinkStats()
	st := status{State: "up", Updated: time.Now().UTC().Truncate(time.Millisecond), GRE: map[string]int64{
		"rx_accepted": int64(gs.RxAccepted.Load()), "rx_lost": int64(gs.RxLost.Load()),
		"rx_under_win": int64(gs.RxUnderWin.Load()), "rx_over_win": int64(gs.RxOverWin.Load()),
		"rx_buffered": int64(gs.RxBuffered.Load()), "rx_errors": int64(gs.RxErrors.Load()),
		"rx_truncated": int64(gs.RxTruncated.Load()), "rx_invalid": int64(gs.RxInvalid.Load()),
		"rx_acks": int64(gs.RxAcks.Load()), "tx_sent": int64(gs.TxSent.Load()),
		"tx_failed": int64(gs.TxFailed.Load()), "tx_short": int64(gs.TxShort.Load()),
		"tx_acks": int64(gs.TxAcks.Load()), "tx_oversize": int64(gs.TxOversize.Load()),
		"tx_fast": int64(gs.TxFast.Load()),
		"rtt_us":  gs.RTT.Load(),
	}}
	{
		ds := t.DataStats()
		st.Data = map[string]int64{
			"tx_packets": int64(ds.TxPackets.Load()), "tx_bytes": int64(ds.TxBytes.Load()),
			"rx_packets": int64(ds.RxPackets.Load()), "rx_bytes": int64(ds.RxBytes.Load()),
			"tx_dropped": int64(ds.TxDropped.Load()), "rx_decrypt_errors": int64(ds.RxDecryptErrors.Load()),
			"rx_bad_ip": int64(ds.RxBadIP.Load()), "rx_mppe_sanity": int64(ds.RxSanity.Load()), "ccp_reset_requests": int64(t.Stats().CCPResets),
		}
		if p := t.Params(); p.Local.IsValid() {
			ls := &linkStatus{Local: p.Local.String(), Peer: p.Peer.String(), MTU: p.MTU, Encryption: p.Encryption}
			for _, d := range p.DNS {
				ls.DNS = append(ls.DNS, d.String())
			}
			st.Link = ls
		}
	}
	select {
	case <-t.Done():
		st.State = "ended"
	default:
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	// A new file renamed over the old: a reader sees the last whole status, never half of one.
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// statusFileInterval is how often a running client rewrites its status-file.
const statusFileInterval = 5 * time.Second

// keepStatusFile writes path now and every statusFileInterval until the returned stop is
// called (which waits for a write under way).
func keepStatusFile(log *logger, path string, t *pptp.Tunnel) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(statusFileInterval)
		defer tick.Stop()
		warned := false
		for {
			if err := writeStatus(path, t); err != nil && !warned {
				log.Warnf("status file: %v", err) // once: the next writes would say the same
				warned = true
			}
			select {
			case <-quit:
				return
			case <-t.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(quit); <-done }
}
