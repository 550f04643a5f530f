#!/usr/bin/env bash
# bench/overload.sh — a login storm, measured against a calm baseline in one
# run (docs/performance.md): `bench/load -mode login -c 16,500,16,500` (each
# count's two phases merged: alternating them cancels drift in the load of
# a shared machine), twice against one gatehouse server: with clients that
# retry at once after a 503, then with clients that honour Retry-After. It
# prints the figures: goodput at 500 clients as a fraction of goodput at 16, p50/p99 of
# the admitted logins, the 503s shed, whether every 503 had Retry-After, and
# the server's peak RSS.
#
#   bench/overload.sh            # SQLite: gatehouse serve --dev
#   STORE=postgres bench/overload.sh   # PostgreSQL + Redis, as bench/run.sh
#
# BENCH_SECONDS (default 10) is the length of each phase. Needs curl and
# python3; the PostgreSQL store needs the local PostgreSQL (trust auth as
# postgres) and Redis on 127.0.0.1:6379 (database 14 is flushed). It only
# talks to 127.0.0.1. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
# The load signs accounts up and straight in: no mailbox round trip.
export GATEHOUSE_EMAIL_VERIFICATION=off
D=${BENCH_SECONDS:-10}s
STORE=${STORE:-sqlite}
PG=${GATEHOUSE_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
ADDR=127.0.0.1:${BENCH_PORT:-18090}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT

# BENCH_GATEHOUSE: a gatehouse binary to measure instead (e.g. an older build).
if [ -n "${BENCH_GATEHOUSE:-}" ]; then cp "$BENCH_GATEHOUSE" "$tmp/gatehouse"; else go build -o "$tmp/gatehouse" ./cmd/gatehouse; fi
go build -o "$tmp/load" ./bench/load

# The rate limits stay in the path (every request is still decided); the
# limits that one loopback address would hit are only lifted, since what is
# measured is the hashing pool under overload, not refusals by address.
export GATEHOUSE_ADDR=$ADDR GATEHOUSE_PUBLIC_URL=http://$ADDR GATEHOUSE_MAIL_DIR=$tmp/mail \
	GATEHOUSE_RATE_LIMITS=${BENCH_RATE_LIMITS-signup.ip=1000000/1s,token.ip=1000000/1s,token.account=1000000/1s,refresh.ip=1000000/1s}
case $STORE in
sqlite)
	(cd "$tmp" && exec "$tmp/gatehouse" serve --dev 2>"$tmp/serve.log") &
	pid=$!
	;;
postgres)
	psql "$PG" -qAt >/dev/null <<'SQL'
drop database if exists gatehouse_overload;
do $$ begin
  if not exists (select from pg_roles where rolname = 'gatehouse_bench_owner') then create role gatehouse_bench_owner login; end if;
  if not exists (select from pg_roles where rolname = 'gatehouse_bench_app') then create role gatehouse_bench_app login nosuperuser nobypassrls; end if;
end $$;
create database gatehouse_overload owner gatehouse_bench_owner;
SQL
	GATEHOUSE_DATABASE_URL="postgres://gatehouse_bench_owner@127.0.0.1:5432/gatehouse_overload?sslmode=disable" \
		"$tmp/gatehouse" migrate --app-role gatehouse_bench_app >/dev/null
	redis-cli -n 14 flushdb >/dev/null 2>&1 || true
	GATEHOUSE_DATABASE_URL="postgres://gatehouse_bench_app@127.0.0.1:5432/gatehouse_overload?sslmode=disable" \
		GATEHOUSE_REDIS_URL=redis://127.0.0.1:6379/14 GATEHOUSE_AUTH_SECRET=$("$tmp/gatehouse" secret generate) \
		"$tmp/gatehouse" serve 2>"$tmp/serve.log" &
	pid=$!
	;;
*) echo "STORE must be sqlite or postgres" >&2; exit 2 ;;
esac
for i in $(seq 1 100); do curl -fs "http://$ADDR/healthz" >/dev/null && break; sleep 0.1; done

for honour in false true; do
	echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true # reset the peak RSS, where the kernel allows
	"$tmp/load" -base "http://$ADDR" -mode login -c 16,500,16,500 -d "$D" -honour-retry-after=$honour >"$tmp/run-$honour"
	echo "$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")" >"$tmp/rss-$honour"
done
curl -fs "http://$ADDR/metrics" | grep '^gatehouse_overload_shed_total' >"$tmp/shed" || true

python3 - "$tmp" "$STORE" "$D" <<'PY'
import json, sys
tmp, store, d = sys.argv[1:]
print(f"store: {store}, login mode, 2 phases of {d} per client count, alternated; the server and the load tool share the machine's cores")
ok = True
for honour in ("false", "true"):
    calm, storm = [json.loads(l) for l in open(f"{tmp}/run-{honour}")]
    rss = int(open(f"{tmp}/rss-{honour}").read()) / 1024
    ratio = storm["per_second"] / max(calm["per_second"], 1e-9)
    tail = storm["p99_ms"] / max(storm["p50_ms"], 1e-9)
    ra = storm["shed_with_retry_after"] + calm["shed_with_retry_after"]
    shed = storm["shed_503"] + calm["shed_503"]
    ra_pct = 100.0 * ra / shed if shed else 100.0
    print()
    print("clients %s Retry-After:" % ("honouring" if honour == "true" else "ignoring"))
    print("  16 clients:  %6.1f logins/s, p50 %6.0f ms, p99 %6.0f ms, %d shed" % (calm["per_second"], calm["p50_ms"], calm["p99_ms"], calm["shed_503"]))
    print("  500 clients: %6.1f logins/s, p50 %6.0f ms, p99 %6.0f ms, %d shed, %d errors" % (storm["per_second"], storm["p50_ms"], storm["p99_ms"], storm["shed_503"], storm["errors"]))
    checks = [
        ("goodput 500/16 = %.2f (target >= 0.8)" % ratio, ratio >= 0.8),
        ("p99/p50 at 500 = %.2f (target <= 3)" % tail, tail <= 3),
        ("peak RSS %.0f MiB (target <= 200)" % rss, rss <= 200),
        ("503s with Retry-After: %.1f%% of %d (target 100%%)" % (ra_pct, shed), ra == shed),
    ]
    for text, good in checks:
        print("  %-55s %s" % (text, "ok" if good else "MISSED"))
        ok = ok and good
print()
print("server metrics:")
for line in open(f"{tmp}/shed"):
    print("  " + line.strip())
sys.exit(0 if ok else 1)
PY
