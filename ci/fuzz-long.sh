#!/usr/bin/env bash
# Long fuzzing: every fuzz target in the module for a given duration each
# (default 30m), one after another, with a summary. ci/test.sh runs each
# target briefly; this is for the nightly or pre-release run whose result
# docs/CONFORMANCE.md reports.
#
#   bash ci/fuzz-long.sh [DURATION [FILTER]]   e.g. bash ci/fuzz-long.sh 30m
#
# FILTER, an extended regular expression, picks the "package target" lines
# to run (e.g. 'wire FuzzClientHello$'), so that a long run can be spread
# over several sittings; FUZZ_PARALLEL sets the fuzzing workers (default:
# one per CPU).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DURATION="${1:-30m}"
FILTER="${2:-.}"
PARALLEL=()
if [[ -n "${FUZZ_PARALLEL:-}" ]]; then
	PARALLEL=(-parallel "$FUZZ_PARALLEL")
fi
export GOFLAGS="-buildvcs=false" GOTOOLCHAIN=local GOWORK=off

# One "package target" line per func FuzzXxx in a test file of the build.
# shellcheck disable=SC2016 # a Go template, not a shell expansion
tmpl='{{$p := .ImportPath}}{{$d := .Dir}}{{range .TestGoFiles}}{{$p}}{{"\t"}}{{$d}}/{{.}}{{"\n"}}{{end}}{{range .XTestGoFiles}}{{$p}}{{"\t"}}{{$d}}/{{.}}{{"\n"}}{{end}}'
mapfile -t targets < <(go list -f "$tmpl" ./... | while IFS=$'\t' read -r pkg file; do
	grep -oE '^func Fuzz[A-Za-z0-9_]*\(' "$file" | sed -e 's/^func //' -e 's/($//' -e "s|^|$pkg |" || true
done | sort -u | grep -E -- "$FILTER" || true)

echo "${#targets[@]} fuzz targets, $DURATION each"
failed=()
for entry in "${targets[@]}"; do
	pkg="${entry% *}" name="${entry##* }"
	echo "=== $pkg $name"
	out=$(mktemp)
	if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$DURATION" "${PARALLEL[@]}" "$pkg" 2>&1 | tee "$out"; then
		# The coordinator sometimes reports "context deadline exceeded"
		# when a worker is slow to stop at the deadline: the run went its
		# full duration and wrote no failing input, so it is not a finding.
		if grep -q "context deadline exceeded" "$out" && ! grep -q "Failing input written" "$out"; then
			echo "=== $pkg $name: ran $DURATION; the coordinator timed out stopping a worker, no failing input"
		else
			failed+=("$pkg $name")
		fi
	fi
	rm -f "$out"
done
echo
if [[ "${#failed[@]}" -eq 0 ]]; then
	echo "fuzz-long: all ${#targets[@]} targets ran $DURATION with no failure"
else
	printf 'fuzz-long: FAILED %s\n' "${failed[@]}"
	exit 1
fi
