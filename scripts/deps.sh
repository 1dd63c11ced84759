#!/usr/bin/env bash
# Installs the Debian packages the build and tests need, when missing (as root, or with sudo).
# Go and gcc are assumed; everything else the project needs is listed here.
# usage: scripts/deps.sh [--test]
set -euo pipefail

# Building needs libpcap's headers (the sensor's pcap back end, and BPF filter compilation).
packages=(libpcap-dev)
if [ "${1:-}" = "--test" ]; then
	# The live-capture tests: network namespaces and veth (iproute2), traffic (tcpreplay), and a
	# real Prometheus server scraping the sensor.
	packages+=(iproute2 tcpreplay prometheus curl)
fi

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	echo "installing ${missing[*]}" >&2
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v go >/dev/null || { echo "Go is required (https://go.dev/dl/); not found on PATH" >&2; exit 1; }
