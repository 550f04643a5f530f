// Command load measures a running gatehouse on loopback, together with the
// baselines the performance targets compare it with, so every figure is a
// ratio taken in one run on one machine (docs/performance.md).
//
//	go run ./bench/load -base http://127.0.0.1:8080 -mode MODE -c 16 -d 5s [-pid PID] [-counts URL]
//
// Modes (each worker has its own account, session, token or client):
//
//	login       POST /v1/auth/token with the right password
//	refresh     each worker chains its own session's refresh tokens, as a
//	            real client does, so rotation runs its real path
//	me          GET /v1/me with the session's JWT
//	me-pat      GET /v1/me with a personal access token (profile:read)
//	cc          POST /v1/oauth/token, grant_type=client_credentials
//	            (client_secret_basic), each worker its own client
//	introspect  POST /v1/oauth/introspect of the client's own access token
//	jwks        GET /.well-known/jwks.json
//	flood       logins from rotating X-Forwarded-For addresses (the server
//	            must trust loopback: GATEHOUSE_TRUSTED_PROXIES=127.0.0.0/8),
//	            first alone ("flood-idle"), then beside -flood workers that
//	            send wrong passwords from -flood-addrs addresses already past
//	            their failed-auth ceiling ("flood"); phases alternate
//	            -rounds times and are merged
//	totp        a whole second-factor sign-in (docs/mfa.md): POST
//	            /v1/auth/token with the right password (answered 403
//	            mfa_required with an mfa_token), then POST
//	            /v1/auth/mfa/verify with the mfa_token and a TOTP code
//	            (pquerna/otp), both from one address; see below
//	passkey     a passwordless passkey sign-in: POST /v1/auth/passkey/options,
//	            then POST /v1/auth/passkey with the assertion of a software
//	            authenticator (descope/virtualwebauthn) registered through
//	            the API at setup, both from one address; the server needs a
//	            relying party (GATEHOUSE_WEBAUTHN_RP_ID=localhost and
//	            GATEHOUSE_WEBAUTHN_ORIGINS=http://localhost:PORT on a
//	            loopback public URL: an IP address is no rp id), and the tool
//	            signs for -webauthn-origin (default: -base's scheme and port
//	            on the rp id the server names)
//	peer-cc, peer-introspect
//	            client_credentials and introspection at another OAuth 2.0
//	            server (-base its public URL, -peer-admin its admin URL;
//	            bench/peer.sh runs Ory Hydra beside gatehouse): peer.go
//	verify      GET -verify-url with the session's access token (a
//	            -serve-bare server's /verify: package verify's middleware)
//	bare        GET -base (a bare net/http server: `-serve-bare ADDR`, whose
//	            / is a static JSON answer, /db the same primary-key read as
//	            GET /v1/me with the same driver (-bare-db), /jwks the bytes
//	            of -bare-jwks with their ETag and Cache-Control)
//	argon2      raw argon2id at gatehouse's parameters on -c goroutines
//
// TOTP codes are accepted once: a factor keeps the last step (30 s) the
// server accepted and takes only a later one, within one step of its clock
// either way (docs/mfa.md). One factor therefore serves two or three
// sign-ins in a step and then one a step, as one person's phone does; a
// worker that reused its code, or waited for the next step, would measure
// the refusal or its own sleep. So each totp worker holds -totp-accounts
// accounts, each with one TOTP factor enrolled and confirmed through the
// API (POST /v1/mfa/totp, then /confirm), and signs them in in turn, each
// with the earliest step its factor has not used: the server's check is the
// real one (the factor's single secret opened, the code compared, the step
// moved forward in one conditional UPDATE), on accounts shaped as people's
// are. The default count covers -d at every -c at the rate this machine can
// hash (the password step is one argon2id hash; its cost is expected); a
// worker that still runs out leaves the phase and the line says how many
// did (dry_workers): its goodput is then a lower bound.
//
// For each -c it prints one JSON line: goodput (requests that succeeded
// within the window, per second of it), p50/p99/p999 from an HDR
// histogram, every answer outside 2xx by status, and with -pid the
// server's CPU seconds per 1,000 requests answered (/proc/PID/stat) and
// its peak RSS (VmHWM of /proc/PID/status, reset before each phase where
// the kernel allows); with -counts, the statements and round trips per
// request seen by the counting proxies (`-proxy-pg`, `-proxy-redis`,
// `-proxy-stats`). `-plot OUT.svg LABEL=FILE...` draws the latency
// distributions of result files. Requests are bounded by -d and -max; the
// tool only talks to the addresses it is given (use loopback).
//
// -c takes a list (-c 16,500): the accounts are made once for the largest
// and each count runs in turn, one JSON line each, so that their figures
// are ratios taken in one run; a count listed again (-c 16,500,16,500) is
// merged into one line, so alternating phases cancels drift in the load of
// a shared machine. A 503 is counted as shed (not an error), with
// whether it carried Retry-After; with -honour-retry-after a worker waits
// that long before its next request, as a well-behaved client does, and
// without it retries at once, as a naive one does.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// opts are the settings of the workers' requests.
type opts struct {
	cl        *http.Client
	base      string
	mode      string
	verifyURL string
	peerAdmin string // peer modes: the other OAuth server's admin URL

	totpAccounts   int    // totp: accounts (each with a TOTP factor) a worker
	webauthnOrigin string // passkey: the origin the authenticator signs for
}

func main() {
	base := flag.String("base", "http://127.0.0.1:8080", "gatehouse base URL (loopback)")
	mode := flag.String("mode", "me", "login, refresh, me, me-pat, verify, cc, introspect, jwks, flood, totp, passkey, peer-cc, peer-introspect, bare or argon2")
	concList := flag.String("c", "8", "concurrent workers; a comma-separated list runs each in turn")
	dur := flag.Duration("d", 10*time.Second, "how long to run each -c")
	maxReq := flag.Int64("max", 2_000_000, "stop after this many requests")
	honour := flag.Bool("honour-retry-after", false, "after a 503 with Retry-After, wait that long before the next request")
	pid := flag.Int("pid", 0, "the server's process id: report its CPU per request and peak RSS")
	countsURL := flag.String("counts", "", "URL of the counting proxies' stats: report statements and round trips per request")
	perfOut := flag.String("perf", "", "with -pid: record the server's CPU profile during the phase (perf record -g) into this file")
	floodN := flag.Int("flood", 64, "flood mode: workers sending over-limit logins")
	floodAddrs := flag.Int("flood-addrs", 128, "flood mode: addresses the flood comes from")
	floodRate := flag.Float64("flood-rate", 1000, "flood mode: the flood's requests a second, all workers together")
	rounds := flag.Int("rounds", 2, "flood mode: idle and flood phases, alternated, this many times each")
	serveBare := flag.String("serve-bare", "", "only serve the bare net/http handlers on this address")
	bareDB := flag.String("bare-db", "", "with -serve-bare: the database of GET /db (postgres://… or sqlite:PATH)")
	bareJWKS := flag.String("bare-jwks", "", "with -serve-bare: the URL whose bytes GET /jwks serves")
	bareIssuer := flag.String("bare-issuer", "", "with -serve-bare: gatehouse's URL, whose access tokens GET /verify checks with package verify")
	peerAdmin := flag.String("peer-admin", "", "peer modes: the admin URL of the OAuth 2.0 server measured beside gatehouse (bench/peer.sh)")
	verifyURL := flag.String("verify-url", "", "verify mode: the URL to GET with the session's access token (a -serve-bare server's /verify)")
	proxyPG := flag.String("proxy-pg", "", "only run counting proxies: LISTEN=TARGET for PostgreSQL")
	proxyRedis := flag.String("proxy-redis", "", "counting proxy LISTEN=TARGET for Redis")
	proxyStats := flag.String("proxy-stats", "", "address serving the proxies' counts")
	totpAccounts := flag.Int("totp-accounts", 0, "totp mode: accounts a worker, each with a TOTP factor (0: enough for -d and -c at the rate this machine hashes)")
	webauthnOrigin := flag.String("webauthn-origin", "", "passkey mode: the origin the authenticator signs for (default: -base's scheme and port on the server's rp id)")
	xff := flag.Bool("xff", false, "send each request from an address of its own (a random IPv6 /64) (X-Forwarded-For; the server must trust loopback), so that no per-address limit is met")
	plotOut := flag.String("plot", "", "only draw the latency distributions of LABEL=FILE arguments into this SVG")
	title := flag.String("title", "", "with -plot: the plot's title")
	flag.Parse()
	switch {
	case *serveBare != "":
		log.Fatal(serveBareHandlers(*serveBare, *bareDB, *bareJWKS, *bareIssuer))
	case *proxyStats != "":
		serveCounts(*proxyPG, *proxyRedis, *proxyStats)
	case *plotOut != "":
		if err := plotFiles(*plotOut, *title, flag.Args()); err != nil {
			log.Fatal(err)
		}
		return
	}
	var concs []int
	most := 0
	for _, f := range strings.Split(*concList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			log.Fatalf("-c %q: want positive counts", *concList)
		}
		concs = append(concs, n)
		most = max(most, n)
	}
	extra := 0
	if *mode == "flood" {
		extra = *floodN
	}
	tr := &http.Transport{MaxIdleConnsPerHost: (most + extra) * 2, MaxConnsPerHost: (most + extra) * 2}
	var rt http.RoundTripper = tr
	if *xff {
		rt = &ownAddress{next: tr}
	}
	o := &opts{cl: &http.Client{Transport: rt, Timeout: 30 * time.Second}, base: *base, mode: *mode, verifyURL: *verifyURL, peerAdmin: *peerAdmin,
		totpAccounts: *totpAccounts, webauthnOrigin: *webauthnOrigin}
	if o.mode == "totp" && o.totpAccounts < 1 {
		o.totpAccounts = totpAccountsFor(hashRate(), *dur, concs)
		log.Printf("totp: %d accounts a worker", o.totpAccounts)
	}

	// Accounts are made by a few workers at a time, waiting out 503s, so
	// that setting up 500 workers does not itself overload the server.
	workers := make([]func() error, most)
	var (
		setupWG  sync.WaitGroup
		setupErr atomic.Value
		next     atomic.Int64
	)
	for range 4 {
		setupWG.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= most {
					return
				}
				w, err := setup(o, i)
				if err != nil {
					setupErr.CompareAndSwap(nil, fmt.Errorf("setup worker %d: %w", i, err))
					return
				}
				workers[i] = w
			}
		})
	}
	setupWG.Wait()
	if err, _ := setupErr.Load().(error); err != nil {
		log.Fatal(err)
	}
	var flood []func() error
	if *mode == "flood" {
		var err error
		if flood, err = setupFlood(o, *floodN, *floodAddrs, *floodRate); err != nil {
			log.Fatal(err)
		}
	}
	m := &meter{pid: *pid, counts: *countsURL, perf: *perfOut}
	if *mode == "argon2" {
		m.pid = os.Getpid() // the hashes' own CPU time: the baseline of CPU per login
	}
	enc := json.NewEncoder(os.Stdout)
	if *mode == "flood" {
		for _, c := range concs {
			idle, storm := newPhase(), newPhase()
			for k := range *rounds {
				if k > 0 {
					time.Sleep(time.Second)
				}
				idle.add(run(workers[:c], nil, *dur, *maxReq, *honour, m))
				time.Sleep(time.Second)
				storm.add(run(workers[:c], flood, *dur, *maxReq, *honour, m))
			}
			enc.Encode(idle.report("flood-idle", c, *honour))
			enc.Encode(storm.report("flood", c, *honour))
		}
		return
	}
	// A count listed more than once (-c 16,500,16,500) is reported once, its
	// phases merged: alternating them cancels drift in the machine's load.
	merged := map[int]*phase{}
	var order []int
	for k, c := range concs {
		if k > 0 {
			time.Sleep(2 * time.Second) // let the queue of the previous phase drain
		}
		ph := run(workers[:c], nil, *dur, *maxReq, *honour, m)
		if m, ok := merged[c]; ok {
			m.add(ph)
		} else {
			merged[c] = ph
			order = append(order, c)
		}
	}
	for _, c := range order {
		enc.Encode(merged[c].report(*mode, c, *honour))
	}
}

// ownAddress gives each request without an X-Forwarded-For one of its own:
// a random /64 of fd00::/8 (the per-address key of an IPv6 client is its
// /64), so that no two requests, of this process or of another, share one.
type ownAddress struct{ next http.RoundTripper }

func (a *ownAddress) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("X-Forwarded-For") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("X-Forwarded-For", randomAddress())
	}
	return a.next.RoundTrip(r)
}

// meter reads the server's CPU, peak RSS and the proxies' counts around a
// phase (each only if it was given).
type meter struct {
	pid    int
	counts string
	perf   string
}

type reading struct {
	cpu  float64
	c    counts
	perf *exec.Cmd
}

func (m *meter) start() reading {
	var r reading
	if m.pid > 0 {
		resetPeakRSS(m.pid)
		r.cpu, _ = procCPU(m.pid)
	}
	if m.counts != "" {
		r.c, _ = fetchCounts(m.counts)
	}
	if m.perf != "" && m.pid > 0 {
		r.perf = exec.Command("perf", "record", "-q", "-F", "999", "-g", "-p", strconv.Itoa(m.pid), "-o", m.perf)
		if err := r.perf.Start(); err != nil {
			log.Printf("perf: %v", err)
			r.perf = nil
		}
	}
	return r
}

func (m *meter) stop(r0 reading, p *phase) {
	if r0.perf != nil {
		_ = r0.perf.Process.Signal(os.Interrupt) // perf writes its file and exits
		_ = r0.perf.Wait()
	}
	if m.pid > 0 {
		if cpu, err := procCPU(m.pid); err == nil {
			p.cpu = cpu - r0.cpu
		}
		p.peakRSS, _ = procPeakRSS(m.pid)
	}
	if m.counts != "" {
		if c, err := fetchCounts(m.counts); err == nil {
			p.counted = &counts{c.PGStatements - r0.c.PGStatements, c.PGRoundTrips - r0.c.PGRoundTrips,
				c.PGParses - r0.c.PGParses, c.RedisCommands - r0.c.RedisCommands, c.RedisTrips - r0.c.RedisTrips}
		}
	}
}

// run drives workers (and the flood's, counted apart) for d. A 503 is
// counted as shed, not as an error; with honour, a worker waits out its
// Retry-After before the next request.
func run(workers, flood []func() error, d time.Duration, maxReq int64, honour bool, m *meter) *phase {
	var (
		n      atomic.Int64
		mu     sync.Mutex
		wg     sync.WaitGroup
		p      = newPhase()
		fp     = newPhase()
		r0     = m.start()
		start  = time.Now()
		ending = start.Add(d)
	)
	drive := func(w func() error, into *phase) {
		defer wg.Done()
		mine := newPhase()
		for time.Now().Before(ending) && n.Add(1) <= maxReq {
			t := time.Now()
			err := w()
			if errors.Is(err, errDry) {
				mine.dry++
				log.Printf("a worker leaves the phase: %v", err)
				break
			}
			mine.done++
			if err == nil {
				if end := time.Now(); !end.After(ending) {
					record(mine.lat, end.Sub(t))
				} // else finished after the window: not counted
				continue
			}
			var he *httpError
			if !errors.As(err, &he) {
				mine.byStatus[0]++
				mine.errs++
				if mine.errs <= 1 {
					log.Printf("error: %v", err)
				}
				continue
			}
			mine.byStatus[he.status]++
			if he.status != http.StatusServiceUnavailable {
				mine.errs++
				if into == p && mine.errs <= 1 {
					log.Printf("error: %v", err)
				}
				continue
			}
			mine.shed++
			if he.retryAfter == "" {
				continue
			}
			mine.withRA++
			if secs, err := strconv.Atoi(he.retryAfter); honour && err == nil && secs >= 0 {
				if wait := time.Duration(secs) * time.Second; time.Until(ending) > wait {
					time.Sleep(wait)
				} else {
					break
				}
			}
		}
		mu.Lock()
		into.add(mine)
		mu.Unlock()
	}
	for _, w := range workers {
		wg.Add(1)
		go drive(w, p)
	}
	for _, w := range flood {
		wg.Add(1)
		go drive(w, fp)
	}
	wg.Wait()
	// Goodput is what completed within the window, over the window: the
	// requests still queued or held when it ends are neither counted nor
	// allowed to stretch it. CPU and counts are of every request answered.
	p.seconds, p.phases = ending.Sub(start).Seconds(), 1
	all := newPhase()
	all.done = p.done + fp.done
	m.stop(r0, all)
	p.cpu, p.peakRSS, p.counted = all.cpu, all.peakRSS, all.counted
	if all.counted != nil || all.cpu > 0 {
		p.done = all.done // per request: of all the requests the server answered
	}
	if flood != nil {
		fp.seconds = p.seconds
		p.flood = fp
	}
	return p
}

// httpError is a response outside 2xx.
type httpError struct {
	url        string
	status     int
	retryAfter string
	body       string
}

func (e *httpError) Error() string { return fmt.Sprintf("%s: %d %s", e.url, e.status, e.body) }

func post(cl *http.Client, url string, body any, into any) error {
	b, _ := json.Marshal(body)
	resp, err := cl.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return &httpError{url: url, status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: string(rb)}
	}
	if into != nil {
		return json.Unmarshal(rb, into)
	}
	return nil
}

type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// patiently runs f until it succeeds or fails with something other than a
// 503, waiting out each 503's Retry-After (a second without one).
func patiently(f func() error) error {
	for range 100 {
		err := f()
		var he *httpError
		if !errors.As(err, &he) || he.status != http.StatusServiceUnavailable {
			return err
		}
		wait := time.Second
		if s, err := strconv.Atoi(he.retryAfter); err == nil {
			wait = time.Duration(s) * time.Second
		}
		time.Sleep(wait)
	}
	return errors.New("still unavailable after 100 tries")
}

func get(cl *http.Client, url, bearer string) error {
	req, _ := http.NewRequestWithContext(context.Background(), "GET", url, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := cl.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 {
		return &httpError{url: url, status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
	}
	return nil
}
