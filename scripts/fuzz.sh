#!/usr/bin/env bash
# Runs every fuzz target of the module, one after the other, for FUZZTIME each (default 10m),
# on one worker so the machine stays usable. New crashers land in the package's
# testdata/fuzz/FuzzX/ and make this script exit non-zero; they then run as regression seeds
# in the ordinary test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-10m}
PARALLEL=${PARALLEL:-1}
# go test minimizes each new interesting input for up to 60 s by default, during which the
# target does not run: small, fast targets spent most of a short campaign there.
MINIMIZETIME=${MINIMIZETIME:-5s}
failed=()
summary=()
for dir in $(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do
	for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go | sed 's/^func //' | sort -u); do
		echo "== $dir $target ($FUZZTIME)"
		log=$(mktemp)
		if go test -run=NONE -fuzz="^${target}\$" -fuzztime="$FUZZTIME" -fuzzminimizetime="$MINIMIZETIME" -parallel="$PARALLEL" "$dir" >"$log" 2>&1; then
			execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
			summary+=("$dir $target: ok, ${execs:-?} execs")
		else
			tail -20 "$log"
			failed+=("$dir $target")
			summary+=("$dir $target: FAILED")
		fi
		rm -f "$log"
	done
done
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: failures in: ${failed[*]}" >&2
	exit 1
fi
