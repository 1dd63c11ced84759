#!/usr/bin/env bash
# Measures the live sensor: tcpreplay --topspeed sends a capture over a veth pair (from a network
# namespace) while `ids sensor` captures the other end, for each back end and worker count.
# Prints packets sent, captured, kernel drops and rates. Needs root.
# usage: scripts/live-bench.sh CAPTURE.pcap [LOOPS]
set -euo pipefail
cd "$(dirname "$0")/.."
pcap=${1:?usage: scripts/live-bench.sh CAPTURE.pcap [LOOPS]}
loops=${2:-5}
[ "$(id -u)" -eq 0 ] || { echo "live-bench: needs root (network namespaces, packet capture)" >&2; exit 1; }
bash scripts/deps.sh --test
bash scripts/build.sh bin/ids >/dev/null

ns=ids-bench-$$ cap=idsbc$$ inj=idsbi$$
cleanup() { ip link del "$cap" 2>/dev/null || true; ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$ns"
ip link add "$cap" mtu 9000 type veth peer name "$inj" mtu 9000 netns "$ns"
sysctl -qw "net.ipv6.conf.$cap.disable_ipv6=1"
ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$inj.disable_ipv6=1"
ip link set "$cap" up
ip netns exec "$ns" ip link set "$inj" up
# Load the capture into the page cache and tcpreplay's memory (--preload-pcap): the sender, not
# the disk, sets the pace.
cat "$pcap" >/dev/null

metric() { curl -s "http://$1/metrics" | awk -v n="$2" '$1 ~ "^"n"({|$)" {s += $2} END {printf "%.0f", s}'; }

start_sensor() { # backend workers ring-MiB
	port=$((20000 + RANDOM % 10000))
	bin/ids sensor -i "$cap" --backend "$1" --workers "$2" -o /dev/null --metrics-addr "127.0.0.1:$port" --buffer-mb "$3" 2>/dev/null &
	pid=$!
	for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return; sleep 0.1; done
	echo "live-bench: sensor not ready" >&2
	exit 1
}

stop_sensor() { kill -TERM "$pid"; wait "$pid" || true; }

send() { # tcpreplay options...
	out=$(ip netns exec "$ns" tcpreplay -i "$inj" --topspeed --preload-pcap "$@" "$pcap" 2>&1)
	sent=$(sed -n 's/.*Successful packets: *\([0-9]*\).*/\1/p' <<<"$out")
	secs=$(sed -n 's/.*Actual: [0-9]* packets ([0-9]* bytes) sent in \([0-9.]*\) seconds.*/\1/p' <<<"$out")
}

cpu_seconds() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$pid/stat"; }

# 1. Live: the sensor captures while tcpreplay sends as fast as it can. On a small machine the
#    sender (one core, one sendto per packet) is the limit, so this shows the sensor keeping up.
echo "== live: tcpreplay --topspeed, $loops loops, sensor capturing at the same time"
printf '%-9s %-7s %12s %12s %10s %14s %14s\n' backend workers sent captured drops "pkt/s" "pkt/CPU-s"
for cfg in "pcap 1" "afpacket 1" "afpacket 2"; do
	set -- $cfg
	start_sensor "$1" "$2" 256
	cpu0=$(cpu_seconds)
	send --loop "$loops"
	sleep 1 # let the workers empty their rings
	captured=$(metric "127.0.0.1:$port" ids_capture_packets_total)
	drops=$(metric "127.0.0.1:$port" ids_capture_drops_total)
	cpu1=$(cpu_seconds)
	stop_sensor
	awk -v b="$1" -v w="$2" -v s="$sent" -v c="$captured" -v d="$drops" -v t="$secs" -v c0="$cpu0" -v c1="$cpu1" \
		'BEGIN { printf "%-9s %-7s %12d %12d %10d %14.0f %14.0f\n", b, w, s, c, d, c / t, c / (c1 - c0) }'
done

# 2. Burst: the sensor is stopped (SIGSTOP) while the kernel fills its rings, then continued;
#    the time it takes to empty them is its own capacity, whatever the sender can do. AF_PACKET
#    only: libpcap (1.10) reads about one packet per poll timeout after a SIGSTOP/SIGCONT with a
#    full ring, so the pcap back end's capacity is the live table's packets per CPU-second.
# A ring is 1.5x the bytes queued: at most 2 GiB queued keeps it near 3 GiB per worker.
size=$(stat -c %s "$pcap")
max_loops=$(( (2 << 30) / size > 1 ? (2 << 30) / size : 1 ))
burst_loops=$(( loops * 4 < max_loops ? loops * 4 : max_loops ))
ring=$(( size * burst_loops * 3 / 2 >> 20 ))
echo "== burst: $burst_loops loops queued in the rings (${ring} MiB each) while the sensor is stopped, then drained"
printf '%-9s %-7s %12s %12s %10s %10s %14s %14s\n' backend workers queued processed drops seconds "pkt/s" "pkt/CPU-s"
for cfg in "afpacket 1" "afpacket 2"; do
	set -- $cfg
	start_sensor "$1" "$2" "$ring"
	kill -STOP "$pid"
	send --loop "$burst_loops"
	cpu0=$(cpu_seconds)
	t0=$(date +%s.%N)
	kill -CONT "$pid"
	captured=0
	for _ in $(seq 2000); do
		captured=$(metric "127.0.0.1:$port" ids_capture_packets_total)
		drops=$(metric "127.0.0.1:$port" ids_capture_drops_total)
		[ $((captured + drops)) -ge "$sent" ] && break
		sleep 0.05
	done
	t1=$(date +%s.%N)
	cpu1=$(cpu_seconds)
	drops=$(metric "127.0.0.1:$port" ids_capture_drops_total)
	stop_sensor
	awk -v b="$1" -v w="$2" -v s="$sent" -v c="$captured" -v d="$drops" -v t0="$t0" -v t1="$t1" -v c0="$cpu0" -v c1="$cpu1" \
		'BEGIN { printf "%-9s %-7s %12d %12d %10d %10.2f %14.0f %14.0f\n", b, w, s, c, d, t1 - t0, c / (t1 - t0), c / (c1 - c0) }'
done
