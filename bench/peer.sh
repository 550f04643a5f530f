#!/usr/bin/env bash
# bench/peer.sh — gatehouse's client_credentials grant and token
# introspection measured side by side with a well-known Go OAuth 2.0 server,
# Ory Hydra v2.3.0, on the same PostgreSQL, in one run (docs/performance.md):
# each worker registers a client of its own at each server, and the phases
# alternate (gatehouse, Hydra, gatehouse, Hydra) so that the machine's drift
# falls on both. Hydra runs twice: with its default opaque access tokens and
# with JWT access tokens (gatehouse's are JWTs).
#
#   bench/peer.sh                     # BENCH_SECONDS=4 BENCH_WORKERS=16
#   HYDRA=/path/to/hydra bench/peer.sh
#
# Hydra is built from the Go module proxy unless HYDRA names a binary: its
# module has a replace directive for a nested module (its API client) that
# the module zip does not hold, so the build drops that line and takes the
# published github.com/ory/hydra-client-go/v2 instead (cached in
# ~/.cache/gatehouse-bench). Needs the local PostgreSQL (trust auth as
# postgres), Redis (database 10 is flushed), curl and python3; talks only to
# 127.0.0.1 (gatehouse on 18120, Hydra on 4444/4445). Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
D=${BENCH_SECONDS:-4}s
C=${BENCH_WORKERS:-16}
PG=${GATEHOUSE_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT

go build -o "$tmp/gatehouse" ./cmd/gatehouse
go build -o "$tmp/load" ./bench/load
L=$tmp/load
if [ -z "${HYDRA:-}" ]; then
	cache=${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse-bench
	HYDRA=$cache/hydra-v2.3.0
	if [ ! -x "$HYDRA" ]; then
		mkdir -p "$cache"
		dir=$(go mod download -json github.com/ory/hydra/v2@v2.3.0 | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
		rm -rf "$cache/hydra-src" && cp -r "$dir" "$cache/hydra-src" && chmod -R u+w "$cache/hydra-src"
		(cd "$cache/hydra-src" && sed -i '/hydra-client-go\/v2 => .\/internal\/httpclient/d' go.mod && go build -o "$HYDRA" .)
	fi
fi

psql "$PG" -qAt >/dev/null <<'SQL'
drop database if exists gatehouse_peer;
drop database if exists hydra_peer;
do $$ begin
  if not exists (select from pg_roles where rolname = 'gatehouse_bench_owner') then create role gatehouse_bench_owner login; end if;
  if not exists (select from pg_roles where rolname = 'gatehouse_bench_app') then create role gatehouse_bench_app login nosuperuser nobypassrls; end if;
end $$;
create database gatehouse_peer owner gatehouse_bench_owner;
create database hydra_peer;
SQL
GATEHOUSE_DATABASE_URL="postgres://gatehouse_bench_owner@127.0.0.1:5432/gatehouse_peer?sslmode=disable" \
	"$tmp/gatehouse" migrate --app-role gatehouse_bench_app >/dev/null
redis-cli -n 10 flushdb >/dev/null

# As bench/run.sh: every request from an address of its own, the
# per-client limits (which one client per worker would meet) lifted.
LIFT=1000000/1s
gh=http://127.0.0.1:18120
GATEHOUSE_EMAIL_VERIFICATION=off GATEHOUSE_TRUSTED_PROXIES=127.0.0.0/8 \
	GATEHOUSE_RATE_LIMITS="signup.email=$LIFT,token.account=$LIFT,workspace_create.user=$LIFT,oauth_token.client=$LIFT,introspect.client=$LIFT" \
	GATEHOUSE_ADDR=127.0.0.1:18120 GATEHOUSE_PUBLIC_URL=$gh GATEHOUSE_MAIL_DIR=$tmp/mail \
	GATEHOUSE_AUTH_SECRET=$("$tmp/gatehouse" secret generate) \
	GATEHOUSE_DATABASE_URL="postgres://gatehouse_bench_app@127.0.0.1:5432/gatehouse_peer?sslmode=disable" \
	GATEHOUSE_REDIS_URL=redis://127.0.0.1:6379/10 "$tmp/gatehouse" serve 2>"$tmp/gatehouse.log" &
gpid=$!

export DSN="postgres://postgres@127.0.0.1:5432/hydra_peer?sslmode=disable" SECRETS_SYSTEM=$(head -c 32 /dev/urandom | base64)
"$HYDRA" migrate sql -e --yes >/dev/null 2>&1
hydra_up() { # $1: the access token strategy
	URLS_SELF_ISSUER=http://127.0.0.1:4444 STRATEGIES_ACCESS_TOKEN=$1 LOG_LEVEL=error \
		SERVE_PUBLIC_HOST=127.0.0.1 SERVE_ADMIN_HOST=127.0.0.1 \
		"$HYDRA" serve all --dev --sqa-opt-out >"$tmp/hydra-$1.log" 2>&1 &
	hpid=$!
	for _ in $(seq 1 150); do curl -fs http://127.0.0.1:4444/health/ready >/dev/null && break; sleep 0.1; done
	# One token first: Hydra makes its signing keys on first use (an RSA
	# key for JWT access tokens takes seconds), which no phase should time.
	local c
	c=$(curl -fsS -X POST http://127.0.0.1:4445/admin/clients -H 'Content-Type: application/json' \
		-d '{"grant_types":["client_credentials"],"token_endpoint_auth_method":"client_secret_basic"}')
	curl -fsS -m 300 -u "$(python3 -c 'import json,sys; c=json.loads(sys.argv[1]); print(c["client_id"]+":"+c["client_secret"])' "$c")" \
		-d grant_type=client_credentials http://127.0.0.1:4444/oauth2/token >/dev/null || {
		echo "Hydra did not issue a token: $(tail -c 400 "$tmp/hydra-$1.log")" >&2
		exit 1
	}
}
for _ in $(seq 1 150); do curl -fs $gh/healthz >/dev/null && break; sleep 0.1; done

out=$tmp/results.txt
phase() { echo "$1 $("$L" "${@:2}" -c "$C" -d "$D")" >>"$out"; }
for strategy in opaque jwt; do
	hydra_up $strategy
	for round in 1 2; do
		phase gatehouse-cc -xff -base $gh -mode cc -pid $gpid
		phase hydra-$strategy-cc -base http://127.0.0.1:4444 -peer-admin http://127.0.0.1:4445 -mode peer-cc -pid $hpid
		phase gatehouse-introspect -xff -base $gh -mode introspect -pid $gpid
		phase hydra-$strategy-introspect -base http://127.0.0.1:4444 -peer-admin http://127.0.0.1:4445 -mode peer-introspect -pid $hpid
	done
	kill $hpid
	wait $hpid 2>/dev/null || true
done
cp "$out" "${BENCH_OUT:-docs/performance}/results-peer.txt"

python3 - "$out" <<'PY'
import json, sys, collections
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    name, js = line.split(" ", 1)
    runs[name].append(json.loads(js))
def agg(name):
    rs = runs[name]
    return (sum(r["per_second"] for r in rs) / len(rs),
            sum(r.get("cpu_s_per_1k", 0) for r in rs) / len(rs) * 1000,
            max(r["p99_ms"] for r in rs),
            sum(sum(r["by_status"].values()) for r in rs))
ok = True
for what, target in (("cc", 5), ("introspect", 3)):
    g = agg("gatehouse-" + what)
    print("%-10s gatehouse %7.0f/s  p99 %6.1f ms  CPU %4.0f us  non-2xx %d" % (what, g[0], g[2], g[1], g[3]))
    for strategy in ("opaque", "jwt"):
        h = agg("hydra-%s-%s" % (strategy, what))
        if h[0] == 0:
            print("%-10s Hydra %-6s no answer within the client's 30 s (errors: %d)" % ("", strategy, h[3]))
            continue
        good = g[0] >= target * h[0]
        ok = ok and good
        print("%-10s Hydra %-6s %7.0f/s  p99 %6.1f ms  CPU %4.0f us  non-2xx %d   gatehouse = %.1f x (>= %d) %s" % (
            "", strategy, h[0], h[2], h[1], h[3], g[0] / h[0], target, "ok" if good else "MISSED"))
sys.exit(0 if ok else 1)
PY
