#!/usr/bin/env bash
# The one-command demo: our pptpd in one network namespace, our pptp in another, joined by a
# veth pair; shows the tunnel interface, pings through it, measures 5 s of iperf3, disconnects
# and removes everything it created (also after Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
SRV=pptpdemo-srv CLI=pptpdemo-cli
OUTER_SRV=198.18.0.1 OUTER_CLI=198.18.0.2     # RFC 2544 benchmark range, only inside our namespaces
PPP_LOCAL=10.99.0.1 PPP_POOL=10.99.0.100-109
work=$(mktemp -d /tmp/pptpdemo.XXXXXX)
# Our binaries read options and ip-up/ip-down scripts from here, not from the host's /etc/ppp.
export PPTP_GO_PPPDIR="$work/ppp"; mkdir -p "$PPTP_GO_PPPDIR"
pids=()

say() { printf '\033[1m== %s\033[0m\n' "$*"; }
cleanup() {
	set +e
	for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do
		for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	ip netns pids $SRV 2>/dev/null | xargs -r kill -KILL 2>/dev/null
	ip netns pids $CLI 2>/dev/null | xargs -r kill -KILL 2>/dev/null
	ip netns del $SRV 2>/dev/null
	ip netns del $CLI 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'echo; say "interrupted: cleaning up"; exit 130' INT TERM

if [ "$(id -u)" != 0 ]; then echo "demo: run as root (network namespaces, TUN, raw sockets): sudo make demo" >&2; exit 1; fi
if ! command -v iperf3 >/dev/null; then
	say "installing iperf3"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf3 >/dev/null
fi
[ -x bin/pptp ] && [ -x bin/pptpd ] || make -s build

say "network: $SRV ($OUTER_SRV) <-veth-> $CLI ($OUTER_CLI)"
ip netns del $SRV 2>/dev/null || true; ip netns del $CLI 2>/dev/null || true
ip netns add $SRV; ip netns add $CLI
ip -n $SRV link set lo up; ip -n $CLI link set lo up
ip link add pptpdemo0 netns $SRV type veth peer name pptpdemo1 netns $CLI
ip -n $SRV addr add $OUTER_SRV/24 dev pptpdemo0; ip -n $SRV link set pptpdemo0 up
ip -n $CLI addr add $OUTER_CLI/24 dev pptpdemo1; ip -n $CLI link set pptpdemo1 up

cat >"$work/pptpd.conf" <<CONF
option $work/pptpd-options
localip $PPP_LOCAL
remoteip $PPP_POOL
CONF
cat >"$work/pptpd-options" <<CONF
name pptpd
require-mschap-v2
require-mppe-128
ms-dns $PPP_LOCAL
CONF
printf 'demo pptpd "demo-secret" *\n' >"$work/chap-secrets"
chmod 600 "$work/chap-secrets"
printf 'demo-secret\n' >"$work/password"; chmod 600 "$work/password"

say "starting pptpd in $SRV"
ip netns exec $SRV bin/pptpd --fg --conf "$work/pptpd.conf" --chap-secrets "$work/chap-secrets" \
	--pidfile "$work/pptpd.pid" >"$work/pptpd.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do ip netns exec $SRV ss -Hltn 'sport = :1723' 2>/dev/null | grep -q . && break; sleep 0.1; done

say "connecting: pptp $OUTER_SRV --user demo --password-file ... (in $CLI)"
t0=$(date +%s.%N)
ip netns exec $CLI bin/pptp $OUTER_SRV --user demo --password-file "$work/password" \
	--require-mppe-128 >"$work/pptp.log" 2>&1 &
cli=$!; pids+=($cli)
up=no
for _ in $(seq 1 150); do
	if ip -n $CLI -4 -o addr show dev pptp0 2>/dev/null | grep -q inet; then up=yes; break; fi
	kill -0 $cli 2>/dev/null || break
	sleep 0.1
done
t1=$(date +%s.%N)
sed 's/^/   /' "$work/pptp.log"
if [ $up != yes ]; then echo "demo: the tunnel did not come up"; sed 's/^/   /' "$work/pptpd.log"; exit 1; fi
printf '   connected in %.2f s\n' "$(echo "$t1 - $t0" | bc -l 2>/dev/null || python3 -c "print($t1-$t0)")"

say "the interface"
ip -n $CLI -br addr show dev pptp0
ip -n $CLI route show dev pptp0 | sed 's/^/   route: /'

say "ping through the tunnel"
ip netns exec $CLI ping -c 5 -i 0.2 -W 2 $PPP_LOCAL | tail -2

say "iperf3, 5 s, client -> server through MPPE-128"
ip netns exec $SRV iperf3 -s -1 -D -B $PPP_LOCAL >/dev/null 2>&1; sleep 0.3
ip netns exec $CLI iperf3 -c $PPP_LOCAL -t 5 -f m | grep -E 'sender|receiver'

say "disconnecting (SIGINT to pptp)"
kill -INT $cli; wait $cli || true
sed 's/^/   /' "$work/pptp.log" | tail -3
if ip -n $CLI link show pptp0 >/dev/null 2>&1; then echo "   pptp0 is still there!"; else echo "   pptp0 removed, nothing left behind"; fi
say "server log"
sed 's/^/   /' "$work/pptpd.log" | tail -8
say "done"
