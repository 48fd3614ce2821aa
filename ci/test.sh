#!/usr/bin/env bash
# Holdfast's whole CI suite. Run it as `bash ci/test.sh` (or `bash .ci/run`)
# from any directory.
#
# Steps: install missing tools, gofmt, go vet, staticcheck, go test -race,
# the residue tests without -race, the 10,000-connection soak, testssl.sh,
# a short run of every fuzz target, cross-builds (windows, darwin) and the
# runtime/secret experiment. Every step runs even when an earlier one failed;
# a one-screen summary comes at the end and the exit status is non-zero when
# any step failed. A missing Go toolchain is the only fatal error.
#
# Knobs (environment):
#   FUZZTIME=10s   how long each fuzz target runs (any -fuzztime value)
#   SKIP_APT=1     do not install anything with apt-get
set -euo pipefail

# Debian packages the tests need, one entry per package: "package:cmd1,cmd2".
# A package counts as present when every listed command is on PATH; an entry
# with no command ("package:") is checked with dpkg-query instead.
# Extend this list when a test starts using a new tool.
APT_PACKAGES=(
	"util-linux:prlimit,setpriv"
	"openssl:openssl"
	"gnutls-bin:gnutls-cli"
	"softhsm2:softhsm2-util"
	"opensc:pkcs11-tool"
	"swtpm:swtpm"
	"swtpm-tools:swtpm_setup"
	"tpm2-tools:tpm2_createprimary"
	"tpm2-openssl:"
	"libssl-dev:"
	"redis-server:redis-server"
	"testssl.sh:testssl"
	"curl:curl"
	"chromium:chromium"
)

STATICCHECK_VERSION="v0.8.2"
CROSS_TARGETS=("windows/amd64" "darwin/arm64" "darwin/amd64")
TEST_TIMEOUT="15m"
FUZZTIME="${FUZZTIME:-10s}"
SKIP_APT="${SKIP_APT:-0}"

# ---------------------------------------------------------------------------
# Setup: repository root, scratch and log directories, a clean Go environment.

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd -P)"
if [[ ! -f "$ROOT/go.mod" ]]; then
	echo "ci/test.sh: no go.mod in $ROOT; is this the Holdfast repository?" >&2
	exit 1
fi

# Go: use the one on PATH, else the standard install; without Go nothing can run.
if ! command -v go >/dev/null 2>&1; then
	if [[ -x /usr/local/go/bin/go ]]; then
		PATH="/usr/local/go/bin:$PATH"
		export PATH
	else
		echo "FATAL: no Go toolchain: 'go' is not on PATH and /usr/local/go/bin/go does not exist." >&2
		echo "Install Go 1.26 (as in go.mod) and run again." >&2
		exit 1
	fi
fi

# Scratch space is removed on exit; the logs are kept so they can be read.
WORK="$(mktemp -d "${TMPDIR:-/tmp}/holdfast-ci-work.XXXXXX")"
LOGDIR="$(mktemp -d "${TMPDIR:-/tmp}/holdfast-ci-logs.XXXXXX")"
LOG="$LOGDIR/ci.log"
: >"$LOG"

cleanup() {
	rm -rf -- "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ "$(id -u)" -eq 0 ]]; then
	SUDO_OK=1
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
	SUDO_OK=1
else
	SUDO_OK=0
fi

# as_root CMD... runs CMD as root: directly when we are root, else through
# passwordless sudo; fails when neither is possible.
as_root() {
	if [[ "$(id -u)" -eq 0 ]]; then
		"$@"
	elif [[ "$SUDO_OK" -eq 1 ]]; then
		sudo -n "$@"
	else
		return 1
	fi
}

# Depend on nothing from the caller's environment but PATH: the target and
# build variables below would change what is built, so set them explicitly.
unset GOOS GOARCH GOEXPERIMENT GOARM GOAMD64 GOWORK GOFLAGS GOTOOLCHAIN CGO_ENABLED
export GOFLAGS="-buildvcs=false"
export GOTOOLCHAIN="local" # never download another toolchain
export GOWORK="off"        # ignore any go.work in a parent directory
export CGO_ENABLED="1"     # the race detector and cgo code need it
if [[ -z "${HOME:-}" ]]; then
	HOME="$(getent passwd "$(id -u)" | cut -d: -f6 || true)"
	[[ -n "$HOME" ]] || HOME="$WORK/home"
	export HOME
fi

GOFMT="$(go env GOROOT)/bin/gofmt"
TRUE_BIN="$(type -P true)"

# ---------------------------------------------------------------------------
# Helpers.

# now_ms prints the wall clock in milliseconds.
now_ms() {
	local us="${EPOCHREALTIME//[.,]/}"
	echo $((us / 1000))
}

# fmt_secs MS prints MS milliseconds as seconds with one decimal.
fmt_secs() {
	local ms="$1"
	printf '%d.%d' $((ms / 1000)) $(((ms % 1000) / 100))
}

# x CMD... prints CMD, then runs it.
x() {
	printf '+ %s\n' "$*"
	"$@"
}

# mark STATUS records SKIP or WARN for the step being run (used when the
# step returns 0 but did not simply pass).
mark() {
	echo "$1" >"$WORK/step.status"
}

STEP_NAMES=()
STEP_RESULTS=()
STEP_MS=()
STEP_COUNT=0

# run_step NAME FUNC ARGS... runs FUNC ARGS with its output sent both to the
# terminal and to the logs, and records the result and the time it took.
run_step() {
	local name="$1"
	shift
	local start end rc result steplog
	STEP_COUNT=$((STEP_COUNT + 1))
	steplog="$LOGDIR/$(printf '%02d' "$STEP_COUNT")-$(printf '%s' "$name" | tr -c 'A-Za-z0-9._-' '_').log"
	rm -f "$WORK/step.status"
	{
		echo
		echo "======================================================================"
		echo "==> [$STEP_COUNT] $name    ($(date -u '+%Y-%m-%d %H:%M:%S UTC'))"
		echo "======================================================================"
	} | tee -a "$LOG" "$steplog"
	start="$(now_ms)"
	if "$@" </dev/null 2>&1 | tee -a "$LOG" "$steplog"; then
		rc=0
	else
		rc=$?
	fi
	end="$(now_ms)"
	if [[ "$rc" -ne 0 ]]; then
		result="FAIL"
	elif [[ -s "$WORK/step.status" ]]; then
		result="$(cat "$WORK/step.status")"
	else
		result="PASS"
	fi
	echo "<== $name: $result (exit $rc) in $(fmt_secs $((end - start)))s" | tee -a "$LOG" "$steplog"
	STEP_NAMES+=("$name")
	STEP_RESULTS+=("$result")
	STEP_MS+=($((end - start)))
}

# ---------------------------------------------------------------------------
# Steps. Each one runs all of its commands and returns non-zero if any failed
# (errexit does not apply inside them, since they run as a tested pipeline).

# pkg_present ENTRY: is the package of an APT_PACKAGES entry present?
pkg_present() {
	local entry="$1" pkg cmds cmd
	local -a list=()
	pkg="${entry%%:*}"
	cmds=""
	[[ "$entry" == *:* ]] && cmds="${entry#*:}"
	if [[ -z "$cmds" ]]; then
		[[ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)" == "installed" ]]
		return
	fi
	IFS=',' read -r -a list <<<"$cmds"
	for cmd in "${list[@]}"; do
		command -v "$cmd" >/dev/null 2>&1 || return 1
	done
}

# missing_packages prints the packages to install, one a line.
missing_packages() {
	local entry
	for entry in "${APT_PACKAGES[@]}"; do
		pkg_present "$entry" || echo "${entry%%:*}"
	done
	command -v gcc >/dev/null 2>&1 || echo "build-essential"
}

apt_install() {
	local -a opts=(-q -o Acquire::Retries=3 -o DPkg::Lock::Timeout=600)
	local attempt
	for attempt in 1 2 3; do
		if x as_root env DEBIAN_FRONTEND=noninteractive apt-get "${opts[@]}" update &&
			x as_root env DEBIAN_FRONTEND=noninteractive apt-get "${opts[@]}" install -y --no-install-recommends "$@"; then
			return 0
		fi
		echo "apt-get failed (attempt $attempt of 3)"
		if [[ "$attempt" -lt 3 ]]; then
			sleep 15
		fi
	done
	return 1
}

step_deps() {
	local -a missing=() installing=()
	local rc=0
	mapfile -t missing < <(missing_packages | awk '!seen[$0]++')
	if [[ "${#missing[@]}" -eq 0 ]]; then
		echo "all required tools are present: ${APT_PACKAGES[*]%%:*} gcc"
		return 0
	fi
	echo "missing: ${missing[*]}"
	if [[ "$SKIP_APT" == "1" ]]; then
		echo "SKIP_APT=1: not installing; tests that need these tools will fail."
		mark SKIP
		return 0
	fi
	if [[ "$SUDO_OK" -ne 1 ]]; then
		echo "not root and no passwordless sudo: cannot install ${missing[*]}."
		echo "Install them by hand; tests that need these tools will fail until then."
		mark WARN
		return 0
	fi
	# Keep package scripts from starting daemons (redis-server would otherwise
	# take port 6379): a policy-rc.d that refuses, unless one is already there.
	# This function runs in a subshell (see run_step), so its traps are its own.
	if [[ ! -e /usr/sbin/policy-rc.d ]] &&
		as_root sh -c 'printf "#!/bin/sh\nexit 101\n" >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d'; then
		trap 'as_root rm -f /usr/sbin/policy-rc.d || true' EXIT
		trap 'exit 130' INT
		trap 'exit 143' TERM
	fi
	installing=("${missing[@]}")
	apt_install "${installing[@]}" || rc=1
	if [[ "$rc" -ne 0 ]]; then
		echo "apt-get install failed"
		return 1
	fi
	mapfile -t missing < <(missing_packages | awk '!seen[$0]++')
	if [[ "${#missing[@]}" -ne 0 ]]; then
		echo "still missing after installing ${installing[*]}: ${missing[*]}"
		return 1
	fi
	echo "installed ${installing[*]}: all required tools are now present"
}

step_gofmt() {
	local -a all=() files=()
	local f out
	# safe.directory: a clone owned by another user is still ours to read.
	local -a git=(git -c safe.directory="$ROOT" -C "$ROOT")
	if "${git[@]}" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		mapfile -d '' all < <("${git[@]}" ls-files -z -- '*.go')
	else
		echo "not a git work tree: checking every .go file"
		mapfile -d '' all < <(find . -name '*.go' -not -path './.git/*' -print0 | sed -z 's|^\./||')
	fi
	for f in "${all[@]}"; do
		# testdata may hold deliberately odd Go files; the go tool ignores it too.
		[[ "/$f" == */testdata/* ]] && continue
		[[ -f "$f" ]] && files+=("$f")
	done
	if [[ "${#files[@]}" -eq 0 ]]; then
		echo "no Go files to check"
		return 0
	fi
	echo "+ gofmt -l (${#files[@]} files)"
	if ! out="$("$GOFMT" -l -- "${files[@]}" 2>&1)"; then
		printf '%s\n' "$out"
		echo "gofmt could not process some files (see above)"
		return 1
	fi
	if [[ -n "$out" ]]; then
		local -a bad=()
		mapfile -t bad <<<"$out"
		echo "${#bad[@]} file(s) not gofmt'ed (fix with: gofmt -w FILE):"
		printf '  %s\n' "${bad[@]}"
		return 1
	fi
	echo "all ${#files[@]} files are formatted"
}

step_vet() {
	x go vet ./...
}

step_staticcheck() {
	local bin="$WORK/bin"
	mkdir -p "$bin"
	x env GOBIN="$bin" go install "honnef.co/go/tools/cmd/staticcheck@${STATICCHECK_VERSION}" || {
		echo "could not build staticcheck ${STATICCHECK_VERSION}"
		return 1
	}
	x "$bin/staticcheck" ./...
}

step_race() {
	x go test -race -count=1 -timeout "$TEST_TIMEOUT" ./...
}

# The race detector's instrumented copies leave secrets in memory the
# residue tests would rightly report, so they skip under -race and run here,
# in the default build, as well as in the runtimesecret step.
step_residue() {
	x go test -count=1 -timeout "$TEST_TIMEOUT" ./internal/residue/ &&
		x go test -count=1 -timeout "$TEST_TIMEOUT" -run 'Residue' ./...
}

# testssl.sh against examples/server, default configuration and the second
# seed's TLS 1.2 suite: fails on any finding rated MEDIUM or worse (see
# examples/server/testssl_test.go). A few minutes, so not part of ./...
step_testssl() {
	x go test -tags testssl -count=1 -timeout 20m -run '^TestTestSSL$' -v ./examples/server
}

# 10,000 established connections at once, five rounds, no race detector
# (which cannot hold them): goroutines and locked memory back to baseline,
# locked bytes per connection within budget; and the lock limit running out
# under load.
step_soak() {
	x env HOLDFAST_SOAK=1 go test -count=1 -timeout 15m -run '^(TestSoakManyConnections|TestMemlockExhaustionUnderLoad)$' -v .
}

# fuzz_one PKG NAME runs one fuzz target for FUZZTIME. The go command's
# fuzzing coordinator sometimes ends a run with "context deadline exceeded"
# when a worker is slow to stop at the deadline on a loaded machine; that
# is not a finding (no failing input is written), so such a run is tried
# once more. A real failure writes testdata/fuzz/ and fails at once.
fuzz_one() {
	local pkg="$1" name="$2" out
	out="$WORK/fuzz-$name.log"
	# pipefail (set above) makes the pipeline fail when go test does.
	if x go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg" 2>&1 | tee "$out"; then
		return 0
	fi
	if grep -q "context deadline exceeded" "$out" && ! grep -q "Failing input written" "$out"; then
		echo "(the fuzzing coordinator timed out stopping a worker, with no failing input: running $name once more)"
		x go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg"
		return
	fi
	return 1
}

step_fuzz() {
	local listing pkg file name entry rc=0 n=0 failed=0
	local -a targets=() failures=()
	# One line per test file that the current build uses: "importpath<TAB>file".
	# shellcheck disable=SC2016 # a Go template, not a shell expansion
	local tmpl='{{$p := .ImportPath}}{{$d := .Dir}}{{range .TestGoFiles}}{{$p}}{{"\t"}}{{$d}}/{{.}}{{"\n"}}{{end}}{{range .XTestGoFiles}}{{$p}}{{"\t"}}{{$d}}/{{.}}{{"\n"}}{{end}}'
	if ! listing="$(go list -f "$tmpl" ./...)"; then
		echo "go list failed"
		return 1
	fi
	while IFS=$'\t' read -r pkg file; do
		[[ -n "$pkg" ]] || continue
		while IFS= read -r name; do
			targets+=("$pkg $name")
		done < <(grep -oE '^func Fuzz[A-Za-z0-9_]*\(' "$file" | sed -e 's/^func //' -e 's/($//' || true)
	done <<<"$listing"
	if [[ "${#targets[@]}" -eq 0 ]]; then
		echo "no fuzz targets yet (no 'func FuzzXxx(' in any *_test.go); nothing to fuzz"
		mark SKIP
		return 0
	fi
	mapfile -t targets < <(printf '%s\n' "${targets[@]}" | sort -u)
	echo "${#targets[@]} fuzz target(s), ${FUZZTIME} each:"
	printf '  %s\n' "${targets[@]}"
	for entry in "${targets[@]}"; do
		pkg="${entry% *}"
		name="${entry##* }"
		n=$((n + 1))
		echo
		echo "--- fuzz $n/${#targets[@]}: $pkg $name"
		if ! fuzz_one "$pkg" "$name"; then
			rc=1
			failed=$((failed + 1))
			failures+=("$pkg $name")
		fi
	done
	echo
	echo "fuzz: ${#targets[@]} target(s) run, $failed failed"
	if [[ "$failed" -ne 0 ]]; then
		printf '  FAILED: %s\n' "${failures[@]}"
		echo "  (a failing input is saved under the package's testdata/fuzz/)"
	fi
	return "$rc"
}

step_cross() {
	local goos="${1%/*}" goarch="${1#*/}" rc=0
	local -a envs=(env CGO_ENABLED=0 GOOS="$goos" GOARCH="$goarch")
	x "${envs[@]}" go build ./... || rc=1
	x "${envs[@]}" go vet ./... || rc=1
	# Compile every test binary for the target; -exec runs it as `true`.
	x "${envs[@]}" go test -count=1 -vet=off -run '^$' -exec "$TRUE_BIN" ./... || rc=1
	return "$rc"
}

step_runtimesecret() {
	local rc=0
	local -a envs=(env GOEXPERIMENT=runtimesecret)
	x "${envs[@]}" go build ./... || rc=1
	x "${envs[@]}" go vet ./... || rc=1
	x "${envs[@]}" go test -count=1 -timeout "$TEST_TIMEOUT" ./... || rc=1
	return "$rc"
}

# ---------------------------------------------------------------------------
# Main.

TOTAL_START="$(now_ms)"
{
	echo "Holdfast CI in $ROOT"
	echo "logs: $LOGDIR (all steps: $LOG)"
	echo "$(go version); GOFLAGS=$GOFLAGS; FUZZTIME=$FUZZTIME; SKIP_APT=$SKIP_APT; $(nproc 2>/dev/null || echo '?') CPUs"
} | tee -a "$LOG"

run_step "deps (apt)" step_deps
run_step "gofmt" step_gofmt
run_step "go vet" step_vet
run_step "staticcheck" step_staticcheck
run_step "go test -race" step_race
run_step "residue (default build)" step_residue
run_step "soak: 10,000 connections" step_soak
run_step "testssl.sh" step_testssl
run_step "fuzz (${FUZZTIME} each)" step_fuzz
for target in "${CROSS_TARGETS[@]}"; do
	run_step "cross $target" step_cross "$target"
done
run_step "GOEXPERIMENT=runtimesecret" step_runtimesecret

TOTAL_MS=$(($(now_ms) - TOTAL_START))
OVERALL="PASS"
for result in "${STEP_RESULTS[@]}"; do
	if [[ "$result" == "FAIL" ]]; then
		OVERALL="FAIL"
	fi
done

{
	echo
	echo "======================== Holdfast CI summary ========================="
	printf '%-36s %-6s %10s\n' "step" "result" "seconds"
	printf '%-36s %-6s %10s\n' "----" "------" "-------"
	for i in "${!STEP_NAMES[@]}"; do
		printf '%-36s %-6s %10s\n' "${STEP_NAMES[$i]}" "${STEP_RESULTS[$i]}" "$(fmt_secs "${STEP_MS[$i]}")"
	done
	printf '%-36s %-6s %10s\n' "----" "------" "-------"
	printf '%-36s %-6s %10s\n' "total" "$OVERALL" "$(fmt_secs "$TOTAL_MS")"
	echo "logs: $LOGDIR"
} | tee -a "$LOG"

[[ "$OVERALL" == "PASS" ]]
