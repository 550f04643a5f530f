// Command faults drives gatehouse through faults under load and prints a
// verdict per scenario (docs/faults.md):
//
//	redis     its Redis stopped and started during load: no 5xx, the rate
//	          limits hold on the in-memory fallback and again on Redis;
//	postgres  its PostgreSQL restarted during load: 503 (with Retry-After)
//	          during the outage, served again within 5 s, and every refresh
//	          token a client received still works (or that client rotated it);
//	sigkill   one of three instances killed with SIGKILL mid-refresh: the
//	          others carry on and every client's latest refresh token works;
//	sigterm   an instance sent SIGTERM under load: it drains with no 5xx and
//	          exits 0, and every client's latest refresh token works.
//
// Everything runs on loopback, in processes this program starts and stops:
// its own PostgreSQL cluster (initdb into a temporary directory, run as the
// postgres user when started as root) on -pg-port and its own redis-server on
// -redis-port; the machine's own PostgreSQL and Redis are never touched.
//
//	go build -o /tmp/gatehouse ./cmd/gatehouse
//	go run ./bench/faults -gatehouse /tmp/gatehouse            # all four
//	go run ./bench/faults -gatehouse /tmp/gatehouse postgres   # one
//
// Exit status 1 when a verdict is FAIL. Not part of CI.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	binFlag   = flag.String("gatehouse", "", "the gatehouse binary (go build -o … ./cmd/gatehouse)")
	pgPort    = flag.Int("pg-port", 5440, "port of the PostgreSQL cluster this program creates")
	redisPort = flag.Int("redis-port", 6390, "port of the redis-server this program starts")
	basePort  = flag.Int("port", 18300, "first listen port of the gatehouse instances")
	workers   = flag.Int("c", 8, "concurrent clients")
	phase     = flag.Duration("phase", 4*time.Second, "length of the load before and after each fault")
	pgBin     = flag.String("pg-bin", "", "directory of initdb and pg_ctl (default: the newest /usr/lib/postgresql/*/bin)")
	keep      = flag.Bool("keep", false, "keep the temporary directory (server and PostgreSQL logs) and print its path")
)

// limits: the refresh.ip limit is the one the Redis scenario probes; every
// load request comes from an address of its own (X-Forwarded-For from a
// trusted loopback proxy), and the per-token and per-account limits are
// made generous so that clients retrying through an outage are not refused.
const (
	probeLimit = 20
	limits     = "refresh.ip=20/1m,refresh.token=600/1m,token.account=600/1m,token.ip=600/1m,signup.ip=600/1m"
)

func main() {
	flag.Parse()
	if *binFlag == "" {
		fmt.Fprintln(os.Stderr, "faults: -gatehouse is required")
		os.Exit(2)
	}
	scen := flag.Args()
	if len(scen) == 0 {
		scen = []string{"redis", "postgres", "sigkill", "sigterm"}
	}
	env, err := newEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		os.Exit(2)
	}
	defer env.close()
	failed := false
	for _, s := range scen {
		var ok bool
		var err error
		switch s {
		case "redis":
			ok, err = env.redisScenario()
		case "postgres":
			ok, err = env.postgresScenario()
		case "sigkill":
			ok, err = env.killScenario(syscall.SIGKILL)
		case "sigterm":
			ok, err = env.killScenario(syscall.SIGTERM)
		default:
			err = fmt.Errorf("unknown scenario %q", s)
		}
		if err != nil {
			fmt.Printf("VERDICT %s: FAIL (%v)\n", s, err)
			failed = true
			continue
		}
		if !ok {
			failed = true
		}
	}
	if failed {
		env.close()
		os.Exit(1)
	}
}

// env is the PostgreSQL cluster, the Redis and the gatehouse instances.
type env struct {
	dir, pgData, secret string
	redis               *exec.Cmd
	insts               []*instance
	asPostgres          bool
}

type instance struct {
	base string
	cmd  *exec.Cmd
	done chan error
}

func newEnv() (*env, error) {
	dir, err := os.MkdirTemp("", "gatehouse-faults-")
	if err != nil {
		return nil, err
	}
	e := &env{dir: dir, pgData: filepath.Join(dir, "pg")}
	if os.Geteuid() == 0 { // initdb refuses root: the cluster runs as postgres
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, err
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
		e.asPostgres = true
	}
	if *pgBin == "" {
		m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
		sort.Strings(m)
		if len(m) == 0 {
			return nil, errors.New("no initdb found; give -pg-bin")
		}
		*pgBin = filepath.Dir(m[len(m)-1])
	}
	if out, err := e.pg("initdb", "-D", e.pgData, "-A", "trust", "-U", "postgres", "--no-sync").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	if err := e.pgCtl("start"); err != nil {
		return nil, err
	}
	psql := func(db, sql string) error {
		out, err := exec.Command("psql", "-h", "127.0.0.1", "-p", strconv.Itoa(*pgPort), "-U", "postgres", "-d", db, "-qAtc", sql).CombinedOutput()
		if err != nil {
			return fmt.Errorf("psql: %v: %s", err, out)
		}
		return nil
	}
	if err := psql("postgres", "create role gatehouse_app login nosuperuser nobypassrls"); err != nil {
		return nil, err
	}
	if err := psql("postgres", "create database gatehouse"); err != nil {
		return nil, err
	}
	if err := e.startRedis(); err != nil {
		return nil, err
	}
	out, err := exec.Command(*binFlag, "secret", "generate").Output()
	if err != nil {
		return nil, fmt.Errorf("secret generate: %v", err)
	}
	e.secret = strings.TrimSpace(string(out))
	mig := exec.Command(*binFlag, "migrate", "--app-role", "gatehouse_app")
	mig.Env = append(os.Environ(), "GATEHOUSE_DATABASE_URL="+e.dbURL("postgres"))
	if out, err := mig.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("migrate: %v: %s", err, out)
	}
	return e, nil
}

func (e *env) dbURL(role string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/gatehouse?sslmode=disable", role, *pgPort)
}

func (e *env) pg(name string, args ...string) *exec.Cmd {
	p := filepath.Join(*pgBin, name)
	if e.asPostgres {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", p}, args...)...)
	}
	return exec.Command(p, args...)
}

// pgCtl runs pg_ctl start, stop or restart on the script's own cluster.
func (e *env) pgCtl(action string) error {
	args := []string{action, "-D", e.pgData, "-w", "-t", "30", "-l", filepath.Join(e.dir, "pg.log")}
	if action != "stop" {
		args = append(args, "-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", *pgPort, e.dir))
	}
	if action != "start" {
		args = append(args, "-m", "fast")
	}
	if out, err := e.pg("pg_ctl", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("pg_ctl %s: %v: %s", action, err, out)
	}
	return nil
}

func (e *env) startRedis() error {
	e.redis = exec.Command("redis-server", "--port", strconv.Itoa(*redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := e.redis.Start(); err != nil {
		return err
	}
	for range 50 {
		if exec.Command("redis-cli", "-p", strconv.Itoa(*redisPort), "ping").Run() == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("redis-server did not start")
}

func (e *env) stopRedis() {
	if e.redis != nil && e.redis.Process != nil {
		e.redis.Process.Signal(syscall.SIGTERM)
		e.redis.Wait()
		e.redis = nil
	}
}

func (e *env) close() {
	for _, in := range e.insts {
		in.stop()
	}
	e.insts = nil
	e.stopRedis()
	if e.pgData != "" {
		e.pgCtl("stop")
		if *keep {
			fmt.Println("logs kept in", e.dir)
		} else {
			os.RemoveAll(e.dir)
		}
		e.pgData = ""
	}
}

// start starts n gatehouse instances on one database and Redis, one after
// the other (the first makes the signing key).
func (e *env) start(n int) ([]*instance, error) {
	for _, in := range e.insts {
		in.stop()
	}
	e.insts = nil
	exec.Command("redis-cli", "-p", strconv.Itoa(*redisPort), "flushall").Run()
	pub := fmt.Sprintf("http://127.0.0.1:%d", *basePort)
	for i := range n {
		addr := fmt.Sprintf("127.0.0.1:%d", *basePort+i)
		cmd := exec.Command(*binFlag, "serve")
		cmd.Env = append(os.Environ(),
			"GATEHOUSE_ADDR="+addr, "GATEHOUSE_PUBLIC_URL="+pub, "GATEHOUSE_DATABASE_URL="+e.dbURL("gatehouse_app"),
			fmt.Sprintf("GATEHOUSE_REDIS_URL=redis://127.0.0.1:%d/0", *redisPort), "GATEHOUSE_AUTH_SECRET="+e.secret,
			"GATEHOUSE_MAIL_DIR="+filepath.Join(e.dir, "mail"), "GATEHOUSE_TRUSTED_PROXIES=127.0.0.1/32",
			"GATEHOUSE_RATE_LIMITS="+limits)
		logf, err := os.Create(filepath.Join(e.dir, fmt.Sprintf("serve-%d.log", i)))
		if err != nil {
			return nil, err
		}
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		in := &instance{base: "http://" + addr, cmd: cmd, done: make(chan error, 1)}
		go func() { in.done <- cmd.Wait(); logf.Close() }()
		e.insts = append(e.insts, in)
		ok := false
		for range 100 {
			if r, err := http.Get(in.base + "/healthz"); err == nil {
				r.Body.Close()
				ok = r.StatusCode == 200
				if ok {
					break
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		if !ok {
			return nil, fmt.Errorf("instance %d did not start (see its log)", i)
		}
	}
	return e.insts, nil
}

func (in *instance) stop() {
	if in.cmd.ProcessState == nil {
		in.cmd.Process.Kill()
		<-in.done
	}
}

// ---- the load ----

var httpc = &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

type tally struct {
	mu       sync.Mutex
	phase    string
	byPhase  map[string]map[int]int // status (-1: no answer) → count
	noRetry  int                    // 5xx without Retry-After
	firstOK  time.Time              // first 200 after markRecovery
	watching bool
}

func newTally() *tally { return &tally{phase: "before", byPhase: map[string]map[int]int{}} }

func (t *tally) setPhase(p string) { t.mu.Lock(); t.phase = p; t.mu.Unlock() }

func (t *tally) add(status int, retryAfter string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.byPhase[t.phase]
	if m == nil {
		m = map[int]int{}
		t.byPhase[t.phase] = m
	}
	m[status]++
	if status >= 500 && retryAfter == "" {
		t.noRetry++
	}
	if t.watching && status == 200 && t.firstOK.IsZero() {
		t.firstOK = time.Now()
	}
}

func (t *tally) count(pred func(int) bool) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, m := range t.byPhase {
		for s, c := range m {
			if pred(s) {
				n += c
			}
		}
	}
	return n
}

func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var ps []string
	for _, p := range []string{"before", "fault", "after"} {
		m := t.byPhase[p]
		var ss []int
		for s := range m {
			ss = append(ss, s)
		}
		sort.Ints(ss)
		var parts []string
		for _, s := range ss {
			name := strconv.Itoa(s)
			switch s {
			case -1:
				name = "refused"
			case -3:
				name = "cut"
			}
			parts = append(parts, fmt.Sprintf("%s:%d", name, m[s]))
		}
		ps = append(ps, p+" {"+strings.Join(parts, " ")+"}")
	}
	return strings.Join(ps, " ")
}

func randIP() string {
	return fmt.Sprintf("10.%d.%d.%d", rand.IntN(250), rand.IntN(256), 1+rand.IntN(250))
}

// call sends one JSON request from address ip and decodes a 2xx answer into
// out; status -1 means the connection was refused, -3 that the request got
// no answer (the connection was closed or reset under it).
func call(base, method, path, ip, bearer string, body, out any) (int, string) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(context.Background(), method, base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Forwarded-For", ip)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := httpc.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return -1, ""
		}
		return -3, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 == 2 && out != nil {
		if json.Unmarshal(b, out) != nil {
			return -2, ""
		}
	}
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// client is one simulated user: its latest refresh token is the one the
// server last acknowledged to it.
type client struct {
	email   string
	tok     tokens
	refresh int
	lost    string // why the session was lost, if it was
}

const password = "fault test passphrase, not a real one"

func newClient(base string, i int) (*client, error) {
	c := &client{email: fmt.Sprintf("fault-%d-%d@example.com", i, rand.Uint32())}
	if st, _ := call(base, "POST", "/v1/auth/signup", randIP(), "", map[string]string{"email": c.email, "password": password}, nil); st/100 != 2 {
		return nil, fmt.Errorf("signup: %d", st)
	}
	if st, _ := call(base, "POST", "/v1/auth/token", randIP(), "", map[string]string{"email": c.email, "password": password}, &c.tok); st != 200 {
		return nil, fmt.Errorf("login: %d", st)
	}
	return c, nil
}

// alive lists the instances a client may use; the scenario takes one out
// when it kills it (an operator's load balancer would).
type alive struct {
	mu    sync.Mutex
	bases []string
}

func (a *alive) pick(i int) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.bases[i%len(a.bases)]
}

func (a *alive) remove(b string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, x := range a.bases {
		if x == b {
			a.bases = append(a.bases[:i], a.bases[i+1:]...)
			return
		}
	}
}

// step refreshes c once (retrying the same token, on another instance if
// need be, until it is answered), then reads /v1/me with the new access
// token. A refresh refused with 401 means a session the client held is lost.
func (c *client) step(ctx context.Context, inst *alive, t *tally, n int) {
	for try := 0; ctx.Err() == nil; try++ {
		var next tokens
		base := inst.pick(n + try)
		v := victim.Load()
		if v != nil && *v == base {
			inflight.Add(1)
		}
		st, ra := call(base, "POST", "/v1/auth/refresh", randIP(), "", map[string]string{"refresh_token": c.tok.RefreshToken}, &next)
		if v != nil && *v == base {
			inflight.Add(-1)
		}
		if st == -3 {
			cutRefresh.Add(1)
		}
		t.add(st, ra)
		switch {
		case st == 200:
			c.tok = next
			c.refresh++
			st, ra = call(inst.pick(n+try), "GET", "/v1/me", randIP(), c.tok.AccessToken, nil, nil)
			t.add(st, ra)
			return
		case st == 401:
			c.lost = fmt.Sprintf("refresh %d refused with 401", c.refresh+1)
			return
		case st == 503 || st == 429 || st < 0:
			time.Sleep(100 * time.Millisecond)
		default:
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// victim is the instance a scenario is about to stop; inflight counts the
// refreshes under way on it, and cutRefresh the refreshes that got no answer.
var (
	victim     atomic.Pointer[string]
	inflight   atomic.Int64
	cutRefresh atomic.Int64
)

// run drives the clients until ctx ends.
func run(ctx context.Context, cs []*client, inst *alive, t *tally) *sync.WaitGroup {
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := i; ctx.Err() == nil && c.lost == ""; n++ {
				c.step(ctx, inst, t, n)
			}
		}()
	}
	return &wg
}

// checkSessions refreshes every client's latest token once more: each must
// work.
func checkSessions(base string, cs []*client) (lost []string, total int) {
	for _, c := range cs {
		total += c.refresh
		if c.lost != "" {
			lost = append(lost, c.email+": "+c.lost)
			continue
		}
		var next tokens
		if st, _ := call(base, "POST", "/v1/auth/refresh", randIP(), "", map[string]string{"refresh_token": c.tok.RefreshToken}, &next); st != 200 {
			lost = append(lost, fmt.Sprintf("%s: its latest token got %d", c.email, st))
		}
	}
	return lost, total
}

func clients(base string, n int) ([]*client, error) {
	cs := make([]*client, n)
	for i := range cs {
		c, err := newClient(base, i)
		if err != nil {
			return nil, err
		}
		cs[i] = c
	}
	return cs, nil
}

// probe sends n bogus refreshes from one fresh address and counts those
// the refresh.ip limit let through (not 429).
func probe(base string, n int) (passed, other5xx int) {
	ip := randIP()
	for range n {
		st, _ := call(base, "POST", "/v1/auth/refresh", ip, "", map[string]string{"refresh_token": "gh_rt_not-a-real-token"}, nil)
		if st != 429 {
			passed++
		}
		if st >= 500 || st < 0 {
			other5xx++
		}
	}
	return passed, other5xx
}

func verdict(name string, ok bool, detail string) bool {
	v := "PASS"
	if !ok {
		v = "FAIL"
	}
	fmt.Printf("VERDICT %s: %s — %s\n", name, v, detail)
	return ok
}

// ---- scenarios ----

func (e *env) redisScenario() (bool, error) {
	insts, err := e.start(1)
	if err != nil {
		return false, err
	}
	base := insts[0].base
	cs, err := clients(base, *workers)
	if err != nil {
		return false, err
	}
	t := newTally()
	ctx, cancel := context.WithCancel(context.Background())
	wg := run(ctx, cs, &alive{bases: []string{base}}, t)
	time.Sleep(*phase)
	p1, _ := probe(base, probeLimit+10)
	t.setPhase("fault")
	e.stopRedis()
	time.Sleep(*phase / 2)
	p2, _ := probe(base, probeLimit+10) // on the in-memory fallback
	readyDown := status(base+"/readyz") == 503
	time.Sleep(*phase / 2)
	if err := e.startRedis(); err != nil {
		cancel()
		return false, err
	}
	t.setPhase("after")
	time.Sleep(*phase)
	readyUp := status(base+"/readyz") == 200
	p3, _ := probe(base, probeLimit+10) // on Redis again (it probes once a second)
	cancel()
	wg.Wait()
	lost, total := checkSessions(base, cs)
	fiveXX := t.count(func(s int) bool { return s >= 500 })
	ok := fiveXX == 0 && p1 == probeLimit && p2 == probeLimit && p3 == probeLimit && len(lost) == 0 && readyDown && readyUp
	return verdict("redis", ok, fmt.Sprintf(
		"%d refreshes by %d clients; statuses %s; 5xx: %d; refresh.ip=%d/1m let through %d/%d/%d of %d (Redis, fallback, Redis again); /readyz 503 while down: %v, 200 after: %v; sessions lost: %d %v",
		total, len(cs), t, fiveXX, probeLimit, p1, p2, p3, probeLimit+10, readyDown, readyUp, len(lost), lost)), nil
}

func status(url string) int {
	r, err := httpc.Get(url)
	if err != nil {
		return -1
	}
	r.Body.Close()
	return r.StatusCode
}

func (e *env) postgresScenario() (bool, error) {
	insts, err := e.start(1)
	if err != nil {
		return false, err
	}
	base := insts[0].base
	cs, err := clients(base, *workers)
	if err != nil {
		return false, err
	}
	t := newTally()
	ctx, cancel := context.WithCancel(context.Background())
	wg := run(ctx, cs, &alive{bases: []string{base}}, t)
	// Sign-ins during the run too: every token pair a sign-in acknowledged
	// must work at the end.
	var logins []*client
	var lmu sync.Mutex
	var lwg sync.WaitGroup
	lwg.Add(1)
	go func() {
		defer lwg.Done()
		for ctx.Err() == nil {
			c := &client{email: cs[rand.IntN(len(cs))].email}
			st, ra := call(base, "POST", "/v1/auth/token", randIP(), "", map[string]string{"email": c.email, "password": password}, &c.tok)
			t.add(st, ra)
			if st == 200 {
				lmu.Lock()
				logins = append(logins, c)
				lmu.Unlock()
			}
			time.Sleep(300 * time.Millisecond)
		}
	}()
	time.Sleep(*phase)
	t.setPhase("fault")
	t0 := time.Now()
	if err := e.pgCtl("restart"); err != nil {
		cancel()
		return false, err
	}
	up := time.Now()
	t.mu.Lock()
	t.watching = true
	t.mu.Unlock()
	t.setPhase("after")
	time.Sleep(*phase)
	cancel()
	wg.Wait()
	lwg.Wait()
	t.mu.Lock()
	first := t.firstOK
	t.mu.Unlock()
	recovery := first.Sub(up)
	lost, total := checkSessions(base, cs)
	lost2, _ := checkSessions(base, logins)
	lost = append(lost, lost2...)
	bad5xx := t.count(func(s int) bool { return s >= 500 && s != 503 })
	n503 := t.count(func(s int) bool { return s == 503 })
	ok := bad5xx == 0 && t.noRetry == 0 && !first.IsZero() && recovery <= 5*time.Second && len(lost) == 0
	return verdict("postgres", ok, fmt.Sprintf(
		"%d refreshes by %d clients and %d sign-ins; pg_ctl restart took %v; first 200 %v after PostgreSQL was back; statuses %s; 503: %d (without Retry-After: %d); other 5xx: %d; sessions lost: %d %v",
		total, len(cs), len(logins), up.Sub(t0).Round(time.Millisecond), recovery.Round(time.Millisecond), t, n503, t.noRetry, bad5xx, len(lost), lost)), nil
}

// killScenario: three instances (SIGKILL) or two (SIGTERM) share the
// clients; the first is sent sig while refreshes are in flight on it.
func (e *env) killScenario(sig syscall.Signal) (bool, error) {
	n, name := 3, "sigkill"
	if sig == syscall.SIGTERM {
		n, name = 2, "sigterm"
	}
	insts, err := e.start(n)
	if err != nil {
		return false, err
	}
	var bases []string
	for _, in := range insts {
		bases = append(bases, in.base)
	}
	cs, err := clients(bases[1], *workers)
	if err != nil {
		return false, err
	}
	t := newTally()
	ctx, cancel := context.WithCancel(context.Background())
	inst := &alive{bases: bases}
	wg := run(ctx, cs, inst, t)
	time.Sleep(*phase)
	t.setPhase("fault")
	victimInst := insts[0]
	victim.Store(&victimInst.base)
	cutRefresh.Store(0)
	// Signal while a refresh is under way on the victim (mid-refresh).
	var atSignal int64
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if atSignal = inflight.Load(); atSignal > 0 {
			break
		}
		time.Sleep(50 * time.Microsecond)
	}
	t0 := time.Now()
	victimInst.cmd.Process.Signal(sig)
	var exitErr error
	var exited time.Duration
	select {
	case exitErr = <-victimInst.done:
		exited = time.Since(t0)
	case <-time.After(30 * time.Second):
		exitErr = errors.New("did not exit within 30 s")
	}
	inst.remove(victimInst.base)
	t.setPhase("after")
	time.Sleep(*phase)
	cancel()
	wg.Wait()
	lost, total := checkSessions(bases[1], cs)
	fiveXX := t.count(func(s int) bool { return s >= 500 })
	victim.Store(nil)
	ok := fiveXX == 0 && len(lost) == 0
	exit := fmt.Sprint(exitErr)
	// A drain answers every request it read: http.Server.Shutdown waits for
	// them. A request the client wrote on a keep-alive connection just as
	// the server closed it as idle was never read, and is "cut" here (the
	// HTTP/1.1 race of RFC 9112 section 9.6, which only a retry or a load
	// balancer taking the instance out first avoids); the client retries it
	// elsewhere with the same token, and no session may be lost for it.
	if sig == syscall.SIGTERM {
		ok = ok && exitErr == nil
		if exitErr == nil {
			exit = "exit 0"
		}
	}
	return verdict(name, ok, fmt.Sprintf(
		"%d instances, %d refreshes by %d clients; %d refreshes under way on the victim at the signal, %d refreshes cut off; the victim stopped %v after the signal (%s); statuses %s (refused: connections the stopped instance refused; cut: requests sent to it that got no answer; both retried on another instance with the same token); 5xx: %d; sessions lost: %d %v",
		n, total, len(cs), atSignal, cutRefresh.Load(), exited.Round(time.Millisecond), exit, t, fiveXX, len(lost), lost)), nil
}
