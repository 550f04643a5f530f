#!/usr/bin/env bash
# bench/run.sh — gatehouse's hot paths, each measured beside the limit it is
# held to, in one run on loopback (docs/performance.md):
#   login                vs raw argon2id at the same parameters (CPU per login)
#   refresh              vs pgbench simple-update, 8 clients
#   GET /v1/me (JWT, PAT) vs a bare net/http handler doing the same
#                        primary-key read with the same driver
#   client_credentials, introspection vs the same bare handler
#   JWKS                 vs a bare handler serving the same bytes
#   package verify's middleware vs the same bare handler without it
#   a TOTP second-factor sign-in (password, then code) and a passwordless
#                        passkey sign-in: figures only, no target
#   a flood of over-limit logins from many addresses, legitimate logins mixed in
#   500 concurrent logins: the server's peak RSS
# For each: goodput, p50/p99/p999 (HDR histogram), answers by status, the
# server's CPU seconds per 1,000 requests and peak RSS (/proc), and on
# PostgreSQL the statements and round trips per request (counted by a proxy
# in a second, short pass, so the measured pass has no proxy in its path).
#
#   bench/run.sh                  # both stores: SQLite (--dev) and PostgreSQL + Redis
#   STORES=postgres bench/run.sh  # one
#
# BENCH_PERF=1 also profiles gatehouse's CPU in each phase (perf record).
# BENCH_SECONDS (default 4) is the length of each phase, BENCH_WORKERS
# (default 16) the clients. Results go to BENCH_OUT (default
# docs/performance/), one "name {json}" line per figure in results-STORE.txt,
# and, with both stores, one latency plot per scenario (SVG). Needs the local
# PostgreSQL (trust auth as postgres), pgbench, Redis on 127.0.0.1:6379
# (database 13 is flushed), curl and python3. Talks only to 127.0.0.1. Not
# part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
# The load signs accounts up and straight in: no mailbox round trip.
export GATEHOUSE_EMAIL_VERIFICATION=off
D=${BENCH_SECONDS:-4}s
C=${BENCH_WORKERS:-16}
STORES=${STORES:-sqlite postgres}
OUT=${BENCH_OUT:-docs/performance}
PG=${GATEHOUSE_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
mkdir -p "$OUT"
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT

go build -o "$tmp/gatehouse" ./cmd/gatehouse
go build -o "$tmp/load" ./bench/load
L=$tmp/load

# The rate limits stay in the path (every request is still decided). Every
# request of the load comes from an address of its own (-xff: X-Forwarded-For
# from a trusted loopback proxy), so the per-address limits are met only by
# the flood, whose addresses send many; the per-account and per-client ones,
# which the load (one account or client per worker) would meet, are lifted,
# since what is measured is throughput, not refusals. token.ip is lowered
# to 1 an hour: each flood address is pushed past it before the flood is
# measured.
LIFT=1000000/1s
export GATEHOUSE_RATE_LIMITS=${BENCH_RATE_LIMITS-token.ip=1/1h,signup.email=$LIFT,token.account=$LIFT,refresh.token=$LIFT,pat_create.user=$LIFT,workspace_create.user=$LIFT,oauth_token.client=$LIFT,introspect.client=$LIFT}
export GATEHOUSE_TRUSTED_PROXIES=127.0.0.0/8
# Passkeys need a relying party, and the public URL is an IP address, which
# cannot be one (docs/mfa.md): localhost is, with the public URL's port as
# the origin the load's authenticator signs for.
WEBAUTHN_ORIGIN=http://localhost:18080
export GATEHOUSE_WEBAUTHN_RP_ID=localhost GATEHOUSE_WEBAUTHN_ORIGINS=$WEBAUTHN_ORIGIN

wait_up() { for _ in $(seq 1 150); do curl -fs "$1/healthz" >/dev/null && return; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

bench_store() {
	local store=$1 res=$OUT/results-$1.txt gh=http://127.0.0.1:18080 bare=http://127.0.0.1:18081 dburl pid
	export GATEHOUSE_ADDR=127.0.0.1:18080 GATEHOUSE_PUBLIC_URL=$gh GATEHOUSE_MAIL_DIR=$tmp/mail-$store
	case $store in
	sqlite)
		mkdir -p "$tmp/dev"
		(cd "$tmp/dev" && exec env -u GATEHOUSE_REDIS_URL "$tmp/gatehouse" serve --dev 2>"$tmp/serve-$store.log") &
		pid=$!
		dburl=sqlite:$tmp/dev/gatehouse-data/gatehouse.db
		;;
	postgres)
		psql "$PG" -qAt >/dev/null <<-'SQL'
			drop database if exists gatehouse_bench;
			drop database if exists gatehouse_pgbench;
			do $$ begin
			  if not exists (select from pg_roles where rolname = 'gatehouse_bench_owner') then create role gatehouse_bench_owner login; end if;
			  if not exists (select from pg_roles where rolname = 'gatehouse_bench_app') then create role gatehouse_bench_app login nosuperuser nobypassrls; end if;
			end $$;
			create database gatehouse_bench owner gatehouse_bench_owner;
			create database gatehouse_pgbench;
		SQL
		GATEHOUSE_DATABASE_URL="postgres://gatehouse_bench_owner@127.0.0.1:5432/gatehouse_bench?sslmode=disable" \
			"$tmp/gatehouse" migrate --app-role gatehouse_bench_app >/dev/null
		redis-cli -n 13 flushdb >/dev/null
		dburl="postgres://gatehouse_bench_app@127.0.0.1:5432/gatehouse_bench?sslmode=disable"
		export GATEHOUSE_AUTH_SECRET=$("$tmp/gatehouse" secret generate)
		GATEHOUSE_DATABASE_URL=$dburl GATEHOUSE_REDIS_URL=redis://127.0.0.1:6379/13 \
			"$tmp/gatehouse" serve 2>"$tmp/serve-$store.log" &
		pid=$!
		;;
	esac
	wait_up $gh
	# The baselines' server needs rows to read and the JWKS to copy: one
	# signed-up account is enough to start it; it reads the accounts that
	# exist when it starts (the login phase below makes hundreds).
	"$L" -xff -base $gh -mode login -c 1 -d 100ms >/dev/null
	{
		echo "argon2 $("$L" -mode argon2 -c "$(nproc)" -d "$D")"
		# login at $C and at 500 clients (peak RSS: the hashing queue's
		# bound must hold memory, not only time).
		"$L" -xff -base $gh -mode login -c "$C,500" -d "$D" -pid $pid | sed -n '1s/^/login /p;2s/^/login500 /p'
	} | tee "$res"
	"$L" -serve-bare 127.0.0.1:18081 -bare-db "$dburl" -bare-jwks $gh/.well-known/jwks.json -bare-issuer $gh &
	wait_bare=$!
	for _ in $(seq 1 100); do curl -fs $bare/ >/dev/null && break; sleep 0.1; done
	# BENCH_PERF=1: a CPU profile of gatehouse (not of the baselines) during
	# each measured phase, its hottest functions in $OUT/perf-STORE-NAME.txt.
	run() {
		local prof=()
		[ -n "${BENCH_PERF:-}" ] && [ "$2" = $gh ] && prof=(-perf "$tmp/perf-$1.data")
		echo "$1 $("$L" -xff -base "$2" -mode "$3" -c "$C" -d "$D" ${4:-} "${prof[@]}")"
		if [ ${#prof[@]} -gt 0 ]; then
			perf report -q -i "$tmp/perf-$1.data" --no-children --stdio -g none --percent-limit 0.7 2>/dev/null >"$OUT/perf-$store-$1.txt" || true
		fi
	}
	{
		run refresh $gh refresh "-pid $pid"
		run me $gh me "-pid $pid"
		run bare-db $bare/db bare "-pid $wait_bare"
		run me-pat $gh me-pat "-pid $pid"
		run cc $gh cc "-pid $pid"
		run introspect $gh introspect "-pid $pid"
		run jwks $gh jwks "-pid $pid"
		run bare-jwks $bare/jwks bare "-pid $wait_bare"
		run bare $bare/ bare "-pid $wait_bare"
		# package verify's middleware (examples/resource-server) in front of
		# the bare static handler, checking the sessions' access tokens,
		# against the same requests (the same bearer header) to that handler
		# without it.
		run verify $gh verify "-pid $wait_bare -verify-url $bare/verify"
		run bare-bearer $gh verify "-pid $wait_bare -verify-url $bare/"
		# Sign-ins with a second factor: TOTP after the password (each
		# worker signs in accounts of its own in turn, each code once), and
		# a passkey alone.
		run totp $gh totp "-pid $pid"
		run passkey $gh passkey "-pid $pid -webauthn-origin $WEBAUTHN_ORIGIN"
		"$L" -xff -base $gh -mode flood -c 4 -flood 64 -flood-addrs 128 -flood-rate ${BENCH_FLOOD_RATE:-1000} -d "$D" -pid $pid | sed -n '1s/^/flood-idle /p;2s/^/flood /p'
		if [ "$store" = postgres ]; then
			pgbench -q -i -s 1 "${PG/\/postgres\?/\/gatehouse_pgbench?}" >/dev/null 2>&1
			# -l: each transaction's latency (µs, third column), for its p50/p99:
			# the tail a committing transaction has on this machine at all.
			tps=$(cd "$tmp" && pgbench -n -b simple-update -c 8 -j 2 -T "${D%s}" -l --log-prefix=pgb "${PG/\/postgres\?/\/gatehouse_pgbench?}" 2>/dev/null | awk '/^tps/ {print $3; exit}')
			pct=$(cat "$tmp"/pgb.* | awk '{print $3}' | sort -n | awk '{v[NR]=$1} END {printf "\"p50_ms\": %.3f, \"p99_ms\": %.3f", v[int(NR*0.5)]/1000, v[int(NR*0.99)]/1000}')
			rm -f "$tmp"/pgb.*
			echo "pgbench {\"per_second\": $tps, $pct}"
		fi
	} | tee -a "$res"
	kill $wait_bare
	if [ "$store" = postgres ]; then
		# The counting pass: a second instance on the same database and
		# Redis, through the counting proxies, a few requests per scenario.
		"$L" -proxy-pg 127.0.0.1:15432=127.0.0.1:5432 -proxy-redis 127.0.0.1:16379=127.0.0.1:6379 -proxy-stats 127.0.0.1:18099 &
		sleep 0.3
		GATEHOUSE_ADDR=127.0.0.1:18082 GATEHOUSE_PUBLIC_URL=$gh \
			GATEHOUSE_DATABASE_URL="postgres://gatehouse_bench_app@127.0.0.1:15432/gatehouse_bench?sslmode=disable" \
			GATEHOUSE_REDIS_URL=redis://127.0.0.1:16379/13 "$tmp/gatehouse" serve 2>"$tmp/serve-count.log" &
		wait_up http://127.0.0.1:18082
		for m in login refresh me me-pat cc introspect jwks totp passkey; do
			echo "count-$m $("$L" -xff -base http://127.0.0.1:18082 -mode $m -c 2 -d 1s -counts http://127.0.0.1:18099 -webauthn-origin $WEBAUTHN_ORIGIN)"
		done | tee -a "$res"
		# Table sizes of what the run left behind (docs/scaling.md).
		psql "postgres://postgres@127.0.0.1:5432/gatehouse_bench?sslmode=disable" -qAt -F ' ' <<-'SQL' | sed 's/^/size /' | tee -a "$res"
			select c.relname, c.reltuples::bigint, pg_total_relation_size(c.oid), pg_relation_size(c.oid)
			from pg_class c join pg_namespace n on n.oid = c.relnamespace
			where n.nspname = 'public' and c.relkind = 'r' and c.reltuples > 0 order by 3 desc;
		SQL
	fi
	kill $pid
	wait $pid 2>/dev/null || true
}

for s in $STORES; do bench_store "$s"; done

status=0
python3 - "$OUT" $STORES <<'PY' || status=$?
import json, sys
out, stores = sys.argv[1], sys.argv[2:]
def load(store):
    r = {}
    for line in open(f"{out}/results-{store}.txt"):
        name, js = line.split(" ", 1)
        if name != "size":
            r[name] = json.loads(js)
    return r
ok = True
def check(text, good):
    global ok
    print("  %-78s %s" % (text, "ok" if good else "MISSED"))
    ok = ok and good
for store in stores:
    r = load(store)
    ps = lambda k: r[k]["per_second"]
    print(f"\n{store} ({r['login']['workers']} clients; ratios within this run):")
    argon_cpu = r["argon2"]["cpu_s_per_1k"]  # CPU seconds per 1,000 hashes, of the tool's own process
    l = r["login"]
    check("login %.0f/s, CPU %.1f s/1k = %.2f x argon2id's %.1f s/1k (<= 1.1); p99/p50 %.1f (<= 3)" % (
        ps("login"), l["cpu_s_per_1k"], l["cpu_s_per_1k"] / argon_cpu, argon_cpu, l["p99_ms"] / l["p50_ms"]),
        l["cpu_s_per_1k"] <= 1.1 * argon_cpu and l["p99_ms"] <= 3 * l["p50_ms"])
    if "pgbench" in r:
        check("refresh %.0f/s = %.2f x pgbench simple-update %.0f tps (>= 0.5); p99 %.1f ms (<= 15; pgbench's own p99 %.1f ms)" % (
            ps("refresh"), ps("refresh") / ps("pgbench"), ps("pgbench"), r["refresh"]["p99_ms"], r["pgbench"].get("p99_ms", float("nan"))),
            ps("refresh") >= 0.5 * ps("pgbench") and r["refresh"]["p99_ms"] <= 15)
    else:
        print("  refresh %.0f/s, p99 %.1f ms (no pgbench on SQLite)" % (ps("refresh"), r["refresh"]["p99_ms"]))
    cpu = lambda k: r[k].get("cpu_s_per_1k", float("nan")) * 1000  # µs a request
    for k, t, b in (("verify", 0.8, "bare-bearer"), ("me", 0.85, "bare-db"), ("me-pat", 0.35, "bare-db"), ("cc", 0.25, "bare-db"), ("introspect", 0.35, "bare-db"), ("jwks", 0.8, "bare-jwks")):
        check("%-10s %6.0f/s = %.2f x %s %.0f/s (>= %.2f); server CPU %.0f vs %.0f us a request" % (
            k, ps(k), ps(k) / ps(b), b, ps(b), t, cpu(k), cpu(b)), ps(k) >= t * ps(b))
    f, fi = r["flood"], r["flood-idle"]
    check("flood: %d over-limit logins (%.0f/s), %d not refused before hashing (0); legitimate p99 %.0f ms = %.2f x idle %.0f ms (<= 2)" % (
        f["flood_sent"], f["flood_per_second"], f["flood_not_refused"], f["p99_ms"], f["p99_ms"] / fi["p99_ms"], fi["p99_ms"]),
        f["flood_not_refused"] == 0 and f["p99_ms"] <= 2 * fi["p99_ms"])
    # The second-factor sign-ins: figures, no target. A totp request is both
    # steps (the password's argon2id hash included), a passkey one both calls.
    for k, what in (("totp", "TOTP sign-in (password, then code)"), ("passkey", "passkey sign-in (options, assertion)")):
        if k in r:
            x = r[k]
            print("  %-38s %6.1f/s, p99 %.1f ms, server CPU %.2f ms a sign-in%s" % (
                what, ps(k), x["p99_ms"], x.get("cpu_s_per_1k", float("nan")),
                "; %d workers ran out of codes (a lower bound)" % x["dry_workers"] if x.get("dry_workers") else ""))
    check("peak RSS at 500 concurrent logins %.0f MiB (<= 200)" % r["login500"]["peak_rss_mib"], r["login500"]["peak_rss_mib"] <= 200)
    for k in [k for k in r if k.startswith("count-")]:
        c = r[k]
        print("  %-18s %.2f statements, %.2f PostgreSQL round trips, %.2f Redis commands (%.2f round trips) a request" % (
            k[6:], c["pg_statements_per_req"], c["pg_round_trips_per_req"], c["redis_commands_per_req"], c["redis_round_trips_per_req"]))
sys.exit(0 if ok else 1)
PY
if [ "$(echo $STORES | wc -w)" -gt 1 ]; then
	for s in login refresh me me-pat cc introspect jwks totp passkey flood; do
		args=()
		for st in $STORES; do args+=("$st=$OUT/results-$st.txt:$s"); done
		[ $s = flood ] && for st in $STORES; do args+=("$st, no flood=$OUT/results-$st.txt:flood-idle"); done
		"$L" -plot "$OUT/$s.svg" -title "$s: latency by percentile" "${args[@]}"
	done
fi
exit $status
