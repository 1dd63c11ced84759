#!/usr/bin/env bash
# Prints one benchmark report (markdown) on one capture in the page cache, one core: the capture
# reader, gopacket decoding and a naive gopacket pipeline against `ids replay` end to end and per
# detector family, then scaling with concurrent flows and (as root) with sensor workers.
# usage: scripts/bench.sh [ids-bench flags: --capture PATH, --runs N, --scaling=false, ...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh bin/ids
go build -trimpath -o bin/ids-bench ./cmd/ids-bench
exec bin/ids-bench "$@"
