// SPDX-License-Identifier: MIT

package session

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pptp-go/pptp/gre"
	"github.com/pptp-go/pptp/ppp"
)

// ErrNoGRE is matched (errors.Is) by a session's error when the call was placed but GRE did
// not pass between the two ends: nothing came from the server, it came from another address,
// an ICMP error refused it, or it came but never answered LCP. The text says which.
var ErrNoGRE = errors.New("GRE does not pass")

// noGREWarn is how long after the call was placed a silent GRE path is worth a warning: the
// LCP budget (10 Configure-Requests, 3 s apart) is 30 s, and the user should hear the reason
// well before it ends.
const noGREWarn = 10 * time.Second

// watchLimit ends the diagnostic sockets' watch after the set-up: twice the default LCP
// budget, however long the session runs.
const watchLimit = time.Minute

// heard counts what the Link received from the peer on the call's own socket (any kind of
// valid or invalid packet: zero means not one GRE packet of the call came back).
func heard(st *gre.Stats) uint64 {
	return st.RxAccepted.Load() + st.RxAcks.Load() + st.RxBuffered.Load() + st.RxUnderWin.Load() +
		st.RxOverWin.Load() + st.RxInvalid.Load() + st.RxTruncated.Load()
}

// greWatch finds out why a call's GRE path is silent, for the set-up only. The call's own
// raw socket is connected to the server, so the kernel hides from it GRE that comes from any
// other address and ICMP errors say only an errno there; the watch has its own unconnected
// raw sockets for both (while the path is silent; they close at the first GRE packet from
// the server), and a timer that logs the silence once.
type greWatch struct {
	peer   string // "server" or "client"
	addr   netip.Addr
	callID uint16
	start  time.Time
	link   *gre.Link
	logf   func(format string, args ...any)
	warn   *time.Timer

	mu       sync.Mutex
	socks    []net.PacketConn
	other    netip.Addr // first source of GRE for our Call ID that is not addr
	icmpFrom netip.Addr // who sent an ICMP destination-unreachable for our GRE to addr
	icmpCode uint8
	stopped  bool
}

// watchGRE starts the watch for a call to or from addr whose GRE carries callID (ours).
// sockets opens the diagnostic raw sockets (the client; a server's many calls go without).
// The link is set later (the call must be placed first); stop ends the watch.
func watchGRE(peer string, addr netip.Addr, callID uint16, sockets bool, logf func(string, ...any)) *greWatch {
	w := &greWatch{peer: peer, addr: addr, callID: callID, start: time.Now(), logf: logf}
	if !sockets {
		return w
	}
	// Without CAP_NET_RAW for them (there is, for the call's socket) the watch just says less.
	protos, wild := [2]string{"ip4:47", "ip4:1"}, "0.0.0.0"
	if addr.Is6() {
		// An IPv6 raw socket reads no IPv6 header: GRE alone, ICMPv6 alone.
		protos, wild = [2]string{"ip6:47", "ip6:ipv6-icmp"}, "::"
	}
	for i, proto := range protos {
		if c, err := net.ListenPacket(proto, wild); err == nil {
			w.socks = append(w.socks, c)
			go w.read(c, i == 1)
		}
	}
	return w
}

// setLink starts the timer once the call is placed and its Link exists.
func (w *greWatch) setLink(l *gre.Link) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.link, w.start = l, time.Now()
	if w.stopped || w.logf == nil {
		return
	}
	w.warn = time.AfterFunc(noGREWarn, func() {
		if heard(l.Stats()) == 0 {
			w.logf("warning: %s", w.silence(time.Since(w.start)))
		}
	})
}

// read records what one diagnostic socket sees until the server is heard or the watch stops.
func (w *greWatch) read(c net.PacketConn, icmp bool) {
	buf := make([]byte, 1600)
	for {
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, from, err := c.ReadFrom(buf)
		w.mu.Lock()
		// GRE from elsewhere matters only while the server is silent; an ICMP error for our
		// GRE matters even when the server's GRE comes (it may be ours that is refused).
		done := w.stopped || time.Since(w.start) > watchLimit || (!icmp && w.link != nil && heard(w.link.Stats()) > 0)
		if err == nil && !done {
			src, _ := netip.AddrFromSlice(from.(*net.IPAddr).IP)
			src = src.Unmap()
			if icmp {
				w.noteICMP(src, buf[:n])
			} else {
				w.noteGRE(src, buf[:n])
			}
		}
		w.mu.Unlock()
		if done {
			c.Close()
			return
		}
		if err != nil && !isTimeout(err) {
			return
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// noteGRE: a GRE packet for our call from another address than the control connection's.
func (w *greWatch) noteGRE(src netip.Addr, b []byte) {
	h, _, err := gre.Parse(b)
	if err != nil || h.CallID() != w.callID || src == w.addr.WithZone("") || w.other.IsValid() {
		return
	}
	w.other = src
}

// noteICMP: an ICMP destination-unreachable whose quoted datagram is our GRE to the peer
// (type 3; the quote is an IPv4 header of protocol 47 to addr).
func (w *greWatch) noteICMP(src netip.Addr, b []byte) {
	if w.addr.Is6() {
		w.noteICMPv6(src, b)
		return
	}
	if len(b) < 8+20 || b[0] != 3 || w.icmpFrom.IsValid() {
		return
	}
	ip := b[8:]
	if ip[0]>>4 != 4 || ip[9] != 47 {
		return
	}
	if dst := netip.AddrFrom4([4]byte(ip[16:20])); dst != w.addr {
		return
	}
	w.icmpFrom, w.icmpCode = src, b[1]
}

// noteICMPv6: an ICMPv6 destination-unreachable (type 1), or the parameter problem
// "unrecognized Next Header" (type 4 code 1, IPv6's protocol unreachable), quoting an
// IPv6 header of next header 47 to addr. Its code is kept as ICMPv4's equivalent, so that
// silence says it in the same words.
func (w *greWatch) noteICMPv6(src netip.Addr, b []byte) {
	if len(b) < 8+40 || w.icmpFrom.IsValid() {
		return
	}
	var code uint8
	switch {
	case b[0] == 1 && b[1] == 0: // no route to destination
		code = 0
	case b[0] == 1 && (b[1] == 1 || b[1] == 5 || b[1] == 6): // administratively prohibited, policy, reject route
		code = 13
	case b[0] == 1 && b[1] == 3: // address unreachable
		code = 1
	case b[0] == 4 && b[1] == 1:
		code = 2
	default:
		return
	}
	ip := b[8:]
	if ip[0]>>4 != 6 || ip[6] != 47 {
		return
	}
	if dst := netip.AddrFrom16([16]byte(ip[24:40])); dst != w.addr.WithZone("") {
		return
	}
	w.icmpFrom, w.icmpCode = src, code
}

// stop closes the diagnostic sockets and the timer. Safe to call more than once.
func (w *greWatch) stop() {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	w.stopped = true
	if w.warn != nil {
		w.warn.Stop()
	}
	for _, c := range w.socks {
		c.SetReadDeadline(time.Now()) // the reader closes it
	}
}

// icmpUnreach names the ICMP destination-unreachable codes a GRE path meets (RFC 792, 1812).
var icmpUnreach = map[uint8]string{
	0: "network unreachable", 1: "host unreachable", 2: "protocol unreachable",
	9: "network administratively prohibited", 10: "host administratively prohibited",
	13: "communication administratively prohibited",
}

// silence says in words why nothing came back on the GRE path after d.
func (w *greWatch) silence(d time.Duration) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	d = d.Round(time.Second)
	switch {
	case w.icmpFrom.IsValid():
		what := icmpUnreach[w.icmpCode]
		if what == "" {
			what = fmt.Sprintf("destination unreachable, code %d", w.icmpCode)
		}
		who := fmt.Sprintf("the %s itself (%s)", w.peer, w.icmpFrom)
		if w.icmpFrom != w.addr.WithZone("") {
			who = fmt.Sprintf("%s, a host on the way to the %s %s,", w.icmpFrom, w.peer, w.addr)
		}
		hint := "a firewall rejects GRE"
		if w.icmpCode == 2 {
			hint = "no GRE handler there: a host without GRE support, or a firewall rejecting GRE"
		}
		return fmt.Sprintf("the control connection works, but %s refuses our GRE (IP protocol 47) with ICMP %s (%s)", who, what, hint)
	case w.other.IsValid():
		return fmt.Sprintf("GRE for our call arrives from %s, not from %s, the address of the control connection (a multi-homed %s answering from another address, or NAT rewriting it): PPTP needs both from one address",
			w.other, w.addr, w.peer)
	}
	return fmt.Sprintf("no GRE (IP protocol 47) packets arrived from the %s %s in %v after the call was placed, although the control connection (TCP 1723) works: a firewall or a NAT router without a PPTP helper (nf_conntrack_pptp, \"PPTP passthrough\") is dropping them",
		w.peer, w.addr, d)
}

// explain turns an LCP failure of a call whose GRE path did not work into the reason, in
// words; other errors, and LCP failures over a working path, are returned as they are.
func (w *greWatch) explain(err error) error {
	if w == nil || w.link == nil || !errors.Is(err, ppp.ErrLCP) || !errors.Is(err, ppp.ErrNoAnswer) {
		return err
	}
	st := w.link.Stats()
	var why string
	w.mu.Lock()
	refused := w.icmpFrom.IsValid()
	w.mu.Unlock()
	switch n, frames := heard(st), st.RxAccepted.Load(); {
	case n == 0 || refused:
		why = w.silence(time.Since(w.start))
	case frames > 0:
		// The peer's LCP speaks (its Configure-Requests came) but never acknowledged ours.
		why = fmt.Sprintf("GRE arrives from the %s %s (%d packets) but it never acknowledged our LCP Configure-Requests: our GRE does not reach it (a firewall or NAT passing GRE one way only)", w.peer, w.addr, n)
	default:
		why = fmt.Sprintf("GRE arrives from the %s %s (%d packets) but carries no PPP frames: its PPP is not running", w.peer, w.addr, n)
	}
	return kindError{ErrNoGRE, fmt.Errorf("%s (%w)", why, err)}
}
