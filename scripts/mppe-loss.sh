#!/bin/bash
# usage: scripts/mppe-loss.sh stateful|stateless "netem args" secs  -- one measurement, server->client iperf3
# One measurement of our client against Debian pptpd in refvm with netem on the server VM
# (docs/performance.md, "Loss and reordering"). Run as root under flock /tmp/refvm.lock
# when the refvm is shared; it restarts the server VM, and leaves it running (stop it after).

PPTP=${PPTP:-$(cd "$(dirname "$0")/.." && pwd)/bin/pptp}
R=${REFVM:-$(cd "$(dirname "$0")/../.." && pwd)/shared/refvm/refvm}
mode=$1; netem=$2; secs=${3:-10}
srvargs=(); cliargs=()
if [ "$mode" = stateful ]; then srvargs=(--mppe stateful); cliargs=(mppe-stateful-only); fi
$R server restart "${srvargs[@]}" >/dev/null 2>&1 || { $R server stop >/dev/null 2>&1; $R server restart "${srvargs[@]}" >/dev/null 2>&1 || { echo "server start failed"; exit 1; }; }
$R exec "modprobe sch_netem; tc qdisc add dev vec0 root netem $netem" >/dev/null
$R exec 'iperf3 -s -D' >/dev/null
log=$(mktemp)
ip netns exec refpptp $PPTP 192.0.2.2 --user test --password test --debug "${cliargs[@]}" >$log 2>&1 &
pid=$!
for i in $(seq 50); do ip netns exec refpptp ip -4 -o addr show dev pptp0 2>/dev/null | grep -q inet && break; sleep 0.2; done
for i in $(seq 20); do out=$(ip netns exec refpptp iperf3 -c 10.99.0.1 -R -t $secs -f m 2>&1) && break; sleep 0.5; done
kill -INT $pid; wait $pid
rate=$(echo "$out" | grep receiver | awk '{print $(NF-2)}')
echo "mode=$mode netem='$netem' rate=${rate:-?}Mbit/s cipher=$(grep -o 'MPPE 128-bit [a-z]*' $log | head -1 | cut -d' ' -f3) resetreq=$(grep -c 'sent \[CCP ResetReq' $log) resetack=$(grep -c 'rcvd \[CCP ResetAck' $log) $(grep -E 'rx lost|rx buffered|rx under|rx over' $log | tr -s ' ' | tr '\n' ' ')"
cp $log ${MPPE_LOG:-/tmp/mppe-loss-last.log}
rm -f $log
