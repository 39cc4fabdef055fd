// SPDX-License-Identifier: MIT

package gre

import (
	"errors"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A send blocked on a full buffer returns net.ErrClosed soon after Close,
// having sent what fitted; a send after Close fails at once.
func TestSockCloseUnblocksSend(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	s, err := newSock(fds[0], "test")
	if err != nil {
		t.Fatal(err)
	}
	// Nobody reads fds[1], so its queue fills and the sender sleeps.
	payload := make([]byte, 1000)
	const total = 4096
	msgs := make([]mmsghdr, total)
	iov := unix.Iovec{Base: &payload[0]}
	iov.SetLen(len(payload))
	for i := range msgs {
		msgs[i].hdr.Iov = &iov
		msgs[i].hdr.Iovlen = 1
	}
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := s.sendmmsg(msgs)
		done <- result{n, err}
	}()
	select {
	case r := <-done:
		t.Fatalf("sendmmsg of %d returned before Close: %d, %v", total, r.n, r.err)
	case <-time.After(3 * blockTimeout):
	}
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if !errors.Is(r.err, net.ErrClosed) || r.n == 0 || r.n >= total {
			t.Fatalf("after Close: sent %d of %d, %v; want some, then net.ErrClosed", r.n, total, r.err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("returned %v after Close", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("sendmmsg still blocked 5 s after Close")
	}
	if n, err := s.sendmmsg(msgs[:1]); n != 0 || err == nil {
		t.Fatalf("send after Close: %d, %v", n, err)
	}
}
