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
#     GATEHOUSE_KEY_PUBLISH_AHEAD=20s: in each key family, EdDSA for access
#     tokens and RS256 for id_tokens, a next key is made about 40 s after
#     start, by one instance);
#   - the three publish identical JWKS within the publish-ahead window (the
#     new keys are served by all three within 5 s of the first, before they
#     sign);
#   - back-channel logout is delivered once (a session with a grant for a
#     client whose backchannel_logout_uri is a receiver in this script ends
#     at one instance; the three outbox workers POST its logout token once,
#     not three times, and no second delivery follows; the token's claims
#     and RS256 signature are checked).
#
#   bench/three.sh
#
# Takes about 80 s. Needs the local PostgreSQL (trust auth as postgres) and
# Redis on 127.0.0.1:6379 (database 12 is flushed), curl and python3. Talks
# only to 127.0.0.1 (ports 18101-18103, and a free port for the back-channel
# receiver). Exits 1 if a verdict fails. Not part of CI.
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
# default of 20 an hour (its test sends 30). The back-channel receiver is on
# 127.0.0.1, an address the outbox workers refuse to call by default (a
# registered URI must not reach into gatehouse's own network: docs/oidc.md,
# "Logout"); GATEHOUSE_BACKCHANNEL_ALLOW_PRIVATE=true lets all three call it.
export GATEHOUSE_DATABASE_URL="postgres://gatehouse_bench_app@127.0.0.1:5432/gatehouse_three?sslmode=disable" \
	GATEHOUSE_REDIS_URL=redis://127.0.0.1:6379/12 \
	GATEHOUSE_AUTH_SECRET=$("$tmp/gatehouse" secret generate) \
	GATEHOUSE_PUBLIC_URL=http://127.0.0.1:18101 \
	GATEHOUSE_TRUSTED_PROXIES=127.0.0.0/8 \
	GATEHOUSE_MAIL_DIR=$tmp/mail \
	GATEHOUSE_KEY_ROTATION=1m GATEHOUSE_KEY_PUBLISH_AHEAD=20s GATEHOUSE_REFRESH_GRACE=1s \
	GATEHOUSE_BACKCHANNEL_ALLOW_PRIVATE=true \
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
import base64, hashlib, html, http.client, http.server, json, re, secrets, subprocess, sys, threading, time, urllib.parse, urllib.request, urllib.error
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

# 3. Key rotation exactly once, JWKS identical. There are two key
# families, each rotated on its own schedule: the access-token algorithm's
# (EdDSA) and RS256, which OpenID Connect Discovery 1.0 section 3 requires
# among the id_token algorithms (docs/reference.md §14). Poll the three JWKS until each family
# has a second key, note when each instance serves them.
def kids(u):
    s, b = call(u, "/.well-known/jwks.json")
    return tuple(sorted("%s:%s" % (k["alg"], k["kid"]) for k in json.loads(b)["keys"])) if s == 200 else ()
def algs(k):
    return sorted(x.split(":")[0] for x in k)
first = [kids(u) for u in urls]
families = len(set(algs(first[0])))
verdict("one first key per family for three instances starting together",
        len(set(first)) == 1 and families == 2 and len(first[0]) == families,
        "kids at start: %s" % [list(k) for k in first])
seen = {}
deadline = time.time() + 80
while time.time() < deadline and len(seen) < 3:
    for i, u in enumerate(urls):
        k = kids(u)
        if len(k) >= 2 * families and i not in seen:
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
    published = next(iter(final))
    verdict("identical JWKS within the publish-ahead window", len(sets) == 1 and len(final) == 1 and spread <= 5,
            "the new keys served by all three within %.1f s of the first (poll 2 s, window 20 s); key sets equal: %s" % (spread, len(sets) == 1 and len(final) == 1))
    verdict("scheduled rotation exactly once", nkeys == 2 * families and len(published) == 2 * families and algs(published) == sorted(algs(first[0]) * 2),
            "%d families, %d signing keys in the database, %d published (%s), %d key.rotated audit events, %.0f s after start" % (
                families, nkeys, len(published), " ".join(algs(published)), rotated, min(t) - start))
else:
    verdict("scheduled rotation exactly once", False, "no second key in each family within 80 s (served by %d of 3)" % len(seen))

# 4. Back-channel logout delivered once (OpenID Connect Back-Channel Logout
# 1.0, docs/oidc.md). A receiver on a free loopback port records each POST's
# logout_token and answers 200. A person signs in as a browser at 1 (cookie
# mode) and registers a confidential client whose backchannel_logout_uri is
# the receiver (id_token_signed_response_alg RS256, so that the logout
# token's signature can be checked here without a library); the person
# approves it at 2 (authorization code with PKCE, scope openid), the client
# exchanges the code at 3, and the person logs out at 1. Each of the three
# runs an outbox worker: the notice must reach the receiver once.
posts, posts_lock = [], threading.Lock()
class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        form = urllib.parse.parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
        with posts_lock:
            posts.append((time.time(), self.path, form.get("logout_token", [""])[0]))
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=receiver.serve_forever, daemon=True).start()
rp = "http://127.0.0.1:%d" % receiver.server_address[1]

def raw(url, method, path, body=None, headers={}):
    # One request, redirects not followed: (status, headers, body).
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    out = (r.status, r.headers, r.read())
    c.close()
    return out

def b64url(p):
    return base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))

def jwt_part(tok, i):
    return json.loads(b64url(tok.split(".")[i]))

def rs256_valid(tok, jwks):
    # RFC 7518 section 3.3 (RSASSA-PKCS1-v1_5, RFC 8017 section 8.2.2):
    # the signature raised to e mod n is 00 01 FF…FF 00, SHA-256's
    # DigestInfo and the hash of the signing input.
    kid = jwt_part(tok, 0).get("kid")
    key = next((k for k in jwks if k.get("kid") == kid and k.get("alg") == "RS256"), None)
    if key is None:
        return False
    n, e = (int.from_bytes(b64url(key[x]), "big") for x in ("n", "e"))
    size = (n.bit_length() + 7) // 8
    head, body, sig = tok.split(".")
    digest = bytes.fromhex("3031300d060960864801650304020105000420") + hashlib.sha256((head + "." + body).encode()).digest()
    want = b"\x00\x01" + b"\xff" * (size - len(digest) - 3) + b"\x00" + digest
    return pow(int.from_bytes(b64url(sig), "big"), e, n).to_bytes(size, "big") == want

origin = urls[0]  # GATEHOUSE_PUBLIC_URL: the three are one origin
bemail = "three-bcl-%d@example.com" % start
flow = []  # (step, status, status wanted)
def step(name, want, url, method, path, body=None, headers={}):
    st, h, b = raw(url, method, path, body, headers)
    flow.append((name, st, want))
    return h, (b if st == want else b"{}")
call_patiently(urls[0], "/v1/auth/signup", {"email": bemail, "password": pw})
h, b = step("sign-in@1", 200, urls[0], "POST", "/v1/auth/token", json.dumps({"email": bemail, "password": pw}),
            {"Content-Type": "application/json", "Origin": origin})
signin = json.loads(b)
cookies = "; ".join(c.split(";")[0] for c in h.get_all("Set-Cookie") or [])
bearer = {"Authorization": "Bearer %s" % signin.get("access_token"), "Content-Type": "application/json"}
_, b = step("workspace", 201, urls[0], "POST", "/v1/workspaces", json.dumps({"name": "three-bcl"}), bearer)
_, b = step("client", 201, urls[0], "POST", "/v1/workspaces/%s/clients" % json.loads(b).get("id"), json.dumps({"name": "three-bcl",
            "grant_types": ["authorization_code"], "redirect_uris": [rp + "/cb"], "backchannel_logout_uri": rp + "/backchannel",
            "id_token_signed_response_alg": "RS256"}), bearer)
client = json.loads(b)
cid, csecret = client.get("client_id", ""), client.get("client_secret", "")
verifier = secrets.token_urlsafe(48)
challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
q = urllib.parse.urlencode({"client_id": cid, "redirect_uri": rp + "/cb", "response_type": "code", "scope": "openid",
                            "state": "st", "nonce": "n", "code_challenge": challenge, "code_challenge_method": "S256"})
_, b = step("consent page@2", 200, urls[1], "GET", "/v1/oauth/authorize?" + q, headers={"Cookie": cookies})
fields = {k: html.unescape(v) for k, v in re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', b.decode())}
fields["decision"] = "approve"
h, _ = step("approve@2", 303, urls[1], "POST", "/v1/oauth/authorize", urllib.parse.urlencode(fields),
            {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookies, "Origin": origin})
code = urllib.parse.parse_qs(urllib.parse.urlsplit(h.get("Location", "")).query).get("code", [""])[0]
basic = base64.b64encode(("%s:%s" % (urllib.parse.quote(cid, safe=""), urllib.parse.quote(csecret, safe=""))).encode()).decode()
_, b = step("code exchange@3", 200, urls[2], "POST", "/v1/oauth/token", urllib.parse.urlencode({"grant_type": "authorization_code",
            "code": code, "redirect_uri": rp + "/cb", "code_verifier": verifier}),
            {"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Basic " + basic})
idt = jwt_part(json.loads(b)["id_token"], 1) if "id_token" in json.loads(b) else {}
sid, sub = signin.get("session_id"), idt.get("sub")
step("logout@1", 204, urls[0], "POST", "/v1/auth/logout", None,
     {"Cookie": cookies, "Origin": origin, "X-CSRF-Token": signin.get("csrf_token", "")})
ended = time.time()
deadline = ended + 30
while time.time() < deadline and not posts:
    time.sleep(0.1)
first_at = posts[0][0] - ended if posts else None
time.sleep(5)  # the three workers poll each second: a second delivery would come by now
with posts_lock:
    got = list(posts)
delivered = int(psql("select count(*) from audit_events where type = 'backchannel_logout.delivered'"))
failed = int(psql("select count(*) from audit_events where type = 'backchannel_logout.failed'"))
left = int(psql("select count(*) from outbox"))
by = [i for i in (1, 2, 3) if "backchannel_logout.delivered" in open("%s/serve-%d.log" % (tmp, i)).read()]
checks = {}
if got:
    tok = got[0][2]
    head, claims = jwt_part(tok, 0), jwt_part(tok, 1)
    aud = claims.get("aud")
    checks = {"typ": head.get("typ") == "logout+jwt",
              "RS256 signature": rs256_valid(tok, json.loads(call(urls[2], "/.well-known/jwks.json")[1])["keys"]),
              "events": "http://schemas.openid.net/event/backchannel-logout" in (claims.get("events") or {}),
              "sid": bool(sid) and claims.get("sid") == sid == idt.get("sid"),
              "sub": bool(sub) and claims.get("sub") == sub,
              "aud": (aud if isinstance(aud, list) else [aud]) == [cid],
              "no nonce": "nonce" not in claims,
              "path": got[0][1] == "/backchannel"}
flow_ok = all(st == want for _, st, want in flow)
verdict("back-channel logout delivered once", flow_ok and len(got) == 1 and all(checks.values())
        and delivered == 1 and failed == 0 and left == 0,
        "%s; %d POST to the receiver in %.0f s watched%s; logout token checks passed %d of %d (%s); "
        "backchannel_logout.delivered events: %d (by instance %s), failed: %d, outbox rows left: %d" % (
            ", ".join("%s %s" % (name, st) for name, st, _ in flow), len(got), time.time() - ended,
            ", the first %.1f s after the logout" % first_at if got else "",
            sum(checks.values()), len(checks), ", ".join(k if v else "FAILED " + k for k, v in checks.items()),
            delivered, ", ".join(map(str, by)) or "none", failed, left))
receiver.shutdown()
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
