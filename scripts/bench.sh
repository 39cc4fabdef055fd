#!/usr/bin/env bash
# The performance bench of issue 7: two network namespaces joined by a veth pair, measured back
# to back in one run over
#   1. the bare veth (the physical limit here),
#   2. wireguard-go (the bar: the best user-space VPN in Go),
#   3. our pptp <-> our pptpd with no MPPE, MPPE-128 stateless and MPPE-128 stateful, and the
#      library's netstack mode (pptp.Dial, no TUN; TCP only, one Go stream each way),
# For each: iperf3 TCP (1 and 4 streams, both directions), UDP packets/s with 64-byte and
# 1400-byte IP packets, ping RTT idle and under load, CPU seconds per GB on each side, client
# RSS under load and (tunnels) connect time; 4. connect time of our client against Debian's
# pptpd in refvm next to pptp-linux + pppd's; 5. server scale (1000 sessions into one pptpd).
# Prints one table with each tunnel's ratio to
# wireguard-go and writes the same as JSON (bench.json, or --json PATH).
#
# Usage: sudo scripts/bench.sh [--json PATH] [--time SECS] [--rounds N] [--perf DIR] [--pprof DIR] [--only LIST]
#   --time SECS   length of each iperf3 test (default 4)
#   --rounds N    measure sections 1-3 N times, the configs in turn each round, and report
#                 each metric's median (default 1; wireguard-go alone moves by 15-20 % between
#                 runs, so single-run ratios carry that noise)
#   --perf DIR    also record `perf` CPU profiles of pptp and pptpd during the 1-stream upload
#                 (unstripped binaries are built for it); reports land in DIR
#   --pprof DIR   also write Go CPU profiles of pptp and pptpd over their whole run (all the
#                 tests of a config) and `go tool pprof -top` summaries into DIR
#   --bin DIR     measure the pptp and pptpd in DIR instead of building them (A/B against
#                 another build: run it for each build in turn)
#   --only LIST   comma-separated subset of: veth,wireguard,pptp-nomppe,pptp-stateless,pptp-stateful,
#                 pptp-ipv6 (pptp-stateless carrying IPv6 to a host behind the server),
#                 pptpd-netstack (the server's egress netstack mode: no TUN on the server),
#                 pptp-netstack (the library without a TUN: one Go TCP stream each way),
#                 refvm-connect (connect time vs pptp-linux + pppd; needs `../shared/refvm/refvm build`),
#                 scale (SCALE_N=1000 sessions into one pptpd: set-ups/s, RSS per session),
#                 scale-egress (SCALE_EGRESS_N=100 sessions with egress netstack, a TCP flow each)
# Removes every namespace, interface and process it started, also after Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

json_out=$PWD/bench.json
T=4
rounds=1
perf_dir=
pprof_dir=
bin_dir=
only=veth,wireguard,pptp-nomppe,pptp-stateless,pptp-stateful,pptp-ipv6,pptpd-netstack,pptp-netstack,refvm-connect,scale,scale-egress
while [ $# -gt 0 ]; do
	case $1 in
	--json) json_out=$2; shift 2 ;;
	--json=*) json_out=${1#*=}; shift ;;
	--time) T=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--perf) perf_dir=$2; shift 2 ;;
	--pprof) pprof_dir=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	--bin) bin_dir=$2; shift 2 ;;
	-h | --help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
case $json_out in /*) ;; *) json_out=$OLDPWD/$json_out ;; esac
[[ $rounds =~ ^[1-9][0-9]?$ ]] || { echo "bench: --rounds takes 1 to 99, not '$rounds'" >&2; exit 2; }
[[ $T =~ ^[1-9][0-9]*$ ]] || { echo "bench: --time takes whole seconds, not '$T'" >&2; exit 2; }

if [ "$(id -u)" != 0 ]; then
	echo "bench: run as root (network namespaces, TUN, raw GRE sockets): sudo make bench" >&2
	exit 1
fi

SRV=pptpbench-srv CLI=pptpbench-cli
OUTER_SRV=198.18.0.1 OUTER_CLI=198.18.0.2 # RFC 2544 benchmark range, only inside our namespaces
WG_SRV=10.98.0.1 WG_CLI=10.98.0.2
# Distinct names: wireguard-go's control socket is /var/run/wireguard/NAME.sock, shared by
# every namespace, so two "wg0" would answer each other's `wg set`.
WG_IF_SRV=pptpbench-wg0 WG_IF_CLI=pptpbench-wg1
PPP_LOCAL=10.99.0.1 PPP_POOL=10.99.0.100-109
BEHIND6=2001:db8:b6:ff::1 # pptp-ipv6: a host behind the server, in the session prefixes' /56
WG_VERSION=v0.0.0-20260522210424-ecfc5a8d5446 # golang.zx2c4.com/wireguard, pinned
WG_BIN=/var/tmp/pptp-bench/bin
HZ=$(getconf CLK_TCK)
work=$(mktemp -d /tmp/pptpbench.XXXXXX)
# Our binaries read options and ip-up/ip-down scripts from here, not from the host's /etc/ppp.
export PPTP_GO_PPPDIR="$work/ppp"; mkdir -p "$PPTP_GO_PPPDIR"
pids=()

say() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }

stop_pid() { # SIGINT, then SIGKILL after 5 s
	local p=$1
	kill -INT "$p" 2>/dev/null || return 0
	for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
}
cleanup() {
	set +e
	for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do
		for _ in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	for ns in $SRV $CLI; do
		ip netns pids $ns 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del $ns 2>/dev/null
	done
	rm -f /var/run/wireguard/$WG_IF_SRV.sock /var/run/wireguard/$WG_IF_CLI.sock
	[ "${refvm_up:-0}" = 1 ] && "$refvm" server stop >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
trap 'echo >&2; say "interrupted: cleaning up"; exit 130' INT TERM

# ---- tools -------------------------------------------------------------------------------
apt_install() { # package command
	command -v "$2" >/dev/null && return 0
	say "installing $1"
	export DEBIAN_FRONTEND=noninteractive
	{ apt-get update -qq && apt-get install -y -qq "$1"; } >"$work/apt.log" 2>&1 || true
	command -v "$2" >/dev/null || { tail -5 "$work/apt.log" >&2; die "could not install $1 (needed for $2)"; }
}
apt_install iproute2 ip
apt_install iputils-ping ping
apt_install iperf3 iperf3
apt_install jq jq
apt_install wireguard-tools wg
if [ -n "$perf_dir" ]; then apt_install linux-perf perf; fi
command -v go >/dev/null || [ -x /usr/local/go/bin/go ] || die "go is needed (to build pptp and wireguard-go)"
export PATH=$PATH:/usr/local/go/bin
wggo=$WG_BIN/wireguard-go
if [ ! -x "$wggo" ] || [ "$(cat "$WG_BIN/.version" 2>/dev/null)" != "$WG_VERSION" ]; then
	say "building wireguard-go $WG_VERSION (outside our module)"
	mkdir -p "$WG_BIN"
	# The main package is the module root; go install names the binary "wireguard".
	(cd "$work" && GOFLAGS= GOBIN=$WG_BIN go install "golang.zx2c4.com/wireguard@$WG_VERSION") \
		>"$work/wggo.log" 2>&1 || { tail -5 "$work/wggo.log" >&2; die "could not build wireguard-go"; }
	mv "$WG_BIN/wireguard" "$wggo"
	echo "$WG_VERSION" >"$WG_BIN/.version"
fi

pptp=$top/bin/pptp pptpd=$top/bin/pptpd
if [ -n "$pprof_dir" ]; then
	case $pprof_dir in /*) ;; *) pprof_dir=$OLDPWD/$pprof_dir ;; esac
	mkdir -p "$pprof_dir"
fi
if [ -n "$perf_dir" ]; then
	say "building unstripped pptp/pptpd for perf"
	go build -o "$work/pptp" ./cmd/pptp && go build -o "$work/pptpd" ./cmd/pptpd
	pptp=$work/pptp pptpd=$work/pptpd
	case $perf_dir in /*) ;; *) perf_dir=$OLDPWD/$perf_dir ;; esac
	mkdir -p "$perf_dir"
elif [ -n "$bin_dir" ]; then
	case $bin_dir in /*) ;; *) bin_dir=$OLDPWD/$bin_dir ;; esac
	pptp=$bin_dir/pptp pptpd=$bin_dir/pptpd
	[ -x "$pptp" ] && [ -x "$pptpd" ] || die "--bin $bin_dir: no pptp and pptpd there"
else
	make -s build # always: a stale bin/ would measure another tree
fi

# ---- network -----------------------------------------------------------------------------
say "network: $SRV ($OUTER_SRV) <-veth-> $CLI ($OUTER_CLI)"
for ns in $SRV $CLI; do ip netns del $ns 2>/dev/null || true; done
ip netns add $SRV
ip netns add $CLI
ip -n $SRV link set lo up
ip -n $CLI link set lo up
ip link add pptpbench0 netns $SRV type veth peer name pptpbench1 netns $CLI
ip -n $SRV addr add $OUTER_SRV/24 dev pptpbench0
ip -n $SRV link set pptpbench0 up
ip -n $CLI addr add $OUTER_CLI/24 dev pptpbench1
ip -n $CLI link set pptpbench1 up

ip netns exec $SRV iperf3 -s -D -I "$work/iperf3.pid" >/dev/null 2>&1
sleep 0.3
pids+=("$(cat "$work/iperf3.pid")")

# ---- measurement helpers -----------------------------------------------------------------
declare -A R # R[config.metric] = value ("null" when not measured)

cpu_ticks() { # utime+stime of a process, in clock ticks (0 when there is none)
	[ -n "${1:-}" ] || { echo 0; return; }
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
machine_ticks() { # "busy total" clock ticks of all CPUs from /proc/stat (busy: not idle, not iowait)
	awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
ping_avg() { # ns dest count interval -> average RTT in ms
	ip netns exec "$1" ping -q -c "$3" -i "$4" -W 2 "$2" 2>/dev/null |
		awk -F/ '/^(rtt|round-trip)/ { print $5; found=1 } END { if (!found) print "null" }'
}
iperf() { # dest outfile iperf3-args...: client side, JSON
	local dst=$1 out=$2
	shift 2
	ip netns exec $CLI iperf3 -c "$dst" -t "$T" -J "$@" >"$out" 2>/dev/null || {
		sleep 1 # the server may still be closing the last test
		ip netns exec $CLI iperf3 -c "$dst" -t "$T" -J "$@" >"$out" 2>/dev/null || true
	}
}
jqn() { jq -r "$1 // \"null\"" "$2" 2>/dev/null || echo null; }

# suite CONFIG DEST CLIENT_PID SERVER_PID: every measurement over one tunnel (or the bare veth).
suite() {
	local c=$1 dst=$2 cpid=${3:-} spid=${4:-}
	local f=$work/$c
	say "$c: ping idle"
	R[$c.rtt_idle_ms]=$(ping_avg $CLI "$dst" 20 0.05)

	local c0 s0 m0 bytes=0 t
	c0=$(cpu_ticks "$cpid") s0=$(cpu_ticks "$spid") m0=$(machine_ticks)
	for t in tcp1_up tcp1_down tcp4_up tcp4_down; do
		local args=()
		case $t in *_down) args+=(-R) ;; esac
		case $t in tcp4*) args+=(-P 4) ;; esac
		say "$c: iperf3 ${t} (${T} s)"
		local rec=()
		if [ -n "$perf_dir" ] && [ "$t" = tcp1_up ] && [ -n "$cpid" ] && [[ $c == pptp-* ]]; then
			perf record -q -F 999 -g -p "$cpid" -o "$perf_dir/$c-client.data" -- sleep "$T" >/dev/null 2>&1 &
			rec+=($!)
			perf record -q -F 999 -g -p "$spid" -o "$perf_dir/$c-server.data" -- sleep "$T" >/dev/null 2>&1 &
			rec+=($!)
		fi
		if [ "$t" = tcp4_up ]; then
			# Ping and memory under load, while four streams fill the tunnel.
			(sleep 0.5; ping_avg $CLI "$dst" 20 0.1 >"$f.rttload") &
			local bg=($!) rss=0
			if [ -n "$cpid" ]; then
				(for _ in 1 2 3; do sleep 1; rss_kib "$cpid"; done >"$f.rss") &
				bg+=($!)
				(for _ in 1 2 3; do sleep 1; rss_kib "$spid"; done >"$f.srss") &
				bg+=($!)
			fi
			iperf "$dst" "$f.$t.json" "${args[@]}"
			wait "${bg[@]}" # only these: pptp and pptpd are children too
			R[$c.rtt_load_ms]=$(cat "$f.rttload")
			if [ -n "$cpid" ]; then
				rss=$(sort -n "$f.rss" | tail -1)
				R[$c.client_rss_mib]=$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')
				rss=$(sort -n "$f.srss" | tail -1)
				R[$c.server_rss_mib]=$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')
			else
				R[$c.client_rss_mib]=null R[$c.server_rss_mib]=null
			fi
		else
			iperf "$dst" "$f.$t.json" "${args[@]}"
		fi
		for p in "${rec[@]}"; do wait "$p" 2>/dev/null || true; done
		local bps
		bps=$(jqn '.end.sum_received.bits_per_second' "$f.$t.json")
		R[$c.${t}_mbps]=$(awk -v b="$bps" 'BEGIN { if (b == "null") print "null"; else printf "%.0f", b / 1e6 }')
		bytes=$((bytes + $(jq -r '.end.sum_received.bytes // 0 | floor' "$f.$t.json" 2>/dev/null || echo 0)))
	done
	local c1 s1 m1
	c1=$(cpu_ticks "$cpid") s1=$(cpu_ticks "$spid") m1=$(machine_ticks)
	# The whole machine (both tunnel ends, iperf3, the kernel's TCP, everything): how much CPU a
	# GB took, and how much of the cores stayed idle (a tunnel held back by waiting, not CPU).
	if [ "$bytes" -gt 0 ]; then
		read -r "R[$c.cpu_machine_s_per_gb]" "R[$c.idle_pct]" < <(awk -v a="$m0" -v b="$m1" -v hz="$HZ" -v by="$bytes" 'BEGIN {
			split(a, x, " "); split(b, y, " "); busy = y[1] - x[1]; all = y[2] - x[2]
			printf "%.2f %.1f\n", busy / hz / (by / 1e9), (all > 0 ? 100 * (all - busy) / all : 0) }')
	else
		R[$c.cpu_machine_s_per_gb]=null R[$c.idle_pct]=null
	fi
	if [ -n "$cpid" ] && [ "$bytes" -gt 0 ]; then
		R[$c.cpu_client_s_per_gb]=$(awk -v d=$((c1 - c0)) -v hz="$HZ" -v b="$bytes" 'BEGIN { printf "%.2f", d / hz / (b / 1e9) }')
		R[$c.cpu_server_s_per_gb]=$(awk -v d=$((s1 - s0)) -v hz="$HZ" -v b="$bytes" 'BEGIN { printf "%.2f", d / hz / (b / 1e9) }')
	else
		R[$c.cpu_client_s_per_gb]=null R[$c.cpu_server_s_per_gb]=null
	fi

	# UDP: -l is the datagram payload, so 36 and 1372 make 64- and 1400-byte IP packets, which
	# fit both tunnels' MTU without fragmenting.
	local size len hdr=28 # IPv4 + UDP headers; IPv6's is 20 bytes longer
	[[ $dst == *:* ]] && hdr=48
	for size in 64 1400; do
		len=$((size - hdr))
		say "$c: iperf3 UDP ${size}-byte packets, unlimited rate (3 s)"
		ip netns exec $CLI iperf3 -c "$dst" -u -b 0 -l $len -t 3 -J >"$f.udp$size.json" 2>/dev/null || true
		# iperf3 3.12 puts the receiver's (the server's) counts in .end.sum.
		R[$c.udp${size}_kpps]=$(jq -r '.end.sum | if .packets then ((.packets - .lost_packets) / .seconds / 1000 * 10 | round / 10) else "null" end' "$f.udp$size.json" 2>/dev/null || echo null)
		R[$c.udp${size}_loss_pct]=$(jq -r '.end.sum.lost_percent // "null" | if . == "null" then . else (. * 10 | round / 10) end' "$f.udp$size.json" 2>/dev/null || echo null)
	done
}

wait_addr() { # ns dev pid -> 0 when dev has an IPv4 address, within 15 s
	for _ in $(seq 1 150); do
		ip -n "$1" -4 -o addr show dev "$2" 2>/dev/null | grep -q inet && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
now() { date +%s.%N; }

configs=()
round=1
add_config() { [ "$round" != 1 ] || configs+=("$1"); }
want() { [[ ",$only," == *",$1,"* ]]; }

declare -A S # S[config.metric] = the values of every round, one per line
sample_round() {
	local c m
	for c in "${configs[@]}"; do
		for m in "${metrics[@]}"; do S[$c.$m]+="${R[$c.$m]:-null}"$'\n'; done
	done
}
metrics=(tcp1_up_mbps tcp1_down_mbps tcp4_up_mbps tcp4_down_mbps udp64_kpps udp64_loss_pct
	udp1400_kpps udp1400_loss_pct rtt_idle_ms rtt_load_ms cpu_client_s_per_gb cpu_server_s_per_gb
	cpu_machine_s_per_gb idle_pct client_rss_mib server_rss_mib connect_s)

# Sections 1-3 are the body of this loop: each round measures every config in turn.
for round in $(seq 1 "$rounds"); do
[ "$rounds" = 1 ] || say "round $round of $rounds"

# ---- 1. bare veth ------------------------------------------------------------------------
if want veth; then
	add_config veth
	suite veth $OUTER_SRV
	R[veth.connect_s]=null
fi

# ---- 2. wireguard-go ---------------------------------------------------------------------
if want wireguard; then
	add_config wireguard
	say "wireguard: wireguard-go in both namespaces"
	umask 077
	wg genkey >"$work/wg-srv.key"
	wg genkey >"$work/wg-cli.key"
	umask 022
	t0=$(now)
	ip netns exec $SRV "$wggo" -f $WG_IF_SRV >"$work/wg-srv.log" 2>&1 &
	wsrv=$!
	pids+=($wsrv)
	ip netns exec $CLI "$wggo" -f $WG_IF_CLI >"$work/wg-cli.log" 2>&1 &
	wcli=$!
	pids+=($wcli)
	for _ in $(seq 1 50); do
		ip -n $SRV link show $WG_IF_SRV >/dev/null 2>&1 && ip -n $CLI link show $WG_IF_CLI >/dev/null 2>&1 && break
		sleep 0.1
	done
	ip netns exec $SRV wg set $WG_IF_SRV listen-port 51820 private-key "$work/wg-srv.key" \
		peer "$(wg pubkey <"$work/wg-cli.key")" allowed-ips $WG_CLI/32 endpoint $OUTER_CLI:51820
	ip netns exec $CLI wg set $WG_IF_CLI listen-port 51820 private-key "$work/wg-cli.key" \
		peer "$(wg pubkey <"$work/wg-srv.key")" allowed-ips $WG_SRV/32 endpoint $OUTER_SRV:51820
	ip -n $SRV addr add $WG_SRV/24 dev $WG_IF_SRV
	ip -n $SRV link set $WG_IF_SRV up
	ip -n $CLI addr add $WG_CLI/24 dev $WG_IF_CLI
	ip -n $CLI link set $WG_IF_CLI up
	t1=$(now)
	# WireGuard has no connect phase; this is the set-up time of both ends, for reference.
	R[wireguard.connect_s]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	ping_avg $CLI $WG_SRV 3 0.2 >/dev/null # handshake
	suite wireguard $WG_SRV "$wcli" "$wsrv"
	stop_pid "$wcli"
	stop_pid "$wsrv"
fi

# ---- 3. our pptp <-> our pptpd -----------------------------------------------------------
printf 'bench pptpd "bench-secret" *\n' >"$work/chap-secrets"
chmod 600 "$work/chap-secrets"
printf 'bench-secret\n' >"$work/password"
chmod 600 "$work/password"
printf 'test\n' >"$work/refvm-password" # refvm's default chap-secrets entry test/test
chmod 600 "$work/refvm-password"

run_pptp() { # config server-option-lines client-flags [pptpd.conf-lines [destination]]
	local c=$1 sopts=$2 cflags=$3 sconf=${4:-} dst=${5:-$PPP_LOCAL}
	add_config "$c"
	say "$c: pptpd in $SRV, pptp in $CLI"
	printf 'option %s\nlocalip %s\nremoteip %s\n%b' "$work/$c-options" $PPP_LOCAL $PPP_POOL "$sconf" >"$work/$c.conf"
	printf 'name pptpd\nrequire-mschap-v2\n%b\n' "$sopts" >"$work/$c-options"
	local penv=()
	[ -n "$pprof_dir" ] && penv=(env PPTP_GO_CPUPROFILE="$pprof_dir/$c-server.pprof")
	ip netns exec $SRV "${penv[@]}" "$pptpd" --fg --conf "$work/$c.conf" --chap-secrets "$work/chap-secrets" \
		--pidfile "$work/$c-pptpd.pid" >"$work/$c-pptpd.log" 2>&1 &
	local spid=$!
	pids+=($spid)
	for _ in $(seq 1 50); do ip netns exec $SRV ss -Hltn 'sport = :1723' 2>/dev/null | grep -q . && break; sleep 0.1; done
	local t0 t1
	t0=$(now)
	# shellcheck disable=SC2086 # cflags is a word list
	[ -n "$pprof_dir" ] && penv=(env PPTP_GO_CPUPROFILE="$pprof_dir/$c-client.pprof")
	ip netns exec $CLI "${penv[@]}" "$pptp" $OUTER_SRV --user bench --password-file "$work/password" $cflags \
		>"$work/$c-pptp.log" 2>&1 &
	local cpid=$!
	pids+=($cpid)
	if ! wait_addr $CLI pptp0 $cpid; then
		sed 's/^/   client: /' "$work/$c-pptp.log" >&2
		sed 's/^/   server: /' "$work/$c-pptpd.log" >&2
		die "$c: the tunnel did not come up"
	fi
	t1=$(now)
	R[$c.connect_s]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	if [[ $dst == *:* ]]; then # IPv6: the global address from the server's advertisement
		for _ in $(seq 1 100); do
			ip -n $CLI -6 -o addr show dev pptp0 scope global 2>/dev/null | grep -q inet6 && break
			sleep 0.1
		done
		ip -n $CLI -6 -o addr show dev pptp0 scope global | grep -q inet6 || die "$c: no IPv6 address from the Router Advertisement"
	fi
	sleep 0.3 # let the server finish configuring its side
	grep -ho 'MPPE [0-9]*-bit [a-z]*\|no encryption\|unencrypted' "$work/$c-pptpd.log" "$work/$c-pptp.log" 2>/dev/null |
		sort -u | sed "s/^/   $c negotiated: /" >&2 || true
	R[$c.mtu]=$(ip -n $CLI -o link show dev pptp0 | awk '{ for (i = 1; i < NF; i++) if ($i == "mtu") print $(i + 1) }')
	suite "$c" "$dst" "$cpid" "$spid"
	if [ -n "$perf_dir" ] && [ -e "$perf_dir/$c-client.data" ]; then
		for side in client server; do
			perf report -i "$perf_dir/$c-$side.data" --stdio --no-children --percent-limit 1.5 \
				--sort symbol 2>/dev/null | grep -v '^$' | head -60 >"$perf_dir/$c-$side.txt" || true
		done
	fi
	stop_pid "$cpid"
	stop_pid "$spid"
	if [ -n "$pprof_dir" ]; then
		for side in client server; do
			[ -s "$pprof_dir/$c-$side.pprof" ] &&
				go tool pprof -top -nodecount 40 "$pprof_dir/$c-$side.pprof" >"$pprof_dir/$c-$side.top.txt" 2>/dev/null
		done
	fi
}
want pptp-nomppe && run_pptp pptp-nomppe 'nomppe' '--nomppe'
want pptp-stateless && run_pptp pptp-stateless 'require-mppe-128' '--require-mppe-128'
want pptp-stateful && run_pptp pptp-stateful 'require-mppe-128\nmppe-stateful-only' \
	'--require-mppe-128 --mppe-stateful-only'
# pptpd-netstack: pptp-stateless with the server's sessions in user-space stacks (egress
# netstack, no TUN): iperf3 flows are re-originated by pptpd to the server namespace's
# iperf3, which the address PPP_LOCAL on its loopback makes reachable.
if want pptpd-netstack; then
	ip -n $SRV addr add $PPP_LOCAL/32 dev lo
	run_pptp pptpd-netstack 'require-mppe-128' '--require-mppe-128' 'egress netstack\n'
	ip -n $SRV addr del $PPP_LOCAL/32 dev lo
fi
# pptp-ipv6: pptp-stateless carrying IPv6 (IPV6CP, the session's /64 from remoteip6 by Router
# Advertisement), measured to an address behind the server (on its namespace's loopback).
if want pptp-ipv6; then
	ip -n $SRV -6 addr add $BEHIND6/128 dev lo
	run_pptp pptp-ipv6 'require-mppe-128' '--require-mppe-128 --defaultroute6' 'remoteip6 2001:db8:b6::/56\n' $BEHIND6
	ip -n $SRV -6 addr del $BEHIND6/128 dev lo
fi

# pptp-netstack: the library's netstack mode (pptp.Dial, no TUN) against the same pptpd as
# pptp-stateless: one Go TCP stream each way through Tunnel.DialContext to a Go sink/source
# behind the server (internal/netstackbench), the figures next to the TUN path's iperf3.
run_netstack() {
	local c=pptp-netstack
	add_config $c
	[ -x "$work/netstackbench" ] || go build -o "$work/netstackbench" ./internal/netstackbench ||
		die "could not build internal/netstackbench"
	say "$c: pptpd in $SRV, pptp.Dial from $CLI (${T} s each way)"
	printf 'option %s\nlocalip %s\nremoteip %s\n' "$work/$c-options" $PPP_LOCAL $PPP_POOL >"$work/$c.conf"
	printf 'name pptpd\nrequire-mschap-v2\nrequire-mppe-128\n' >"$work/$c-options"
	ip netns exec $SRV "$pptpd" --fg --conf "$work/$c.conf" --chap-secrets "$work/chap-secrets" \
		--pidfile "$work/$c-pptpd.pid" >"$work/$c-pptpd.log" 2>&1 &
	local spid=$!
	pids+=($spid)
	for _ in $(seq 1 50); do ip netns exec $SRV ss -Hltn 'sport = :1723' 2>/dev/null | grep -q . && break; sleep 0.1; done
	local s0 m0 s1 m1
	s0=$(cpu_ticks "$spid") m0=$(machine_ticks)
	if "$work/netstackbench" -client-ns $CLI -server-ns $SRV -server $OUTER_SRV -user bench \
		-password-file "$work/password" -time "$T" -json "$work/$c.json" >"$work/$c.log" 2>&1; then
		local m
		for m in connect_s tcp1_up_mbps tcp1_down_mbps cpu_client_s_per_gb client_rss_mib; do
			R[$c.$m]=$(jq -r ".$m | if type == \"number\" then (. * 1000 | round / 1000) else \"null\" end" "$work/$c.json")
		done
		R[$c.tcp1_up_mbps]=$(printf '%.0f' "${R[$c.tcp1_up_mbps]}")
		R[$c.tcp1_down_mbps]=$(printf '%.0f' "${R[$c.tcp1_down_mbps]}")
		# Both directions moved T seconds each at the rates measured: the machine's and the
		# server's CPU per GB over the whole run (connect and teardown included, a little high).
		s1=$(cpu_ticks "$spid") m1=$(machine_ticks)
		local gb
		gb=$(awk -v u="${R[$c.tcp1_up_mbps]}" -v d="${R[$c.tcp1_down_mbps]}" -v t="$T" 'BEGIN { printf "%.4f", (u + d) * t / 8 / 1000 }')
		R[$c.cpu_server_s_per_gb]=$(awk -v d=$((s1 - s0)) -v hz="$HZ" -v g="$gb" 'BEGIN { if (g > 0) printf "%.2f", d / hz / g; else print "null" }')
		R[$c.cpu_machine_s_per_gb]=$(awk -v a="$m0" -v b="$m1" -v hz="$HZ" -v g="$gb" 'BEGIN { split(a, x, " "); split(b, y, " ");
			if (g > 0) printf "%.2f", (y[1] - x[1]) / hz / g; else print "null" }')
	else
		sed 's/^/   netstackbench: /' "$work/$c.log" >&2
		sed 's/^/   server: /' "$work/$c-pptpd.log" | tail -20 >&2
		say "$c: failed"
	fi
	stop_pid "$spid"
}
want pptp-netstack && run_netstack
sample_round
done

# With several rounds each metric is the median of its rounds (nulls left out).
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "null"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
if [ "$rounds" -gt 1 ]; then
	for c in "${configs[@]}"; do
		for m in "${metrics[@]}"; do R[$c.$m]=$(printf '%s' "${S[$c.$m]}" | { grep -v '^null$' || true; } | median); done
	done
fi

# ---- 4. connect time against Debian's pptpd, next to pptp-linux + pppd ----------------------
# refvm (../shared/refvm) runs Debian's pptpd at 192.0.2.2 in User-Mode Linux. Our client:
# process start -> IPv4 address on pptp0 (in the refvm namespace); pptp-linux + pppd in the
# client VM: its own connect_seconds. CONNECT_RUNS alternating runs each, medians compared.
refvm=$top/../shared/refvm/refvm
refvm_cache=${REFVM_CACHE:-/var/tmp/refvm}
connect_json=null
if want refvm-connect; then
	if [ ! -x "$refvm" ] || [ ! -d "$refvm_cache/rootfs" ]; then
		say "refvm-connect: skipped, refvm not built (run: $refvm build)"
	else
		runs=${CONNECT_RUNS:-5}
		say "refvm-connect: Debian pptpd in UML, $runs runs of each client"
		refvm_up=0
		for try in 1 2; do # a UML boot flakes now and then: one retry
			"$refvm" server start --no-debug >"$work/refvm-server.log" 2>&1 && { refvm_up=1; break; }
			say "refvm-connect: server did not boot (try $try)"
			"$refvm" server stop >/dev/null 2>&1 || true
		done
		if [ $refvm_up = 1 ]; then
			ours=() theirs=()
			for i in $(seq 1 "$runs"); do
				t0=$(now)
				ip netns exec refpptp "$pptp" 192.0.2.2 --user test --password-file "$work/refvm-password" \
					>"$work/refvm-pptp-$i.log" 2>&1 &
				cpid=$!
				pids+=($cpid)
				if wait_addr refpptp pptp0 $cpid; then
					t1=$(now)
					ours+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
				else
					sed 's/^/   pptp: /' "$work/refvm-pptp-$i.log" >&2
				fi
				stop_pid $cpid
				sleep 1 # pptpd reaps the call
				c=$("$refvm" client 192.0.2.2 --ping 0 2>&1 | tee "$work/refvm-client-$i.log" |
					sed -n 's/.*connect_seconds[=: ]*\([0-9.]*\).*/\1/p' | head -1)
				[ -n "$c" ] && theirs+=("$c") || sed 's/^/   refvm client: /' "$work/refvm-client-$i.log" | tail -5 >&2
			done
			"$refvm" server stop >/dev/null 2>&1 || true
			mo=$(printf '%s\n' "${ours[@]}" | grep . | median)
			mt=$(printf '%s\n' "${theirs[@]}" | grep . | median)
			connect_json=$(printf '{"runs": %d, "pptp_go_s": [%s], "pptp_linux_pppd_s": [%s], "pptp_go_median_s": %s, "pptp_linux_pppd_median_s": %s, "ratio": %s}' \
				"$runs" "$(IFS=,; echo "${ours[*]}")" "$(IFS=,; echo "${theirs[*]}")" "$mo" "$mt" \
				"$(awk -v a="$mo" -v b="$mt" 'BEGIN { if (a == "null" || b == "null" || b + 0 == 0) print "null"; else printf "%.2f", a / b }')")
		fi
	fi
fi

# ---- 5. server scale: SCALE_N sessions into one pptpd -------------------------------------
# internal/scalebench: pptpd in its own namespaces, the sessions from one Go process (user-
# space stacks, one ICMP echo through each), set-ups/s and the server's RSS per session, idle
# and after 64 full-size packets back to back through every session.
scale_json=null
if want scale; then
	n=${SCALE_N:-1000}
	say "scale: $n sessions into one pptpd"
	if (cd "$top" && go run ./internal/scalebench -n "$n" -burst 64 -pptpd "$pptpd" -json "$work/scale.json") >"$work/scale.log" 2>&1; then
		scale_json=$(cat "$work/scale.json")
	else
		tail -20 "$work/scale.log" | sed 's/^/   scalebench: /' >&2
		[ -s "$work/scale.json" ] && scale_json=$(cat "$work/scale.json")
		say "scale: some sessions failed (see above)"
	fi
fi
# The same set-ups authenticated (and accounted) through FreeRADIUS 3.2 in a third namespace,
# beside the chap-secrets figure of the same run.
scale_radius_json=null
if want scale && command -v freeradius >/dev/null; then
	say "scale: $n sessions into one pptpd, users in FreeRADIUS"
	if (cd "$top" && go run ./internal/scalebench -n "$n" -radius -pptpd "$pptpd" -json "$work/scale-radius.json") >"$work/scale-radius.log" 2>&1; then
		scale_radius_json=$(cat "$work/scale-radius.json")
	else
		tail -20 "$work/scale-radius.log" | sed 's/^/   scalebench -radius: /' >&2
		[ -s "$work/scale-radius.json" ] && scale_radius_json=$(cat "$work/scale-radius.json")
		say "scale via RADIUS: some sessions failed (see above)"
	fi
fi
# scale-egress: SCALE_EGRESS_N sessions into one pptpd with "egress netstack", one TCP flow
# through each session's server stack: RSS per idle session without TUNs.
scale_egress_json=null
if want scale-egress; then
	n=${SCALE_EGRESS_N:-100}
	say "scale-egress: $n netstack sessions into one pptpd, a TCP flow through each"
	if (cd "$top" && go run ./internal/scalebench -n "$n" -egress -pptpd "$pptpd" -json "$work/scale-egress.json") >"$work/scale-egress.log" 2>&1; then
		scale_egress_json=$(cat "$work/scale-egress.json")
	else
		tail -20 "$work/scale-egress.log" | sed 's/^/   scalebench: /' >&2
		[ -s "$work/scale-egress.json" ] && scale_egress_json=$(cat "$work/scale-egress.json")
		say "scale-egress: some sessions failed (see above)"
	fi
fi

# ---- report ------------------------------------------------------------------------------
ratio() { # value base -> value/base, or "-"
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "null" || b == "null" || a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2fx", a / b }'
}
{
	echo
	printf 'pptp-go bench %s, %s, %d cores, %s s per TCP test%s (ratio: value / wireguard-go)\n' \
		"$(git -C "$top" describe --always --dirty 2>/dev/null || echo dev)" "$(date -u +%FT%TZ)" "$(nproc)" "$T" \
		"$([ "$rounds" = 1 ] || echo ", medians of $rounds rounds")"
	[ ${#configs[@]} -gt 0 ] && printf '%-20s' metric
	for c in "${configs[@]}"; do printf '%18s' "$c"; done
	[ ${#configs[@]} -gt 0 ] && echo
	[ ${#configs[@]} -gt 0 ] && for m in "${metrics[@]}"; do
		printf '%-20s' "$m"
		for c in "${configs[@]}"; do
			v=${R[$c.$m]:-null}
			if [ "$c" != wireguard ] && [ -n "${R[wireguard.$m]:-}" ]; then
				printf '%18s' "$v ($(ratio "$v" "${R[wireguard.$m]}"))"
			else
				printf '%18s' "$v"
			fi
		done
		echo
	done
	[ ${#configs[@]} -gt 0 ] && echo 'lower is better: rtt_*, cpu_*, *_rss_mib, connect_s, *_loss_pct; idle_pct: share of the cores idle during the TCP tests'
	if [ -n "${R[pptp-netstack.tcp1_up_mbps]:-}" ] && [ -n "${R[pptp-stateless.tcp1_up_mbps]:-}" ]; then
		echo "netstack vs TUN path (pptp-netstack / pptp-stateless, 1 TCP stream, same run): up $(ratio "${R[pptp-netstack.tcp1_up_mbps]}" "${R[pptp-stateless.tcp1_up_mbps]}"), down $(ratio "${R[pptp-netstack.tcp1_down_mbps]}" "${R[pptp-stateless.tcp1_down_mbps]}")"
	fi
	if [ -n "${R[pptpd-netstack.tcp1_up_mbps]:-}" ] && [ -n "${R[pptp-stateless.tcp1_up_mbps]:-}" ]; then
		echo "server egress netstack vs TUN server (pptpd-netstack / pptp-stateless, same run): 1 stream up $(ratio "${R[pptpd-netstack.tcp1_up_mbps]}" "${R[pptp-stateless.tcp1_up_mbps]}"), down $(ratio "${R[pptpd-netstack.tcp1_down_mbps]}" "${R[pptp-stateless.tcp1_down_mbps]}"); 4 streams up $(ratio "${R[pptpd-netstack.tcp4_up_mbps]}" "${R[pptp-stateless.tcp4_up_mbps]}"), down $(ratio "${R[pptpd-netstack.tcp4_down_mbps]}" "${R[pptp-stateless.tcp4_down_mbps]}")"
	fi
	if [ "$scale_json" != null ]; then
		echo
		echo "server scale: $(jq -r '"\(.sessions_up)/\(.n) sessions up (\(.failures) failed), \(.setups_per_second) set-ups/s, server RSS \(.server_rss_full_kib / 1024 | floor) MiB all up (\(.rss_per_session_kib) KiB per session, peak \(.hwm_kib / 1024 | floor) MiB)\(if .burst then "; every session busy once (\(.burst) full-size packets back to back, \(.burst_answered)/\(.burst_sent) answered within \(.burst_answered_s) s): \(.server_rss_busy_kib / 1024 | floor) MiB" else "" end)"' <<<"$scale_json")"
	fi
	if [ "$scale_radius_json" != null ]; then
		echo "server scale, users in FreeRADIUS: $(jq -r '"\(.sessions_up)/\(.n) sessions up (\(.failures) failed), \(.setups_per_second) set-ups/s (latency p50 \(.setup_latency_ms.p50) ms), server RSS \(.server_rss_full_kib / 1024 | floor) MiB all up"' <<<"$scale_radius_json")"
	fi
	if [ "$scale_egress_json" != null ]; then
		echo "server scale, egress netstack: $(jq -r '"\(.sessions_up)/\(.n) sessions up, \(.flow_checked - .flow_failed)/\(.flow_checked) TCP flows through them (\(.failures) failed), \(.setups_per_second) set-ups/s, \(.rss_per_session_kib) KiB RSS per idle session"' <<<"$scale_egress_json")"
	fi
	if [ "$connect_json" != null ]; then
		echo
		echo "connect time against Debian pptpd (refvm), medians: $(jq -r '"pptp-go \(.pptp_go_median_s) s, pptp-linux + pppd \(.pptp_linux_pppd_median_s) s, ratio \(.ratio)"' <<<"$connect_json")"
	fi
}

{
	printf '{\n  "commit": "%s",\n  "date": "%s",\n  "cores": %d,\n  "tcp_seconds": %s,\n  "rounds": %d,\n' \
		"$(git -C "$top" describe --always --dirty 2>/dev/null || echo dev)" "$(date -u +%FT%TZ)" "$(nproc)" "$T" "$rounds"
	printf '  "wireguard_go": "%s",\n  "results": {\n' "$WG_VERSION"
	first=1
	for c in "${configs[@]}"; do
		[ $first = 1 ] || printf ',\n'
		first=0
		printf '    "%s": {' "$c"
		sep=
		for m in "${metrics[@]}"; do printf '%s"%s": %s' "$sep" "$m" "${R[$c.$m]:-null}"; sep=', '; done
		if [ "$c" != wireguard ] && [ -n "${R[wireguard.tcp1_up_mbps]:-}" ]; then
			printf ', "ratio_to_wireguard_go": {'
			sep=
			for m in "${metrics[@]}"; do
				r=$(ratio "${R[$c.$m]:-null}" "${R[wireguard.$m]:-null}")
				[ "$r" = - ] && r=null || r=${r%x}
				printf '%s"%s": %s' "$sep" "$m" "$r"
				sep=', '
			done
			printf '}'
		fi
		if [ "$rounds" -gt 1 ]; then # every round's value, in order
			printf ', "rounds": {'
			sep=
			for m in "${metrics[@]}"; do
				printf '%s"%s": [%s]' "$sep" "$m" "$(printf '%s' "${S[$c.$m]}" | paste -sd, -)"
				sep=', '
			done
			printf '}'
		fi
		printf '}'
	done
	printf '\n  },\n  "connect_vs_pptp_linux": %s,\n  "server_scale": %s,\n  "server_scale_radius": %s,\n  "server_scale_egress": %s\n}\n' "$connect_json" "$scale_json" "$scale_radius_json" "$scale_egress_json"
} >"$json_out.tmp"
jq . "$json_out.tmp" >"$json_out" && rm -f "$json_out.tmp" || mv "$json_out.tmp" "$json_out"
say "wrote $json_out"
