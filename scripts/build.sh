#!/usr/bin/env bash
# Builds the ids binary. The Dockerfile's build stage runs this same script.
# usage: scripts/build.sh [OUTPUT]   (default bin/ids)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bin/ids}
go build -trimpath -o "$out" ./cmd/ids
