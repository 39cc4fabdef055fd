// SPDX-License-Identifier: MIT

package nstest

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netns"
)

// inOrig fails unless the calling thread is in namespace orig.
func inOrig(t *testing.T, orig netns.NsHandle) {
	t.Helper()
	cur, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close()
	if !cur.Equal(orig) {
		t.Fatalf("thread left in %v, want %v", cur, orig)
	}
}

func TestInReturnsHome(t *testing.T) {
	ns := New(t, "nstest")
	// Locked across In, so what In leaves behind is still this thread's.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()

	boom := errors.New("boom")
	var inside netns.NsHandle
	err = In(ns, func() (err error) {
		inside, err = netns.Get()
		if err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("In = %v, want fn's error", err)
	}
	defer inside.Close()
	if inside.Equal(orig) {
		t.Fatal("fn ran in the original namespace")
	}
	inOrig(t, orig)

	func() {
		defer func() { recover() }()
		In(ns, func() error { panic("boom") })
	}()
	inOrig(t, orig)

	if err := In("nstest-absent", func() error { return nil }); err == nil {
		t.Error("In a missing namespace succeeded")
	}
	inOrig(t, orig)
}

func TestPair(t *testing.T) {
	p := NewPair(t, "nstest")
	for _, name := range []string{p.A, p.B} {
		if !strings.Contains(name, fmt.Sprint(os.Getpid())) {
			t.Errorf("namespace %s does not name this process", name)
		}
	}
	Run(t, p.A, "ping", "-c", "1", "-W", "2", p.AddrB)
	l, err := Handle(t, p.B).LinkByName(p.DevB)
	if err != nil {
		t.Fatal(err)
	}
	if l.Attrs().Name != p.DevB {
		t.Errorf("link %s", l.Attrs().Name)
	}
	if out, err := Output(p.B, "ip", "-4", "-o", "addr", "show", "dev", p.DevB); err != nil || !strings.Contains(out, p.AddrB+"/24") {
		t.Errorf("%s in %s: %v %s", p.DevB, p.B, err, out)
	}
}

func TestRemovedAtCleanup(t *testing.T) {
	RequireRoot(t)
	var ns string
	var p *Pair
	t.Run("make", func(t *testing.T) {
		ns = New(t, "nstest")
		p = NewPair(t, "nstest")
	})
	for _, name := range []string{ns, p.A, p.B} {
		if h, err := netns.GetFromName(name); err == nil {
			h.Close()
			t.Errorf("namespace %s is still there", name)
		}
	}
}
