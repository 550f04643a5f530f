#!/usr/bin/env bash
# bench/pgbouncer.sh — gatehouse through PgBouncer in transaction pooling
# mode (docs/scaling.md): for each pgx query mode given (default: the
# driver's default, cache_statement, and exec), a gatehouse instance whose
# GATEHOUSE_DATABASE_URL points at PgBouncer runs every scenario of
# bench/load briefly, with 2 PgBouncer server connections for 16 clients so
# that transactions really do move between server connections, and the
# answers outside 2xx are printed. A mode passes when no scenario had an error.
#
#   bench/pgbouncer.sh
#   MODES="exec" bench/pgbouncer.sh
#
# Needs pgbouncer (apt-get install pgbouncer; not started as a service
# here), the local PostgreSQL (trust auth as postgres) and Redis (database
# 11 is flushed). Talks only to 127.0.0.1 (PgBouncer on 16432). Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
# The load signs accounts up and straight in: no mailbox round trip.
export GATEHOUSE_EMAIL_VERIFICATION=off
PG=${GATEHOUSE_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
MODES=${MODES:-cache_statement exec}
tmp=$(mktemp -d)
trap '[ -f "$tmp/pgbouncer.pid" ] && kill "$(cat "$tmp/pgbouncer.pid")" 2>/dev/null; kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT

go build -o "$tmp/gatehouse" ./cmd/gatehouse
go build -o "$tmp/load" ./bench/load
psql "$PG" -qAt >/dev/null <<'SQL'
drop database if exists gatehouse_bouncer;
do $$ begin
  if not exists (select from pg_roles where rolname = 'gatehouse_bench_owner') then create role gatehouse_bench_owner login; end if;
  if not exists (select from pg_roles where rolname = 'gatehouse_bench_app') then create role gatehouse_bench_app login nosuperuser nobypassrls; end if;
end $$;
create database gatehouse_bouncer owner gatehouse_bench_owner;
SQL
GATEHOUSE_DATABASE_URL="postgres://gatehouse_bench_owner@127.0.0.1:5432/gatehouse_bouncer?sslmode=disable" \
	"$tmp/gatehouse" migrate --app-role gatehouse_bench_app >/dev/null
redis-cli -n 11 flushdb >/dev/null

cat >"$tmp/pgbouncer.ini" <<EOF
[databases]
gatehouse_bouncer = host=127.0.0.1 port=5432 dbname=gatehouse_bouncer
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = 16432
unix_socket_dir =
auth_type = trust
auth_file = $tmp/users.txt
pool_mode = transaction
default_pool_size = 2
max_client_conn = 200
logfile = $tmp/pgbouncer.log
pidfile = $tmp/pgbouncer.pid
EOF
echo '"gatehouse_bench_app" ""' >"$tmp/users.txt"
# PgBouncer refuses to run as root: as root, it runs as postgres.
chmod 755 "$tmp"
as=()
[ "$(id -u)" = 0 ] && as=(runuser -u postgres --) && touch "$tmp/pgbouncer.log" && chown postgres "$tmp/pgbouncer.log" && chmod 777 "$tmp"
"${as[@]}" pgbouncer "$tmp/pgbouncer.ini" >/dev/null 2>&1 &
for _ in $(seq 1 50); do psql "postgres://gatehouse_bench_app@127.0.0.1:16432/gatehouse_bouncer?sslmode=disable" -qAtc 'select 1' >/dev/null 2>&1 && break; sleep 0.1; done
echo "PgBouncer $(pgbouncer --version | head -1), pool_mode=transaction, 2 server connections"

LIFT=1000000/1s
export GATEHOUSE_ADDR=127.0.0.1:18110 GATEHOUSE_PUBLIC_URL=http://127.0.0.1:18110 GATEHOUSE_MAIL_DIR=$tmp/mail \
	GATEHOUSE_REDIS_URL=redis://127.0.0.1:6379/11 GATEHOUSE_AUTH_SECRET=$("$tmp/gatehouse" secret generate) \
	GATEHOUSE_TRUSTED_PROXIES=127.0.0.0/8 \
	GATEHOUSE_RATE_LIMITS="signup.email=$LIFT,token.account=$LIFT,refresh.token=$LIFT,pat_create.user=$LIFT,workspace_create.user=$LIFT,oauth_token.client=$LIFT,introspect.client=$LIFT"
status=0
for mode in $MODES; do
	url="postgres://gatehouse_bench_app@127.0.0.1:16432/gatehouse_bouncer?sslmode=disable&default_query_exec_mode=$mode"
	GATEHOUSE_DATABASE_URL=$url "$tmp/gatehouse" serve 2>"$tmp/serve-$mode.log" &
	pid=$!
	up=no
	for _ in $(seq 1 100); do curl -fs http://127.0.0.1:18110/healthz >/dev/null && up=yes && break; sleep 0.1; done
	echo
	echo "default_query_exec_mode=$mode:"
	bad=0
	if [ $up = no ]; then echo "  the server did not start: $(tail -c 300 "$tmp/serve-$mode.log")"; bad=1; fi
	for m in login refresh me me-pat cc introspect jwks; do
		[ $up = yes ] || break
		if out=$(timeout 60 "$tmp/load" -xff -base http://127.0.0.1:18110 -mode $m -c 16 -d 2s 2>"$tmp/err"); then
			line=$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("%-11s %6d ok, errors by status %s" % (sys.argv[2], r["ok"], r["by_status"] or "none")); sys.exit(1 if r["errors"] else 0)' "$out" $m) || bad=1
			echo "  $line"
		else
			echo "  $m: setup failed: $(tail -c 300 "$tmp/err")"
			bad=1
		fi
	done
	kill $pid; wait $pid 2>/dev/null || true
	if [ $bad = 0 ]; then echo "  PASS"; else echo "  FAIL"; status=1; fi
done
exit $status
