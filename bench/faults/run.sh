#!/usr/bin/env bash
# bench/faults/run.sh [redis|postgres|sigkill|sigterm ...] — builds gatehouse
# and the fault driver (bench/faults/main.go) and runs the fault scenarios
# under load, each printing a "VERDICT <name>: PASS|FAIL — figures" line
# (docs/faults.md). Loopback only; it starts its own PostgreSQL cluster
# (port 5440) and redis-server (port 6390) and never touches the machine's
# own. Flags before the scenario names go to the driver (-c, -phase, -keep,
# -pg-port, -redis-port, -port). Exit status 1 when a verdict is FAIL.
set -euo pipefail
cd "$(dirname "$0")/../.."
# The load signs accounts up and straight in: no mailbox round trip.
export GATEHOUSE_EMAIL_VERIFICATION=off
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/gatehouse" ./cmd/gatehouse
go build -o "$tmp/faults" ./bench/faults
timeout 600 "$tmp/faults" -gatehouse "$tmp/gatehouse" "$@"
