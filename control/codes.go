// SPDX-License-Identifier: MIT

package control

import (
	"errors"
	"fmt"
	"strconv"
)

// Result codes we send (RFC 2637 §2).
const (
	SCCRPSuccess       = 1
	SCCRPGeneralError  = 2
	SCCRPChannelExists = 3
	SCCRPNotAuthorized = 4
	SCCRPBadVersion    = 5
	StopReasonNone     = 1
	StopReasonProtocol = 2
	StopReasonShutdown = 3
	StopCCRPOK         = 1
	EchoOK             = 1
	OCRPConnected      = 1
	OCRPGeneralError   = 2
	OCRPBusy           = 4
	OCRPNotAccepted    = 7
	ICRPNotAccepted    = 3
	CDNLostCarrier     = 1
	CDNGeneralError    = 2
	CDNAdminShutdown   = 3
	CDNRequest         = 4
	ErrorNone          = 0
	ErrorNotConnected  = 1
	ErrorBadFormat     = 2
	ErrorBadValue      = 3
	ErrorNoResource    = 4
	ErrorBadCallID     = 5
	ErrorPACError      = 6
)

var resultWords = map[ControlType][]string{
	TypeSCCRP:    {1: "Successful Channel Establishment", 2: "General Error", 3: "Command Channel Already Exists", 4: "Requester is not Authorized", 5: "Protocol Version not Supported"},
	TypeStopCCRQ: {1: "None", 2: "Stop-Protocol", 3: "Stop-Local-Shutdown"},
	TypeStopCCRP: {1: "OK", 2: "General Error"},
	TypeEchoRP:   {1: "OK", 2: "General Error"},
	TypeOCRP:     {1: "Connected", 2: "General Error", 3: "No Carrier Detected", 4: "Busy Signal", 5: "No Dial Tone", 6: "Time Out", 7: "Not Accepted"},
	TypeICRP:     {1: "Connect", 2: "General Error", 3: "Not Accepted"},
	TypeCDN:      {1: "Lost Carrier", 2: "General Error", 3: "Administrative Shutdown", 4: "Request"},
}

var errorWords = []string{"None", "Not-Connected", "Bad-Format", "Bad-Value", "No-Resource", "Bad-Call ID", "PAC-Error"}

// ResultText names a Result Code (or the Reason of a Stop-Control-Connection-Request) of a
// message of type t, "unknown" if RFC 2637 does not define it.
func ResultText(t ControlType, code uint8) string {
	w := resultWords[t]
	if int(code) < len(w) && w[code] != "" {
		return w[code]
	}
	return "unknown"
}

// ErrorText names a General Error Code (RFC 2637 §2.16), "unknown" past the defined ones.
func ErrorText(code uint8) string {
	if int(code) < len(errorWords) {
		return errorWords[code]
	}
	return "unknown"
}

// ErrBusy, returned (possibly wrapped) by ServerConfig.NewCall, makes the server refuse the
// call with Outgoing-Call-Reply result 4 (Busy) instead of 7 (Not Accepted).
var ErrBusy = errors.New("no free call slots")

// ResultError reports a negative reply or a peer's decision to end the call or the
// connection, with the codes of the message that said so.
type ResultError struct {
	Op        string      // what happened, e.g. "server refused the call"
	Type      ControlType // the message that carried the codes
	Result    uint8       // Result Code (Reason for a Stop-Control-Connection-Request)
	ErrorCode uint8       // General Error Code, where the message has one
	Cause     uint16      // Cause Code (Outgoing-Call-Reply, Call-Disconnect-Notify)
}

// Error reads like "server refused the call: Outgoing-Call-Reply result 7 (Not Accepted),
// error 0 (None)". The error code is shown for replies always and for a
// Call-Disconnect-Notify when it is not zero; the cause only when not zero.
func (e *ResultError) Error() string {
	word := "result"
	if e.Type == TypeStopCCRQ {
		word = "reason"
	}
	s := fmt.Sprintf("%s: %v %s %d (%s)", e.Op, e.Type, word, e.Result, ResultText(e.Type, e.Result))
	switch e.Type {
	case TypeSCCRP, TypeStopCCRP, TypeEchoRP, TypeOCRP, TypeICRP:
		s += fmt.Sprintf(", error %d (%s)", e.ErrorCode, ErrorText(e.ErrorCode))
	case TypeCDN:
		if e.ErrorCode != 0 {
			s += fmt.Sprintf(", error %d (%s)", e.ErrorCode, ErrorText(e.ErrorCode))
		}
	}
	if e.Cause != 0 {
		s += ", cause " + strconv.Itoa(int(e.Cause))
	}
	return s
}
