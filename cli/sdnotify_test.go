// SPDX-License-Identifier: MIT

package cli

import (
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func TestSDNotify(t *testing.T) {
	for _, abstract := range []bool{false, true} {
		name := filepath.Join(t.TempDir(), "notify")
		env := name
		if abstract {
			name = "\x00pptp-go-test-" + strconv.Itoa(int(time.Now().UnixNano()))
			env = "@" + name[1:]
		}
		ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv("NOTIFY_SOCKET", env)
		if err := sdNotify("READY=1\nSTATUS=x"); err != nil {
			t.Fatalf("abstract=%v: %v", abstract, err)
		}
		ln.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 256)
		n, err := ln.Read(buf)
		if err != nil || string(buf[:n]) != "READY=1\nSTATUS=x" {
			t.Errorf("abstract=%v: got %q, %v", abstract, buf[:n], err)
		}
		ln.Close()
	}
	t.Setenv("NOTIFY_SOCKET", "")
	if err := sdNotify("READY=1"); err != nil {
		t.Errorf("without NOTIFY_SOCKET: %v", err)
	}
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "absent"))
	if err := sdNotify("READY=1"); err == nil {
		t.Error("a missing socket was not reported")
	}
}
