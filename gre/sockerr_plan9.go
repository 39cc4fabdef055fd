// SPDX-License-Identifier: MIT

package gre

// Plan 9 has no errno: every WriteBatch error ends the Link, and no ReadBatch error is
// transient.

func sendFailure(err error) (sendFault, error)            { return sendFatal, err }
func recvFailure(err error) (errno error, transient bool) { return err, false }
