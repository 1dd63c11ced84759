#!/usr/bin/env bash
# Builds ids and replays the bundled attack captures, printing one fast.log line per alert.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh bin/ids
echo "== ids replay --format fast pcaps/*/attack-*" >&2
bin/ids replay --format fast pcaps/*/attack-*.pcap*
