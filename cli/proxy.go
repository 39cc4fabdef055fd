// SPDX-License-Identifier: MIT

package cli

import "context"

// runProxy is the TUN-less mode: SOCKS5/HTTP proxies over a user-space TCP/IP stack.
func runProxy(ctx context.Context, log *logger, s *clientSettings) int {
	log.Logf("proxy mode (--socks/--http-proxy) is not available in this build yet; use the TUN mode")
	return exitOptions
}
