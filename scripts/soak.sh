#!/usr/bin/env bash
# Soak test of the live sensor: tcpreplay loops the shared benchmark's mixed capture over a veth
# pair into `ids sensor` (AF_PACKET, 2 workers) for DURATION while the sensor's own /metrics are
# sampled every 5 s; after a warm-up of the first quarter, resident memory, goroutines and open
# file descriptors must not grow, and the kernel must drop nothing. Prints the sampled curve.
# Needs root (network namespaces, packet capture).
# usage: scripts/soak.sh [DURATION]    (a Go duration, default 30m; IDS_SOAK_PPS sets the rate)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-30m}
[ "$(id -u)" -eq 0 ] || { echo "soak: needs root (network namespaces, packet capture)" >&2; exit 1; }
bash scripts/deps.sh --test
IDS_SOAK=$duration exec go test -count=1 -run '^TestSoak$' -v -timeout 0 ./integration/
