#!/usr/bin/env bash
# Measures packets/s under each attack of engine/attack_test.go against normal traffic and fails
# when one keeps less than half the normal rate. Run it on a quiet machine: the tests themselves
# only log rates, since a busy CI machine says nothing about the engine.
set -euo pipefail
cd "$(dirname "$0")/.."
IDS_ATTACK_STRICT=1 go test -count=1 -run 'Flood|HalfOpen|Storm' -v ./engine/ 2>&1 | grep -E 'attack/normal|BOUND|packets/CPU-s under attack|^(--- |ok|FAIL)'
