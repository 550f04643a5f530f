#!/usr/bin/env bash
# bench/three.sh — three gatehouse instances on one PostgreSQL and one Redis,
# the load spread across them, acting as one (docs/scaling.md). It prints a
# verdict for each of:
#   - rate limits and failed-auth ceilings are shared (one address, its
#     requests spread over the three, meets one limit, not three);
#   - refresh-token reuse is detected across instances (a token rotated at
#     one instance and replayed at another ends the family everywhere);
#   - the load spread over the three (refresh chains and GET /v1/me) gets no
#     5xx;
#   - a scheduled key rotation happens exactly once (GATEHOUSE_KEY_ROTATION=1m,
#     GATEHOUSE_KEY_PUBLISH_AHEAD=20s: a next key is made about 40 s after
#     start, by one instance);
#   - the three publish identical JWKS within the publish-ahead window (the
#     new key is served by all three within 5 s of the first, before it
#     signs).
# Back-channel logout (delivered once) is printed as TODO: this build has no
# back-channel logout to deliver.
#
#   bench/three.sh
#
# Takes about 80 s. Needs the local PostgreSQL (trust auth as postgres) and
# Redis on 127.0.0.1:6379 (database 12 is flushed), curl and python3. Talks
# only to 127.0.0.1 (ports 18101-18103). Exits 1 if a verdict fails. Not part
# of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
# The load signs accounts up and straight in: no mailbox round trip.
export GATEHOUSE_EMAIL_VERIFICATION=off
PG=${GATEHOUSE_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
LOADSECS=${THREE_LOAD_SECONDS:-8}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT

go build -o "$tmp/gatehouse" ./cmd/gatehouse
go build -o "$tmp/load" ./bench/load

psql "$PG" -qAt >/dev/null <<'SQL'
drop database if exists gatehouse_three;
do $$ begin
  if not exists (select from pg_roles where rolname = 'gatehouse_bench_owner') then create role gatehouse_bench_owner login; end if;
  if not exists (select from pg_roles where rolname = 'gatehouse_bench_app') then create role gatehouse_bench_app login nosuperuser nobypassrls; end if;
end $$;
create database gatehouse_three owner gatehouse_bench_owner;
SQL
GATEHOUSE_DATABASE_URL="postgres://gatehouse_bench_owner@127.0.0.1:5432/gatehouse_three?sslmode=disable" \
	"$tmp/gatehouse" migrate --app-role gatehouse_bench_app >/dev/null
redis-cli -n 12 flushdb >/dev/null

LIFT=1000000/1s
# One secret for all three (refresh tokens and cookies are MACed with keys
# derived from it); the limits the spread load would hit from 127.0.0.1 are
# lifted, the failed-auth ceiling of an address is lowered to 5 (its test
# sends 9 failures from one forwarded address), and magic_link.ip keeps its
# default of 20 an hour (its test sends 30).
export GATEHOUSE_DATABASE_URL="postgres://gatehouse_bench_app@127.0.0.1:5432/gatehouse_three?sslmode=disable" \
	GATEHOUSE_REDIS_URL=redis://127.0.0.1:6379/12 \
	GATEHOUSE_AUTH_SECRET=$("$tmp/gatehouse" secret generate) \
	GATEHOUSE_PUBLIC_URL=http://127.0.0.1:18101 \
	GATEHOUSE_TRUSTED_PROXIES=127.0.0.0/8 \
	GATEHOUSE_MAIL_DIR=$tmp/mail \
	GATEHOUSE_KEY_ROTATION=1m GATEHOUSE_KEY_PUBLISH_AHEAD=20s GATEHOUSE_REFRESH_GRACE=1s \
	GATEHOUSE_RATE_LIMITS="signup.ip=$LIFT,signup.email=$LIFT,token.ip=$LIFT,token.account=$LIFT,refresh.ip=$LIFT,refresh.token=$LIFT,failed_auth.ip=5/15m"
start=$(date +%s)
for i in 1 2 3; do
	GATEHOUSE_ADDR=127.0.0.1:1810$i "$tmp/gatehouse" serve 2>"$tmp/serve-$i.log" &
done
for i in 1 2 3; do
	for _ in $(seq 1 150); do curl -fs "http://127.0.0.1:1810$i/healthz" >/dev/null && break; sleep 0.1; done
done

# The load, spread: each instance gets its own refresh chains and GET
# /v1/me, all at once, while the checks below run.
for i in 1 2 3; do
	("$tmp/load" -base "http://127.0.0.1:1810$i" -mode refresh -c 4 -d "${LOADSECS}s" >"$tmp/load-refresh-$i"
	 "$tmp/load" -base "http://127.0.0.1:1810$i" -mode me -c 4 -d "${LOADSECS}s" >"$tmp/load-me-$i") 2>"$tmp/load-$i.err" &
done

status=0
python3 - "$tmp" "$start" <<'PY' || status=$?
import json, subprocess, sys, time, urllib.request, urllib.error
tmp, start = sys.argv[1], int(sys.argv[2])
urls = ["http://127.0.0.1:1810%d" % i for i in (1, 2, 3)]
ok = True

def verdict(name, good, detail):
    global ok
    print("%-5s %s: %s" % ("PASS" if good else "FAIL", name, detail))
    ok = ok and good

def call(url, path, body=None, xff=None, method=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method or ("POST" if data else "GET"))
    if data:
        req.add_header("Content-Type", "application/json")
    if xff:
        req.add_header("X-Forwarded-For", xff)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()

def call_patiently(*args, **kw):
    # A 503 (the hashing pool shedding while the load signs up) is answered
    # before anything is counted: wait out its Retry-After and ask again, as
    # a client does.
    for _ in range(20):
        s, b = call(*args, **kw)
        if s != 503:
            return s, b
        time.sleep(1)
    return s, b

def psql(sql):
    return subprocess.run(["psql", "postgres://postgres@127.0.0.1:5432/gatehouse_three?sslmode=disable", "-qAtc", sql],
                          capture_output=True, text=True, check=True).stdout.strip()

# 1. Limits shared. failed_auth.ip is 5: 9 wrong passwords from one address,
# round-robin over the three, give 5 failures and 4 refusals if the ceiling
# is shared (9 failures if each instance kept its own).
codes = [call_patiently(urls[k % 3], "/v1/auth/token", {"email": "nobody@example.com", "password": "wrong wrong wrong"}, xff="198.51.100.7")[0] for k in range(9)]
verdict("failed-auth ceiling shared", codes.count(401) == 5 and codes.count(429) == 4,
        "9 failures from one address over 3 instances, ceiling 5: %s" % codes)
# magic_link.ip is 20 an hour: 30 requests round-robin give 20 accepted and
# 10 refused if the limit is shared (30 accepted if not).
codes = [call_patiently(urls[k % 3], "/v1/auth/magic-link", {"email": "someone-%d@example.com" % k}, xff="198.51.100.8")[0] for k in range(30)]
verdict("rate limit shared", codes.count(202) == 20 and codes.count(429) == 10,
        "30 magic-link requests from one address over 3 instances, limit 20/h: %d accepted, %d refused" % (codes.count(202), codes.count(429)))

# 2. Refresh reuse across instances (grace 1 s): sign in at 1, rotate at 2,
# replay the rotated token at 3; then the token 2 issued fails at 1 too.
email, pw = "three-%d@example.com" % start, "three instances, one passphrase"
call_patiently(urls[0], "/v1/auth/signup", {"email": email, "password": pw})
s, b = call_patiently(urls[0], "/v1/auth/token", {"email": email, "password": pw})
r0 = json.loads(b)["refresh_token"]
s1, b1 = call(urls[1], "/v1/auth/refresh", {"refresh_token": r0})
r1 = json.loads(b1).get("refresh_token") if s1 == 200 else None
time.sleep(1.6)  # past the 1 s grace window (GATEHOUSE_REFRESH_GRACE=0 would mean the default, 10 s)
s2, _ = call(urls[2], "/v1/auth/refresh", {"refresh_token": r0})
s3, _ = call(urls[0], "/v1/auth/refresh", {"refresh_token": r1}) if r1 else (None, None)
reuse = int(psql("select count(*) from audit_events where type = 'refresh.reuse_detected'"))
verdict("refresh reuse detected across instances", s1 == 200 and s2 == 401 and s3 == 401 and reuse >= 1,
        "rotated at 2: %s; replayed at 3: %s; the family's latest token at 1 afterwards: %s; refresh.reuse_detected events: %d" % (s1, s2, s3, reuse))

# 3. Key rotation exactly once, JWKS identical. Poll the three JWKS until
# a second key appears, note when each instance serves it.
def kids(u):
    s, b = call(u, "/.well-known/jwks.json")
    return tuple(sorted(k["kid"] for k in json.loads(b)["keys"])) if s == 200 else ()
first = [kids(u) for u in urls]
verdict("one first key for three instances starting together", len(set(first)) == 1 and len(first[0]) == 1,
        "kids at start: %s" % [list(k) for k in first])
seen = {}
deadline = time.time() + 80
while time.time() < deadline and len(seen) < 3:
    for i, u in enumerate(urls):
        k = kids(u)
        if len(k) >= 2 and i not in seen:
            seen[i] = (time.time(), k)
    time.sleep(0.25)
if len(seen) == 3:
    t = [seen[i][0] for i in range(3)]
    sets = {seen[i][1] for i in range(3)}
    spread = max(t) - min(t)
    time.sleep(3)  # any second rotation racing the first would show by now
    final = {kids(u) for u in urls}
    nkeys = int(psql("select count(*) from signing_keys"))
    rotated = int(psql("select count(*) from audit_events where type = 'key.rotated'"))
    verdict("identical JWKS within the publish-ahead window", len(sets) == 1 and len(final) == 1 and spread <= 5,
            "the new key served by all three within %.1f s of the first (poll 2 s, window 20 s); key sets equal: %s" % (spread, len(sets) == 1 and len(final) == 1))
    verdict("scheduled rotation exactly once", nkeys == 2 and len(next(iter(final))) == 2,
            "%d signing keys in the database, %d published, %d key.rotated audit events, %.0f s after start" % (
                nkeys, len(next(iter(final))), rotated, min(t) - start))
else:
    verdict("scheduled rotation exactly once", False, "no second key within 80 s (served by %d of 3)" % len(seen))
print("TODO  back-channel logout delivered once: not built on this branch, not checked")
sys.exit(0 if ok else 1)
PY
python3 - "$tmp" <<'PY' || status=1
import json, sys, glob
tmp = sys.argv[1]
fives, total, lines = 0, 0, []
for f in sorted(glob.glob(tmp + "/load-*-[123]")):
    for line in open(f):
        r = json.loads(line)
        five = sum(v for k, v in r["by_status"].items() if k.startswith("5"))
        fives += five
        total += r["ok"]
        lines.append("%s@%s %.0f/s" % (r["mode"], f[-1], r["per_second"]))
good = fives == 0 and len(lines) == 6
print("%-5s load spread over three instances: %d requests, %d 5xx (%s)" % ("PASS" if good else "FAIL", total, fives, ", ".join(lines)))
sys.exit(0 if good else 1)
PY
exit $status
