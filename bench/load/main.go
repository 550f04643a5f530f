// Command load measures a running gatehouse on loopback, together with the
// baselines the design's performance budget compares it with, so every figure
// is a ratio taken in one run on one machine.
//
//	go run ./bench/load -base http://127.0.0.1:8080 -mode login|refresh|me|bare -c 8 -d 10s
//
// login: POST /v1/auth/token with a correct password (each worker its own
// account); refresh: each worker chains its own session's refresh tokens, as
// a real client does, so rotation runs its real path (not the grace window);
// me: GET /v1/me with a JWT; bare: GET on -base (point it at a bare net/http
// server, `-serve-bare ADDR`); argon2: raw argon2id at gatehouse's parameters
// on -c goroutines, no HTTP. Requests are bounded by -d and -max; the tool
// only talks to the -base address it is given (use loopback).
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
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/gatehouse-auth/gatehouse/password"
)

func main() {
	base := flag.String("base", "http://127.0.0.1:8080", "gatehouse base URL (loopback)")
	mode := flag.String("mode", "me", "login, refresh, me, bare or argon2")
	concList := flag.String("c", "8", "concurrent workers; a comma-separated list runs each in turn")
	dur := flag.Duration("d", 10*time.Second, "how long to run each -c")
	maxReq := flag.Int64("max", 2_000_000, "stop after this many requests")
	honour := flag.Bool("honour-retry-after", false, "after a 503 with Retry-After, wait that long before the next request")
	serveBare := flag.String("serve-bare", "", "only serve a bare net/http JSON handler on this address")
	flag.Parse()
	if *serveBare != "" {
		log.Fatal(http.ListenAndServe(*serveBare, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"id":"0","email":"bare@example.com","status":"active"}` + "\n"))
		})))
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
	tr := &http.Transport{MaxIdleConnsPerHost: most * 2, MaxConnsPerHost: most * 2}
	cl := &http.Client{Transport: tr, Timeout: 30 * time.Second}

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
				w, err := setup(cl, *base, *mode, i)
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
	// A count listed more than once (-c 16,500,16,500) is reported once, its
	// phases merged: alternating them cancels drift in the machine's load.
	merged := map[int]*phase{}
	var order []int
	for k, c := range concs {
		if k > 0 {
			time.Sleep(2 * time.Second) // let the queue of the previous phase drain
		}
		ph := run(workers[:c], *dur, *maxReq, *honour)
		if m, ok := merged[c]; ok {
			m.add(ph)
		} else {
			merged[c] = ph
			order = append(order, c)
		}
	}
	for _, c := range order {
		json.NewEncoder(os.Stdout).Encode(merged[c].report(*mode, c, *honour))
	}
}

// phase is what one run of the workers measured.
type phase struct {
	seconds            float64
	lat                []time.Duration // of the successful requests
	errs, shed, withRA int64
	phases             int
}

func (p *phase) add(q *phase) {
	p.seconds += q.seconds
	p.lat = append(p.lat, q.lat...)
	p.errs, p.shed, p.withRA, p.phases = p.errs+q.errs, p.shed+q.shed, p.withRA+q.withRA, p.phases+q.phases
}

// report gives the figures: requests that succeeded within the window per
// second of it (goodput), p50/p99 latency of those, the 503s and how many of them
// carried Retry-After.
func (p *phase) report(mode string, workers int, honour bool) map[string]any {
	lat := p.lat
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(q float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[int(q*float64(len(lat)-1))]
	}
	return map[string]any{
		"mode": mode, "workers": workers, "phases": p.phases, "seconds": p.seconds, "ok": len(lat), "errors": p.errs,
		"per_second": float64(len(lat)) / p.seconds,
		"p50_ms":     float64(pct(0.50).Microseconds()) / 1000, "p99_ms": float64(pct(0.99).Microseconds()) / 1000,
		"honour_retry_after": honour, "shed_503": p.shed, "shed_with_retry_after": p.withRA,
	}
}

// run drives workers for d. A 503 is counted as shed, not as an error; with
// honour, a worker waits out its Retry-After before the next request.
func run(workers []func() error, d time.Duration, maxReq int64, honour bool) *phase {
	var (
		n, errs, shed, withRA atomic.Int64
		mu                    sync.Mutex
		lat                   []time.Duration
		deadline              = time.Now().Add(d)
		wg                    sync.WaitGroup
	)
	start := time.Now()
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) && n.Add(1) <= maxReq {
				t := time.Now()
				err := w()
				if err == nil {
					if end := time.Now(); !end.After(deadline) {
						mine = append(mine, end.Sub(t))
					} // else finished after the window: not counted
					continue
				}
				var he *httpError
				if !errors.As(err, &he) || he.status != http.StatusServiceUnavailable {
					if errs.Add(1) <= 3 {
						log.Printf("error: %v", err)
					}
					continue
				}
				shed.Add(1)
				if he.retryAfter == "" {
					continue
				}
				withRA.Add(1)
				if secs, err := strconv.Atoi(he.retryAfter); honour && err == nil && secs >= 0 {
					if wait := time.Duration(secs) * time.Second; time.Until(deadline) > wait {
						time.Sleep(wait)
					} else {
						break
					}
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	// Goodput is what completed within the window, over the window: the
	// requests still queued or held when it ends are neither counted nor
	// allowed to stretch it.
	return &phase{seconds: deadline.Sub(start).Seconds(), lat: lat, errs: errs.Load(), shed: shed.Load(), withRA: withRA.Load(), phases: 1}
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

// setup makes worker i's account and session and returns its request.
func setup(cl *http.Client, base, mode string, i int) (func() error, error) {
	switch mode {
	case "bare":
		return func() error { return get(cl, base, "") }, nil
	case "argon2":
		p := password.DefaultParams // the parameters gatehouse hashes with
		salt := make([]byte, p.SaltLen)
		rand.Read(salt)
		return func() error {
			argon2.IDKey([]byte("a long passphrase for the baseline"), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
			return nil
		}, nil
	}
	var suffix [6]byte
	rand.Read(suffix[:])
	email := fmt.Sprintf("load-%d-%x@example.com", i, suffix)
	const pw = "load test passphrase, not a real one"
	if err := patiently(func() error {
		return post(cl, base+"/v1/auth/signup", map[string]string{"email": email, "password": pw}, nil)
	}); err != nil {
		return nil, err
	}
	if mode == "login" {
		return func() error {
			return post(cl, base+"/v1/auth/token", map[string]string{"email": email, "password": pw}, nil)
		}, nil
	}
	var t tokens
	if err := patiently(func() error {
		return post(cl, base+"/v1/auth/token", map[string]string{"email": email, "password": pw}, &t)
	}); err != nil {
		return nil, err
	}
	switch mode {
	case "refresh":
		return func() error {
			var next tokens
			if err := post(cl, base+"/v1/auth/refresh", map[string]string{"refresh_token": t.RefreshToken}, &next); err != nil {
				return err
			}
			t.RefreshToken = next.RefreshToken
			return nil
		}, nil
	case "me":
		return func() error { return get(cl, base+"/v1/me", t.AccessToken) }, nil
	}
	return nil, fmt.Errorf("unknown mode %q", mode)
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
