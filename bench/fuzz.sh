#!/usr/bin/env bash
# bench/fuzz.sh — runs every `go test -fuzz` target of the module in turn,
# one worker each (-parallel=1), and prints one line per target: package,
# target, duration, executions, new corpus entries, and PASS or the failure
# (a failing input is written by go test to the package's
# testdata/fuzz/<Target>/, where plain `go test` then replays it).
#
#   bench/fuzz.sh                     # FUZZTIME=10m per target
#   FUZZTIME=90s bench/fuzz.sh        # shorter
#   FUZZTIME=2m bench/fuzz.sh FuzzNormalizeEmail FuzzCheckReturnTo   # only these
#   FUZZTIME=2m bench/fuzz.sh secret:FuzzParse   # PACKAGE:TARGET where names repeat
#   FUZZJOBS=3 bench/fuzz.sh          # three targets at a time
#   FUZZIDLE=1 setsid bench/fuzz.sh   # under SCHED_IDLE: only the CPU nothing else wants
#
# Not part of CI (CI runs the seeds with plain `go test`).
set -uo pipefail
cd "$(dirname "$0")/.."
T=${FUZZTIME:-10m}
log=${FUZZLOG:-$(mktemp -d)}
mkdir -p "$log"
idle=
if [ -n "${FUZZIDLE:-}" ]; then
	idle="chrt --idle 0"
	# Where the kernel groups tasks by session (CONFIG_SCHED_AUTOGROUP), it
	# shares the CPU between sessions first, and SCHED_IDLE only orders the
	# tasks within one: lower this session's group too (run it under setsid,
	# or it lowers the caller's session with it).
	echo 19 >/proc/self/autogroup 2>/dev/null || true
fi
one() {
	pkg=$1 name=$2
	out="$log/${pkg//\//_}.$name.log"
	$idle go test "./$pkg" -run='^$' -fuzz="^$name\$" -fuzztime="$T" -parallel=1 >"$out" 2>&1
	rc=$?
	last=$(grep -E 'fuzz: elapsed' "$out" | tail -1)
	execs=$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")
	el=$(sed -nE 's/.*elapsed: ([0-9hms]+),.*/\1/p' <<<"$last")
	newi=$(sed -nE 's/.*new interesting: ([0-9]+).*/\1/p' <<<"$last")
	if [ $rc -eq 0 ]; then verdict=PASS; else verdict="FAIL: $(grep -m1 -E 'Failing input|panic:|--- FAIL' "$out")"; fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$pkg" "$name" "${el:-?}" "${execs:-?}" "${newi:-?}" "$verdict"
}
export -f one
export T log idle
grep -rn --include='*_test.go' '^func Fuzz' . | sed -E 's#^\./(.*)/[^/]*_test\.go:[0-9]+:func (Fuzz[A-Za-z0-9_]+).*#\1 \2#; s#^\./[^/]*_test\.go:[0-9]+:func (Fuzz[A-Za-z0-9_]+).*#. \1#' | sort -u |
while read -r pkg name; do
	if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx -e "$name" -e "$pkg:$name"; then continue; fi
	printf '%s %s\n' "$pkg" "$name"
done | xargs -P "${FUZZJOBS:-1}" -L 1 bash -c 'one "$0" "$1"'
