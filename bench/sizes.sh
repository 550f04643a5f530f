#!/usr/bin/env bash
# bench/sizes.sh — table sizes per million rows (docs/scaling.md). It copies
# the real rows that gatehouse wrote into a database (by default
# gatehouse_three, which bench/three.sh leaves behind: accounts, sessions
# after many refreshes, audit events of every kind the load made) until each
# table has about N rows (default 200,000), each copy with new ids, emails
# and token hashes so that every index holds distinct keys, runs VACUUM
# ANALYZE, and prints per table: rows, the average row (pg_column_size), and
# pg_total_relation_size (heap, TOAST, indexes) per row and per million rows.
#
#   bench/three.sh && bench/sizes.sh
#   SIZES_DB=gatehouse_bench SIZES_ROWS=1000000 bench/sizes.sh
#
# Changes only that database. Needs the local PostgreSQL (trust auth as
# postgres). Not part of CI.
set -euo pipefail
DB=${SIZES_DB:-gatehouse_three}
N=${SIZES_ROWS:-200000}
URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
psql "$URL" -qAt -v ON_ERROR_STOP=1 -v n="$N" >/dev/null <<'SQL'
set session_replication_role = replica; -- no triggers or FK checks while copying
insert into users (id, email, password_hash, status, admin, created_at, updated_at)
select gen_random_uuid(), 'size-' || g || '-' || u.email, u.password_hash, u.status, u.admin, u.created_at, u.updated_at
from (select * from users order by created_at limit 1) u, generate_series(1, :n - (select count(*) from users)) g;
insert into sessions (id, user_id, method, created_at, last_used_at, rotated_at, expires_at, revoked_at, ip, user_agent, generation, refresh_hash)
select gen_random_uuid(), u.id, s.method, s.created_at, s.last_used_at, s.rotated_at, s.expires_at, s.revoked_at, s.ip, s.user_agent, s.generation,
       sha256(convert_to(u.id::text, 'UTF8'))
from (select * from sessions order by generation desc limit 1) s,
     (select id from users where email like 'size-%' limit :n - (select count(*) from sessions)) u;
insert into audit_events (id, workspace_id, time, type, outcome, actor, target, ip, user_agent, request_id, details)
select gen_random_uuid(), a.workspace_id, a.time, a.type, a.outcome, a.actor, a.target, a.ip, a.user_agent, a.request_id, a.details
from (select * from audit_events) a, generate_series(1, ceil(:n::numeric / greatest((select count(*) from audit_events), 1))::int) g;
SQL
psql "$URL" -qAt -c 'vacuum analyze' >/dev/null
echo "table rows avg_row_bytes total_bytes_per_row MiB_per_million"
for t in users sessions audit_events; do
	psql "$URL" -qAt -F ' ' -c "select '$t', count(*), avg(pg_column_size(x.*))::int, (pg_total_relation_size('$t') / count(*))::int,
		round(pg_total_relation_size('$t')::numeric / count(*) * 1e6 / 1048576) from $t x"
done
