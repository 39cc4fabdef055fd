// SPDX-License-Identifier: MIT

package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// ServerConfig configures the PAC side. Zero values mean the defaults given per field.
type ServerConfig struct {
	HostName, Vendor string        // SCCRP host name and vendor, default "local" and "pptp-go"
	StartTimeout     time.Duration // first valid SCCRQ, and then the OCRQ, must arrive within (stimeout), default 10s
	// IdleWait and MaxEchoWait as in ClientConfig, but 0 means the default of 60s each
	// (pptpd's fixed values); IdleWait < 0 turns our Echo-Requests off.
	IdleWait, MaxEchoWait time.Duration
	RecvWindow            uint16 // OCRP Packet Recv. Window Size, default 1024 (DefaultWindow)
	// NewCall is called for an OCRQ: it returns our Call ID, or a non-nil error mapped to
	// OCRP result 4 (Busy) if errors.Is(err, ErrBusy), else 7 (Not Accepted). req is only
	// valid during the call. nil accepts every call with a random Call ID.
	NewCall func(peerCallID uint16, req OCRQ) (localCallID uint16, err error)
	// Window, when set, is called after NewCall accepted the call and gives the OCRP's
	// window in place of RecvWindow (the call's GRE socket, which decides it, may only
	// exist from NewCall on).
	Window func() uint16
	Logf   func(format string, args ...any)
}

func (cfg *ServerConfig) setDefaults() {
	if cfg.HostName == "" {
		cfg.HostName = "local"
	}
	if cfg.Vendor == "" {
		cfg.Vendor = ourVendor
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 10 * time.Second
	}
	if cfg.IdleWait == 0 {
		cfg.IdleWait = defaultIdleWait
	}
	if cfg.MaxEchoWait <= 0 {
		cfg.MaxEchoWait = defaultMaxEchoWait
	}
	if cfg.RecvWindow == 0 {
		cfg.RecvWindow = DefaultWindow
	}
	if cfg.NewCall == nil {
		cfg.NewCall = func(uint16, OCRQ) (uint16, error) { return RandomCallID(), nil }
	}
}

// Accept runs the PAC side of one TCP connection up to an established call. The first
// message must be a valid Start-Control-Connection-Request arriving within StartTimeout,
// and the Outgoing-Call-Request must follow within StartTimeout too; anything else closes
// the connection with an error, so port scans and silent peers cost one deadline each.
// On error conn is closed.
func Accept(ctx context.Context, conn net.Conn, cfg ServerConfig) (*Call, error) {
	cfg.setDefaults()
	c := newCall(conn, true, cfg.Logf)
	c.idleWait, c.maxEchoWait = cfg.IdleWait, cfg.MaxEchoWait
	stop := setupDeadline(ctx, conn)
	defer stop()
	if err := c.serverSetup(ctx, &cfg); err != nil {
		conn.Close()
		return nil, fmt.Errorf("control connection from %v: %w", conn.RemoteAddr(), err)
	}
	if !stop() {
		conn.Close()
		return nil, fmt.Errorf("control connection from %v: %w", conn.RemoteAddr(), ctx.Err())
	}
	conn.SetDeadline(time.Time{})
	c.start()
	return c, nil
}

func (c *Call) serverSetup(ctx context.Context, cfg *ServerConfig) error {
	c.conn.SetReadDeadline(time.Now().Add(cfg.StartTimeout))
	if err := ctx.Err(); err != nil {
		return err
	}
	m, err := ReadMessage(c.conn, c.rbuf[:])
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("no Start-Control-Connection-Request within %v", cfg.StartTimeout)
		}
		return fmt.Errorf("first message: %w", c.describeReadError(err))
	}
	if h := Header(m); h.MessageType() != MessageControl {
		return errors.New("first message is a management message, not a Start-Control-Connection-Request")
	} else if h.ControlType() != TypeSCCRQ {
		return fmt.Errorf("first message is %v, not a Start-Control-Connection-Request", h.ControlType())
	}
	rq := SCCRQ(m)
	c.logf("Start-Control-Connection-Request from %q (vendor %q).", rq.HostName(), rq.Vendor())
	version := rq.ProtocolVersion()

	rp := SCCRP(c.wbuf[:SCCRPLen])
	rp.Init()
	rp.SetProtocolVersion(ProtocolVersion)
	rp.SetResultCode(SCCRPSuccess)
	rp.SetFramingCapabilities(FramingAsync | FramingSync)
	rp.SetBearerCapabilities(BearerAnalog | BearerDigital)
	rp.SetMaxChannels(1)
	rp.SetFirmwareRevision(firmwareRevision)
	rp.SetHostName(cfg.HostName)
	rp.SetVendor(cfg.Vendor)
	if version != ProtocolVersion {
		rp.SetResultCode(SCCRPBadVersion)
	}
	if err := c.send(rp); err != nil {
		return err
	}
	if version != ProtocolVersion {
		c.lingerSync(ctx)
		return fmt.Errorf("client speaks PPTP version %d.%d, we speak 1.0", version>>8, version&0xff)
	}

	m, err = c.expect(ctx, TypeOCRQ, cfg.StartTimeout, nil)
	if err != nil {
		return err
	}
	oc := OCRQ(m)
	c.peerID = oc.CallID()
	c.peerWindow = oc.RecvWindow()
	c.speed = oc.MaximumBPS()
	id, err := cfg.NewCall(c.peerID, oc)
	if err != nil {
		result := uint8(OCRPNotAccepted)
		if errors.Is(err, ErrBusy) {
			result = OCRPBusy
		}
		c.logf("Refusing call %d: %v.", c.peerID, err)
		if c.sendOCRP(c.peerID, 0, result, ErrorNone, 0) == nil {
			c.lingerSync(ctx)
		}
		return fmt.Errorf("call refused: %w", err)
	}
	c.localID = id
	window := cfg.RecvWindow
	if cfg.Window != nil {
		window = cfg.Window()
	}
	m2 := OCRP(c.wbuf[:OCRPLen])
	m2.Init()
	m2.SetCallID(c.localID)
	m2.SetPeerCallID(c.peerID)
	m2.SetResultCode(OCRPConnected)
	m2.SetConnectSpeed(c.speed)
	m2.SetRecvWindow(window)
	if err := c.send(m2); err != nil {
		return err
	}
	c.logf("Outgoing call established (call ID %d, peer's call ID %d).", c.localID, c.peerID)
	return nil
}
