// SPDX-License-Identifier: MIT

package session

import (
	"os"
	"sync"

	"golang.zx2c4.com/wireguard/tun"
)

// LazyDevice is a tun.Device whose real device arrives later: proxy mode can only build its
// user-space stack once IPCP has told it the address. Reads wait for Set; writes before Set
// are dropped (nothing can be addressed to us yet).
type LazyDevice struct {
	mu     sync.Mutex
	ready  chan struct{}
	closed chan struct{}
	dev    tun.Device
	once   sync.Once
}

// NewLazyDevice returns an empty device.
func NewLazyDevice() *LazyDevice {
	return &LazyDevice{ready: make(chan struct{}), closed: make(chan struct{})}
}

// Set installs the real device; only the first call counts.
func (l *LazyDevice) Set(dev tun.Device) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dev == nil {
		l.dev = dev
		close(l.ready)
	}
}

func (l *LazyDevice) get() tun.Device {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dev
}

func (l *LazyDevice) File() *os.File { return nil }

func (l *LazyDevice) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	select {
	case <-l.ready:
		return l.get().Read(bufs, sizes, offset)
	case <-l.closed:
		return 0, os.ErrClosed
	}
}

func (l *LazyDevice) Write(bufs [][]byte, offset int) (int, error) {
	if d := l.get(); d != nil {
		return d.Write(bufs, offset)
	}
	return len(bufs), nil
}

func (l *LazyDevice) MTU() (int, error) {
	if d := l.get(); d != nil {
		return d.MTU()
	}
	return 1400, nil
}

func (l *LazyDevice) Name() (string, error) { return "netstack", nil }

func (l *LazyDevice) Events() <-chan tun.Event {
	c := make(chan tun.Event)
	close(c)
	return c
}

// BatchSize is the real device's once it is set (the datapath asks when the link is up),
// else 1.
func (l *LazyDevice) BatchSize() int {
	if d := l.get(); d != nil {
		return d.BatchSize()
	}
	return 1
}

func (l *LazyDevice) Close() error {
	l.once.Do(func() { close(l.closed) })
	if d := l.get(); d != nil {
		return d.Close()
	}
	return nil
}
