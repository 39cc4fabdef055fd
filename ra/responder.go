// SPDX-License-Identifier: MIT

package ra

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"golang.org/x/net/ipv6"
)

var (
	allNodes   = net.IPv6linklocalallnodes
	allRouters = net.IPv6linklocalallrouters
)

// Responder sends the Router Advertisements of every link it was given, from one raw
// ICMPv6 socket and one goroutine, which answers Router Solicitations and repeats each
// link's advertisement every Interval. Its methods are safe for concurrent use.
type Responder struct {
	pc   *ipv6.PacketConn
	c    net.PacketConn
	logf func(string, ...any)

	// minDelay spaces a link's advertisements (RFC 4861 §10 MIN_DELAY_BETWEEN_RAS), so a
	// client sending solicitations in a loop gets one answer every 3 s. Guarded by mu.
	minDelay time.Duration

	mu    sync.Mutex
	links map[int]*link // by interface index

	done chan struct{}
}

type link struct {
	name string
	src  net.IP // our link-local address on it
	msg  []byte // the advertisement, built once
	last time.Time
}

// NewResponder opens the socket (CAP_NET_RAW) in the caller's network namespace and starts
// the goroutine; Close stops it. logf gets one line per dropped or failed packet (debug).
func NewResponder(logf func(string, ...any)) (*Responder, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	c, err := net.ListenPacket("ip6:ipv6-icmp", "::")
	if err != nil {
		return nil, fmt.Errorf("router advertisements: %w", err)
	}
	pc := ipv6.NewPacketConn(c)
	var f ipv6.ICMPFilter
	f.SetAll(true)
	f.Accept(ipv6.ICMPTypeRouterSolicitation) // the kernel hands us nothing else
	for _, err := range []error{
		pc.SetICMPFilter(&f),
		pc.SetControlMessage(ipv6.FlagInterface|ipv6.FlagHopLimit, true),
		pc.SetMulticastHopLimit(255), // RFC 4861 §6.1.2: receivers drop anything else
		pc.SetHopLimit(255),
		pc.SetMulticastLoopback(false),
	} {
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("router advertisements: %w", err)
		}
	}
	r := &Responder{pc: pc, c: c, logf: logf, links: map[int]*link{}, done: make(chan struct{}), minDelay: 3 * time.Second}
	go r.run()
	return r, nil
}

// Add starts advertising ad on the interface ifindex (named ifname in logs) from our
// link-local address src: at once, on every solicitation and every Interval.
func (r *Responder) Add(ifindex int, ifname string, src netip.Addr, ad Advertisement) error {
	if !src.IsLinkLocalUnicast() {
		return fmt.Errorf("router advertisements on %s: source %v is not link-local", ifname, src)
	}
	ifi := &net.Interface{Index: ifindex, Name: ifname}
	// Solicitations go to all-routers, which an interface joins only with forwarding on.
	if err := r.pc.JoinGroup(ifi, &net.IPAddr{IP: allRouters}); err != nil && !errors.Is(err, os.ErrExist) {
		r.logf("router advertisements on %s: joining ff02::2: %v (solicitations unheard)", ifname, err)
	}
	l := &link{name: ifname, src: src.AsSlice(), msg: ad.Append(nil)}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.links[ifindex] = l
	return r.send(ifindex, l)
}

// Remove stops advertising on ifindex (the interface is going away with its session).
func (r *Responder) Remove(ifindex int) {
	r.mu.Lock()
	l := r.links[ifindex]
	delete(r.links, ifindex)
	r.mu.Unlock()
	if l != nil {
		r.pc.LeaveGroup(&net.Interface{Index: ifindex, Name: l.name}, &net.IPAddr{IP: allRouters})
	}
}

// Close stops the responder and closes its socket.
func (r *Responder) Close() error {
	err := r.c.Close()
	<-r.done
	return err
}

// send sends l's advertisement; r.mu is held.
func (r *Responder) send(ifindex int, l *link) error {
	l.last = time.Now()
	cm := &ipv6.ControlMessage{IfIndex: ifindex, Src: l.src, HopLimit: 255}
	if _, err := r.pc.WriteTo(l.msg, cm, &net.IPAddr{IP: allNodes}); err != nil {
		return fmt.Errorf("router advertisement on %s: %w", l.name, err)
	}
	return nil
}

// run owns the reads: solicitations are answered on the link they came from, and the
// read deadline is the next periodic round.
func (r *Responder) run() {
	defer close(r.done)
	buf := make([]byte, 1500)
	next := time.Now().Add(Interval)
	for {
		r.c.SetReadDeadline(next)
		n, cm, src, err := r.pc.ReadFrom(buf)
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			r.mu.Lock()
			for idx, l := range r.links {
				if err := r.send(idx, l); err != nil {
					r.logf("%v", err)
				}
			}
			r.mu.Unlock()
			next = time.Now().Add(Interval)
			continue
		case errors.Is(err, net.ErrClosed):
			return
		case err != nil:
			r.logf("router advertisements: read: %v", err)
			time.Sleep(10 * time.Millisecond) // a transient error must not spin
			continue
		}
		if cm == nil || cm.HopLimit != 255 || !IsSolicitation(buf[:n]) {
			r.logf("router advertisements: dropped a message from %v (not a solicitation with hop limit 255)", src)
			continue
		}
		r.mu.Lock()
		switch l := r.links[cm.IfIndex]; {
		case l == nil:
			// an interface that is not a session's with a prefix
		case time.Since(l.last) < r.minDelay:
			r.logf("router advertisements on %s: solicitation within %v of the last advertisement; not answered", l.name, r.minDelay)
		default:
			if err := r.send(cm.IfIndex, l); err != nil {
				r.logf("%v", err)
			}
		}
		r.mu.Unlock()
	}
}
