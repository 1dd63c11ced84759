#!/usr/bin/env bash
# Runs every go test -fuzz target in the repository for a while each (default 1m).
# New interesting inputs land in the Go fuzz cache; crashers are written to the package's
# testdata/fuzz/<Target>/ and must be committed as regression tests.
# Targets are found, package by package, as the "func FuzzXxx" lines of its _test.go files, so a new
# target needs no change here. FUZZMINIMIZE (default 10s) bounds the minimization of each new
# input: the whole-pipeline FuzzEngine builds an engine per input, and Go's default of 60s
# per input would leave little of a short session for fuzzing.
# usage: scripts/fuzz.sh [DURATION]
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-1m}
minimize=${FUZZMINIMIZE:-10s}
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		echo "-- $pkg $target" >&2
		log=$(mktemp)
		if ! go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" -fuzzminimizetime="$minimize" "$pkg" >"$log" 2>&1; then
			grep -v '^fuzz: elapsed' "$log" >&2 # the whole story: failing input, panic, or worker error
			rm -f "$log"
			exit 1
		fi
		grep '^fuzz: elapsed' "$log" | tail -n 1 # executions and corpus size at the end
		tail -n 1 "$log"
		rm -f "$log"
	done
done
