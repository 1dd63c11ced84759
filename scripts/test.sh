#!/usr/bin/env bash
# Runs every check: formatting, vet, the whole test suite (golden corpus, the shared real
# captures, allocation gates), the benchmarks once as a smoke test, and each fuzz target briefly.
# FUZZTIME (default 10s) sets how long each fuzz target runs; FUZZTIME=0 skips them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh

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

fuzztime=${FUZZTIME:-10s}
if [ "$fuzztime" != "0" ]; then
	echo "== fuzz ($fuzztime per target)" >&2
	bash scripts/fuzz.sh "$fuzztime"
fi
