#!/usr/bin/env bash
# Runs every check: formatting, vet, the whole test suite (golden corpus, the shared real
# captures, allocation gates, every fuzz target's kept corpus as seeds), and the benchmarks once
# as a smoke test. Fuzzing itself finds new inputs at random, so it is not part of this
# deterministic gate: set FUZZTIME (e.g. 10s) to add a run of each target, or use `make fuzz`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --test

echo "== gofmt" >&2
unformatted=$(gofmt -l $(find . -name '*.go' -not -path './.git/*'))
if [ -n "$unformatted" ]; then
	echo "gofmt needed on:" >&2
	echo "$unformatted" >&2
	exit 1
fi

echo "== go vet" >&2
go vet ./...

echo "== go test" >&2
go test -count=1 ./...

echo "== benchmarks (one pass each)" >&2
go test -run='^$' -bench=. -benchtime=1x ./... >/dev/null

fuzztime=${FUZZTIME:-0}
if [ "$fuzztime" != "0" ]; then
	echo "== fuzz ($fuzztime per target)" >&2
	bash scripts/fuzz.sh "$fuzztime"
fi
