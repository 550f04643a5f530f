#!/usr/bin/env bash
# bench/run.sh — the performance budget of DESIGN.md, measured in one run on
# loopback against gatehouse on PostgreSQL, each figure beside its baseline:
#   login    vs raw argon2id at the same parameters on the same cores
#   refresh  vs pgbench's simple-update transaction rate
#   GET /v1/me with a JWT vs a bare net/http handler
# Needs the local PostgreSQL (trust auth as postgres) and pgbench; takes about
# two minutes. It only talks to 127.0.0.1. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
D=${BENCH_SECONDS:-10}s
C=${BENCH_WORKERS:-8}
PG=${GATEHOUSE_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT

go build -o "$tmp/gatehouse" ./cmd/gatehouse
go build -o "$tmp/load" ./bench/load

psql "$PG" -qAt >/dev/null <<'SQL'
drop database if exists gatehouse_bench;
drop database if exists gatehouse_pgbench;
do $$ begin
  if not exists (select from pg_roles where rolname = 'gatehouse_bench_owner') then create role gatehouse_bench_owner login; end if;
  if not exists (select from pg_roles where rolname = 'gatehouse_bench_app') then create role gatehouse_bench_app login nosuperuser nobypassrls; end if;
end $$;
create database gatehouse_bench owner gatehouse_bench_owner;
create database gatehouse_pgbench;
SQL
base_url=${PG%%/postgres\?*}
owner="postgres://gatehouse_bench_owner@127.0.0.1:5432/gatehouse_bench?sslmode=disable"
app="postgres://gatehouse_bench_app@127.0.0.1:5432/gatehouse_bench?sslmode=disable"
GATEHOUSE_DATABASE_URL=$owner "$tmp/gatehouse" migrate --app-role gatehouse_bench_app >/dev/null

export GATEHOUSE_ADDR=127.0.0.1:18080 GATEHOUSE_PUBLIC_URL=http://127.0.0.1:18080 \
	GATEHOUSE_DATABASE_URL=$app GATEHOUSE_AUTH_SECRET=$("$tmp/gatehouse" secret generate) \
	GATEHOUSE_MAIL_DIR=$tmp/mail \
	GATEHOUSE_RATE_LIMITS=${BENCH_RATE_LIMITS-signup.ip=1000000/1s,token.ip=1000000/1s,token.account=1000000/1s,refresh.ip=1000000/1s}
# The rate limiter stays in the path (every request is still decided); the
# limits the load would hit from one loopback address are only lifted, since
# what is measured is throughput, not refusals. BENCH_RATE_LIMITS= (empty)
# runs with the documented defaults instead.
"$tmp/gatehouse" serve 2>"$tmp/serve.log" &
for i in $(seq 1 100); do curl -fs http://127.0.0.1:18080/healthz >/dev/null && break; sleep 0.1; done
"$tmp/load" -serve-bare 127.0.0.1:18081 &
sleep 0.5

run() { echo "$1 $("$tmp/load" -base "$2" -mode "$3" -c "${4:-$C}" -d "$D")"; }
{
	run argon2 - argon2 "$(nproc)"
	run login http://127.0.0.1:18080 login
	run refresh http://127.0.0.1:18080 refresh
	run me http://127.0.0.1:18080 me
	run bare http://127.0.0.1:18081 bare
	pgbench -q -i -s 1 "${PG/\/postgres\?/\/gatehouse_pgbench?}" >/dev/null 2>&1
	tps=$(pgbench -n -b simple-update -c "$C" -j 2 -T "${D%s}" "${PG/\/postgres\?/\/gatehouse_pgbench?}" 2>/dev/null | awk '/^tps/ {print $3; exit}')
	echo "pgbench {\"per_second\": $tps}"
} | tee "$tmp/results"

python3 - "$tmp/results" <<'PY'
import json, sys
r = {}
for line in open(sys.argv[1]):
    name, js = line.split(" ", 1)
    r[name] = json.loads(js)
def ratio(a, b): return r[a]["per_second"] / r[b]["per_second"]
print()
print("login   %7.0f/s  = %.2f of raw argon2id (%.0f/s); p99/p50 = %.1f" % (r["login"]["per_second"], ratio("login", "argon2"), r["argon2"]["per_second"], r["login"]["p99_ms"] / max(r["login"]["p50_ms"], 1e-9)))
print("refresh %7.0f/s  = %.2f of pgbench simple-update (%.0f tps)" % (r["refresh"]["per_second"], ratio("refresh", "pgbench"), r["pgbench"]["per_second"]))
print("GET /v1/me %7.0f/s = %.2f of a bare net/http handler (%.0f/s)" % (r["me"]["per_second"], ratio("me", "bare"), r["bare"]["per_second"]))
PY
