#!/usr/bin/env bash
# The whole test suite, as README command two and .ci/run use it. Needs root: network
# namespaces, TUN devices, raw GRE sockets and the refvm reference peer (User-Mode Linux).
# Installs what it needs on a fresh Debian machine; prints go test's own summary lines.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
refvm=${REFVM:-$top/../shared/refvm/refvm}

if [ "$(id -u)" != 0 ]; then
	echo "test.sh: the suite needs root (network namespaces, TUN, raw sockets); run: sudo make test" >&2
	exit 1
fi

# Tools the end-to-end tests drive.
missing=()
command -v ip >/dev/null || missing+=(iproute2)
command -v ping >/dev/null || missing+=(iputils-ping)
command -v iperf3 >/dev/null || missing+=(iperf3)
command -v curl >/dev/null || missing+=(curl)
command -v nft >/dev/null || missing+=(nftables) # the GRE fast path must step aside for a firewall
# pptp setup is byte-compared with pptp-linux's pptpsetup; the .deb test (internal/e2e
# TestDebPackage) checks the package with lintian, the units with systemd-analyze and
# NetworkManager-pptp's dependency with dpkg-checkbuilddeps.
command -v pptpsetup >/dev/null || missing+=(pptp-linux)
command -v lintian >/dev/null || missing+=(lintian)
command -v dpkg-checkbuilddeps >/dev/null || missing+=(dpkg-dev)
command -v systemd-analyze >/dev/null || missing+=(systemd)
command -v nsenter >/dev/null || missing+=(util-linux)
command -v systemd-nspawn >/dev/null || missing+=(systemd-container) # boots the package's root under systemd
command -v freeradius >/dev/null || missing+=(freeradius)        # the RADIUS tests run the real FreeRADIUS 3.2
command -v radclient >/dev/null || missing+=(freeradius-utils) # radclient sends their Disconnect-Requests
command -v danted >/dev/null || missing+=(dante-server) # upstream SOCKS5 proxy for pptpd's netstack egress
command -v tinyproxy >/dev/null || missing+=(tinyproxy)  # upstream HTTP CONNECT proxy, likewise
if [ ${#missing[@]} -gt 0 ]; then
	echo "== installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The real peer: Debian's pptpd/pppd/pptp-linux in User-Mode Linux (built once per machine).
if [ ! -x "$refvm" ]; then
	echo "test.sh: $refvm not found: the shared folder must sit beside the repository" >&2
	exit 1
fi
if [ ! -e "${REFVM_CACHE:-/var/tmp/refvm}/rootfs/.refvm-complete" ]; then
	echo "== building the refvm reference peer (once per machine, ~3 min)"
	"$refvm" build >/tmp/refvm-build.log 2>&1 || { tail -20 /tmp/refvm-build.log; exit 1; }
fi

echo "== static checks"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt needed: $unformatted" >&2; exit 1; fi
go vet ./...

echo "== building binaries"
make -s build

echo "== unit tests"
go test -count=1 -timeout 15m $(go list ./... | grep -v -e /internal/e2e -e /internal/interop)

echo "== end-to-end tests (network namespaces) and interop tests (refvm), one package at a time"
PPTP_BIN=$top/bin/pptp PPTPD_BIN=$top/bin/pptpd REFVM=$refvm \
	go test -count=1 -p 1 -timeout 25m ./internal/e2e/... ./internal/interop/...
