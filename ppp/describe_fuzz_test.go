// SPDX-License-Identifier: MIT

package ppp

import "testing"

// FuzzDescribePacket: the debug log's decoder takes whatever the peer sends, in every
// protocol, without panicking.
func FuzzDescribePacket(f *testing.F) {
	f.Add(uint16(ProtoLCP), appendPacket(nil, CodeConfigureRequest, 1, append([]byte{LCPOptMRU, 4, 5, 0x78}, rrasOptions...)))
	f.Add(uint16(ProtoLCP), appendPacket(nil, CodeTimeRemaining, 2, []byte{0, 0, 0, 0, 0, 0, 1, 0, 'x'}))
	f.Add(uint16(ProtoLCP), appendPacket(nil, CodeIdentification, 2, []byte{0, 0, 0, 0, 'w'}))
	f.Add(uint16(ProtoCCP), appendPacket(nil, CodeConfigureRequest, 1, []byte{ccpMPPE, 6, 1, 0, 0, 0x41}))
	f.Add(uint16(ProtoIPCP), appendPacket(nil, CodeConfigureNak, 1, []byte{ipcpAddress, 6, 10, 0, 0, 1}))
	f.Fuzz(func(t *testing.T, proto uint16, info []byte) {
		_ = describePacket(proto, info)
	})
}
