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
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/gatehouse-auth/gatehouse/password"
)

func main() {
	base := flag.String("base", "http://127.0.0.1:8080", "gatehouse base URL (loopback)")
	mode := flag.String("mode", "me", "login, refresh, me, bare or argon2")
	conc := flag.Int("c", 8, "concurrent workers")
	dur := flag.Duration("d", 10*time.Second, "how long to run")
	maxReq := flag.Int64("max", 2_000_000, "stop after this many requests")
	serveBare := flag.String("serve-bare", "", "only serve a bare net/http JSON handler on this address")
	flag.Parse()
	if *serveBare != "" {
		log.Fatal(http.ListenAndServe(*serveBare, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"id":"0","email":"bare@example.com","status":"active"}` + "\n"))
		})))
	}
	tr := &http.Transport{MaxIdleConnsPerHost: *conc * 2, MaxConnsPerHost: *conc * 2}
	cl := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	workers := make([]func() error, *conc)
	for i := range workers {
		w, err := setup(cl, *base, *mode, i)
		if err != nil {
			log.Fatalf("setup worker %d: %v", i, err)
		}
		workers[i] = w
	}

	var (
		n, errs  atomic.Int64
		mu       sync.Mutex
		lat      []time.Duration
		deadline = time.Now().Add(*dur)
		wg       sync.WaitGroup
	)
	start := time.Now()
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) && n.Add(1) <= *maxReq {
				t := time.Now()
				if err := w(); err != nil {
					if errs.Add(1) <= 3 {
						log.Printf("error: %v", err)
					}
					continue
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	el := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[int(p*float64(len(lat)-1))]
	}
	out := map[string]any{
		"mode": *mode, "workers": *conc, "seconds": el.Seconds(), "ok": len(lat), "errors": errs.Load(),
		"per_second": float64(len(lat)) / el.Seconds(),
		"p50_ms":     float64(pct(0.50).Microseconds()) / 1000, "p99_ms": float64(pct(0.99).Microseconds()) / 1000,
	}
	json.NewEncoder(os.Stdout).Encode(out)
}

func post(cl *http.Client, url string, body any, into any) error {
	b, _ := json.Marshal(body)
	resp, err := cl.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %d %s", url, resp.StatusCode, rb)
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
	if err := post(cl, base+"/v1/auth/signup", map[string]string{"email": email, "password": pw}, nil); err != nil {
		return nil, err
	}
	var t tokens
	if err := post(cl, base+"/v1/auth/token", map[string]string{"email": email, "password": pw}, &t); err != nil {
		return nil, err
	}
	switch mode {
	case "login":
		return func() error {
			return post(cl, base+"/v1/auth/token", map[string]string{"email": email, "password": pw}, nil)
		}, nil
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
		return fmt.Errorf("GET %s: %d", url, resp.StatusCode)
	}
	return nil
}
