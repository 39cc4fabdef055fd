// SPDX-License-Identifier: MIT

package control

// Each message type below is a view of a whole message, header included. Getters and
// setters assume the slice is at least as long as the type's size, which ReadMessage
// guarantees for the control type it reports. Init sets the header (Length, message type
// 1, magic cookie, control type) and zeroes the body.

// Framing and bearer capability bits (RFC 2637 §2.1, §2.2).
const (
	FramingAsync  = 1
	FramingSync   = 2
	BearerAnalog  = 1
	BearerDigital = 2
)

// Offsets shared by SCCRQ and SCCRP.
const (
	sccVersion     = 12
	sccrqReserved1 = 14
	sccrpResult    = 14
	sccrpError     = 15
	sccFraming     = 16
	sccBearer      = 20
	sccMaxChannels = 24
	sccFirmware    = 26
	sccHostName    = 28
	sccVendor      = 92
	sccEnd         = 156
	nameLen        = 64
)

// SCCRQ is a Start-Control-Connection-Request.
type SCCRQ []byte

func (m SCCRQ) Init()                       { initMessage(m, TypeSCCRQ) }
func (m SCCRQ) Header() Header              { return Header(m) }
func (m SCCRQ) ProtocolVersion() uint16     { return be16(m, sccVersion) }
func (m SCCRQ) FramingCapabilities() uint32 { return be32(m, sccFraming) }
func (m SCCRQ) BearerCapabilities() uint32  { return be32(m, sccBearer) }
func (m SCCRQ) MaxChannels() uint16         { return be16(m, sccMaxChannels) }
func (m SCCRQ) FirmwareRevision() uint16    { return be16(m, sccFirmware) }
func (m SCCRQ) HostName() []byte            { return cstr(m[sccHostName:sccVendor]) }
func (m SCCRQ) Vendor() []byte              { return cstr(m[sccVendor:sccEnd]) }

func (m SCCRQ) SetProtocolVersion(v uint16)     { put16(m, sccVersion, v) }
func (m SCCRQ) SetFramingCapabilities(v uint32) { put32(m, sccFraming, v) }
func (m SCCRQ) SetBearerCapabilities(v uint32)  { put32(m, sccBearer, v) }
func (m SCCRQ) SetMaxChannels(v uint16)         { put16(m, sccMaxChannels, v) }
func (m SCCRQ) SetFirmwareRevision(v uint16)    { put16(m, sccFirmware, v) }
func (m SCCRQ) SetHostName(s string)            { putString(m[sccHostName:sccVendor], s) }
func (m SCCRQ) SetVendor(s string)              { putString(m[sccVendor:sccEnd], s) }

// SCCRP is a Start-Control-Connection-Reply.
type SCCRP []byte

func (m SCCRP) Init()                       { initMessage(m, TypeSCCRP) }
func (m SCCRP) Header() Header              { return Header(m) }
func (m SCCRP) ProtocolVersion() uint16     { return be16(m, sccVersion) }
func (m SCCRP) ResultCode() uint8           { return m[sccrpResult] }
func (m SCCRP) ErrorCode() uint8            { return m[sccrpError] }
func (m SCCRP) FramingCapabilities() uint32 { return be32(m, sccFraming) }
func (m SCCRP) BearerCapabilities() uint32  { return be32(m, sccBearer) }
func (m SCCRP) MaxChannels() uint16         { return be16(m, sccMaxChannels) }
func (m SCCRP) FirmwareRevision() uint16    { return be16(m, sccFirmware) }
func (m SCCRP) HostName() []byte            { return cstr(m[sccHostName:sccVendor]) }
func (m SCCRP) Vendor() []byte              { return cstr(m[sccVendor:sccEnd]) }

func (m SCCRP) SetProtocolVersion(v uint16)     { put16(m, sccVersion, v) }
func (m SCCRP) SetResultCode(v uint8)           { m[sccrpResult] = v }
func (m SCCRP) SetErrorCode(v uint8)            { m[sccrpError] = v }
func (m SCCRP) SetFramingCapabilities(v uint32) { put32(m, sccFraming, v) }
func (m SCCRP) SetBearerCapabilities(v uint32)  { put32(m, sccBearer, v) }
func (m SCCRP) SetMaxChannels(v uint16)         { put16(m, sccMaxChannels, v) }
func (m SCCRP) SetFirmwareRevision(v uint16)    { put16(m, sccFirmware, v) }
func (m SCCRP) SetHostName(s string)            { putString(m[sccHostName:sccVendor], s) }
func (m SCCRP) SetVendor(s string)              { putString(m[sccVendor:sccEnd], s) }

// Offsets of the two Stop-Control-Connection messages.
const (
	stopReason = 12 // Request: Reason; Reply: Result Code
	stopError  = 13 // Reply only
)

// StopCCRQ is a Stop-Control-Connection-Request.
type StopCCRQ []byte

func (m StopCCRQ) Init()             { initMessage(m, TypeStopCCRQ) }
func (m StopCCRQ) Reason() uint8     { return m[stopReason] }
func (m StopCCRQ) SetReason(v uint8) { m[stopReason] = v }

// StopCCRP is a Stop-Control-Connection-Reply.
type StopCCRP []byte

func (m StopCCRP) Init()                 { initMessage(m, TypeStopCCRP) }
func (m StopCCRP) ResultCode() uint8     { return m[stopReason] }
func (m StopCCRP) ErrorCode() uint8      { return m[stopError] }
func (m StopCCRP) SetResultCode(v uint8) { m[stopReason] = v }
func (m StopCCRP) SetErrorCode(v uint8)  { m[stopError] = v }

// Offsets of the echo messages.
const (
	echoIdentifier = 12
	echoRPResult   = 16
	echoRPError    = 17
)

// EchoRequest is an Echo-Request.
type EchoRequest []byte

func (m EchoRequest) Init()                  { initMessage(m, TypeEchoRQ) }
func (m EchoRequest) Identifier() uint32     { return be32(m, echoIdentifier) }
func (m EchoRequest) SetIdentifier(v uint32) { put32(m, echoIdentifier, v) }

// EchoReply is an Echo-Reply.
type EchoReply []byte

func (m EchoReply) Init()                  { initMessage(m, TypeEchoRP) }
func (m EchoReply) Identifier() uint32     { return be32(m, echoIdentifier) }
func (m EchoReply) ResultCode() uint8      { return m[echoRPResult] }
func (m EchoReply) ErrorCode() uint8       { return m[echoRPError] }
func (m EchoReply) SetIdentifier(v uint32) { put32(m, echoIdentifier, v) }
func (m EchoReply) SetResultCode(v uint8)  { m[echoRPResult] = v }
func (m EchoReply) SetErrorCode(v uint8)   { m[echoRPError] = v }

// Offsets of an Outgoing-Call-Request.
const (
	ocrqCallID     = 12
	ocrqSerial     = 14
	ocrqMinBPS     = 16
	ocrqMaxBPS     = 20
	ocrqBearer     = 24
	ocrqFraming    = 28
	ocrqRecvWindow = 32
	ocrqProcDelay  = 34
	ocrqPhoneLen   = 36
	ocrqPhone      = 40
	ocrqSubaddress = 104
	ocrqEnd        = 168
)

// OCRQ is an Outgoing-Call-Request.
type OCRQ []byte

func (m OCRQ) Init()                     { initMessage(m, TypeOCRQ) }
func (m OCRQ) CallID() uint16            { return be16(m, ocrqCallID) }
func (m OCRQ) CallSerialNumber() uint16  { return be16(m, ocrqSerial) }
func (m OCRQ) MinimumBPS() uint32        { return be32(m, ocrqMinBPS) }
func (m OCRQ) MaximumBPS() uint32        { return be32(m, ocrqMaxBPS) }
func (m OCRQ) BearerType() uint32        { return be32(m, ocrqBearer) }
func (m OCRQ) FramingType() uint32       { return be32(m, ocrqFraming) }
func (m OCRQ) RecvWindow() uint16        { return be16(m, ocrqRecvWindow) }
func (m OCRQ) ProcessingDelay() uint16   { return be16(m, ocrqProcDelay) }
func (m OCRQ) PhoneNumberLength() uint16 { return be16(m, ocrqPhoneLen) }
func (m OCRQ) Subaddress() []byte        { return cstr(m[ocrqSubaddress:ocrqEnd]) }

// PhoneNumber is the Phone Number field up to its first NUL (the length field is not
// trusted: peers disagree on whether it counts the NUL).
func (m OCRQ) PhoneNumber() []byte { return cstr(m[ocrqPhone:ocrqSubaddress]) }

func (m OCRQ) SetCallID(v uint16)           { put16(m, ocrqCallID, v) }
func (m OCRQ) SetCallSerialNumber(v uint16) { put16(m, ocrqSerial, v) }
func (m OCRQ) SetMinimumBPS(v uint32)       { put32(m, ocrqMinBPS, v) }
func (m OCRQ) SetMaximumBPS(v uint32)       { put32(m, ocrqMaxBPS, v) }
func (m OCRQ) SetBearerType(v uint32)       { put32(m, ocrqBearer, v) }
func (m OCRQ) SetFramingType(v uint32)      { put32(m, ocrqFraming, v) }
func (m OCRQ) SetRecvWindow(v uint16)       { put16(m, ocrqRecvWindow, v) }
func (m OCRQ) SetProcessingDelay(v uint16)  { put16(m, ocrqProcDelay, v) }
func (m OCRQ) SetSubaddress(s string)       { putString(m[ocrqSubaddress:ocrqEnd], s) }

// SetPhoneNumber sets the Phone Number (truncated to 64 bytes) and its length field.
func (m OCRQ) SetPhoneNumber(s string) {
	f := m[ocrqPhone:ocrqSubaddress]
	putString(f, s)
	put16(m, ocrqPhoneLen, uint16(min(len(s), len(f))))
}

// Offsets of an Outgoing-Call-Reply.
const (
	ocrpCallID     = 12
	ocrpPeerCallID = 14
	ocrpResult     = 16
	ocrpError      = 17
	ocrpCause      = 18
	ocrpSpeed      = 20
	ocrpRecvWindow = 24
	ocrpProcDelay  = 26
	ocrpChannel    = 28
)

// OCRP is an Outgoing-Call-Reply.
type OCRP []byte

func (m OCRP) Init()                     { initMessage(m, TypeOCRP) }
func (m OCRP) CallID() uint16            { return be16(m, ocrpCallID) }
func (m OCRP) PeerCallID() uint16        { return be16(m, ocrpPeerCallID) }
func (m OCRP) ResultCode() uint8         { return m[ocrpResult] }
func (m OCRP) ErrorCode() uint8          { return m[ocrpError] }
func (m OCRP) CauseCode() uint16         { return be16(m, ocrpCause) }
func (m OCRP) ConnectSpeed() uint32      { return be32(m, ocrpSpeed) }
func (m OCRP) RecvWindow() uint16        { return be16(m, ocrpRecvWindow) }
func (m OCRP) ProcessingDelay() uint16   { return be16(m, ocrpProcDelay) }
func (m OCRP) PhysicalChannelID() uint32 { return be32(m, ocrpChannel) }

func (m OCRP) SetCallID(v uint16)            { put16(m, ocrpCallID, v) }
func (m OCRP) SetPeerCallID(v uint16)        { put16(m, ocrpPeerCallID, v) }
func (m OCRP) SetResultCode(v uint8)         { m[ocrpResult] = v }
func (m OCRP) SetErrorCode(v uint8)          { m[ocrpError] = v }
func (m OCRP) SetCauseCode(v uint16)         { put16(m, ocrpCause, v) }
func (m OCRP) SetConnectSpeed(v uint32)      { put32(m, ocrpSpeed, v) }
func (m OCRP) SetRecvWindow(v uint16)        { put16(m, ocrpRecvWindow, v) }
func (m OCRP) SetProcessingDelay(v uint16)   { put16(m, ocrpProcDelay, v) }
func (m OCRP) SetPhysicalChannelID(v uint32) { put32(m, ocrpChannel, v) }

// Offsets of an Incoming-Call-Request.
const (
	icrqCallID     = 12
	icrqSerial     = 14
	icrqBearer     = 16
	icrqChannel    = 20
	icrqDialedLen  = 24
	icrqDialingLen = 26
	icrqDialed     = 28
	icrqDialing    = 92
	icrqSubaddress = 156
	icrqEnd        = 220
)

// ICRQ is an Incoming-Call-Request.
type ICRQ []byte

func (m ICRQ) Init()                     { initMessage(m, TypeICRQ) }
func (m ICRQ) CallID() uint16            { return be16(m, icrqCallID) }
func (m ICRQ) CallSerialNumber() uint16  { return be16(m, icrqSerial) }
func (m ICRQ) BearerType() uint32        { return be32(m, icrqBearer) }
func (m ICRQ) PhysicalChannelID() uint32 { return be32(m, icrqChannel) }
func (m ICRQ) DialedNumber() []byte      { return cstr(m[icrqDialed:icrqDialing]) }
func (m ICRQ) DialingNumber() []byte     { return cstr(m[icrqDialing:icrqSubaddress]) }
func (m ICRQ) Subaddress() []byte        { return cstr(m[icrqSubaddress:icrqEnd]) }

func (m ICRQ) SetCallID(v uint16) { put16(m, icrqCallID, v) }

// Offsets of an Incoming-Call-Reply.
const (
	icrpCallID     = 12
	icrpPeerCallID = 14
	icrpResult     = 16
	icrpError      = 17
	icrpRecvWindow = 18
	icrpTxDelay    = 20
)

// ICRP is an Incoming-Call-Reply.
type ICRP []byte

func (m ICRP) Init()              { initMessage(m, TypeICRP) }
func (m ICRP) CallID() uint16     { return be16(m, icrpCallID) }
func (m ICRP) PeerCallID() uint16 { return be16(m, icrpPeerCallID) }
func (m ICRP) ResultCode() uint8  { return m[icrpResult] }
func (m ICRP) ErrorCode() uint8   { return m[icrpError] }
func (m ICRP) RecvWindow() uint16 { return be16(m, icrpRecvWindow) }

func (m ICRP) SetCallID(v uint16)     { put16(m, icrpCallID, v) }
func (m ICRP) SetPeerCallID(v uint16) { put16(m, icrpPeerCallID, v) }
func (m ICRP) SetResultCode(v uint8)  { m[icrpResult] = v }
func (m ICRP) SetErrorCode(v uint8)   { m[icrpError] = v }
func (m ICRP) SetRecvWindow(v uint16) { put16(m, icrpRecvWindow, v) }

// Offsets of an Incoming-Call-Connected.
const (
	iccnPeerCallID = 12
	iccnSpeed      = 16
	iccnRecvWindow = 20
	iccnTxDelay    = 22
	iccnFraming    = 24
)

// ICCN is an Incoming-Call-Connected.
type ICCN []byte

func (m ICCN) Init()                { initMessage(m, TypeICCN) }
func (m ICCN) PeerCallID() uint16   { return be16(m, iccnPeerCallID) }
func (m ICCN) ConnectSpeed() uint32 { return be32(m, iccnSpeed) }
func (m ICCN) RecvWindow() uint16   { return be16(m, iccnRecvWindow) }
func (m ICCN) FramingType() uint32  { return be32(m, iccnFraming) }

// Offsets of a Call-Clear-Request.
const ccrqCallID = 12

// CCRQ is a Call-Clear-Request. Its Call ID is the one the PNS (client) chose.
type CCRQ []byte

func (m CCRQ) Init()              { initMessage(m, TypeCCRQ) }
func (m CCRQ) CallID() uint16     { return be16(m, ccrqCallID) }
func (m CCRQ) SetCallID(v uint16) { put16(m, ccrqCallID, v) }

// Offsets of a Call-Disconnect-Notify.
const (
	cdnCallID = 12
	cdnResult = 14
	cdnError  = 15
	cdnCause  = 16
	cdnStats  = 20
	cdnEnd    = 148
)

// CDN is a Call-Disconnect-Notify. Its Call ID is the one the PAC (server) chose.
type CDN []byte

func (m CDN) Init()             { initMessage(m, TypeCDN) }
func (m CDN) CallID() uint16    { return be16(m, cdnCallID) }
func (m CDN) ResultCode() uint8 { return m[cdnResult] }
func (m CDN) ErrorCode() uint8  { return m[cdnError] }
func (m CDN) CauseCode() uint16 { return be16(m, cdnCause) }

// CallStatistics is the vendor-defined Call Statistics text up to its first NUL.
func (m CDN) CallStatistics() []byte { return cstr(m[cdnStats:cdnEnd]) }

func (m CDN) SetCallID(v uint16)         { put16(m, cdnCallID, v) }
func (m CDN) SetResultCode(v uint8)      { m[cdnResult] = v }
func (m CDN) SetErrorCode(v uint8)       { m[cdnError] = v }
func (m CDN) SetCauseCode(v uint16)      { put16(m, cdnCause, v) }
func (m CDN) SetCallStatistics(s string) { putString(m[cdnStats:cdnEnd], s) }

// Offsets of a WAN-Error-Notify.
const (
	wenPeerCallID = 12
	wenCRC        = 16
	wenFraming    = 20
	wenHWOverrun  = 24
	wenBufOverrun = 28
	wenTimeout    = 32
	wenAlignment  = 36
)

// WANErrorNotify is a WAN-Error-Notify (PAC to PNS).
type WANErrorNotify []byte

func (m WANErrorNotify) Init()                    { initMessage(m, TypeWEN) }
func (m WANErrorNotify) PeerCallID() uint16       { return be16(m, wenPeerCallID) }
func (m WANErrorNotify) CRCErrors() uint32        { return be32(m, wenCRC) }
func (m WANErrorNotify) FramingErrors() uint32    { return be32(m, wenFraming) }
func (m WANErrorNotify) HardwareOverruns() uint32 { return be32(m, wenHWOverrun) }
func (m WANErrorNotify) BufferOverruns() uint32   { return be32(m, wenBufOverrun) }
func (m WANErrorNotify) TimeoutErrors() uint32    { return be32(m, wenTimeout) }
func (m WANErrorNotify) AlignmentErrors() uint32  { return be32(m, wenAlignment) }

func (m WANErrorNotify) SetPeerCallID(v uint16) { put16(m, wenPeerCallID, v) }
func (m WANErrorNotify) SetCRCErrors(v uint32)  { put32(m, wenCRC, v) }

// Offsets of a Set-Link-Info.
const (
	sliPeerCallID = 12
	sliSendACCM   = 16
	sliRecvACCM   = 20
)

// SetLinkInfo is a Set-Link-Info (PNS to PAC; pptp-linux's BEZEQ_ISRAEL quirk sends it).
type SetLinkInfo []byte

func (m SetLinkInfo) Init()                   { initMessage(m, TypeSLI) }
func (m SetLinkInfo) PeerCallID() uint16      { return be16(m, sliPeerCallID) }
func (m SetLinkInfo) SendACCM() uint32        { return be32(m, sliSendACCM) }
func (m SetLinkInfo) ReceiveACCM() uint32     { return be32(m, sliRecvACCM) }
func (m SetLinkInfo) SetPeerCallID(v uint16)  { put16(m, sliPeerCallID, v) }
func (m SetLinkInfo) SetSendACCM(v uint32)    { put32(m, sliSendACCM, v) }
func (m SetLinkInfo) SetReceiveACCM(v uint32) { put32(m, sliRecvACCM, v) }
