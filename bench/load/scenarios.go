package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/gatehouse-auth/gatehouse/password"
)

const loadPassword = "load test passphrase, not a real one"

// setup makes worker i's account, session, token or client and returns its
// request.
func setup(o *opts, i int) (func() error, error) {
	cl, base := o.cl, o.base
	switch o.mode {
	case "bare", "jwks":
		u := base
		if o.mode == "jwks" {
			u = base + "/.well-known/jwks.json"
		}
		return func() error { return get(cl, u, "") }, nil
	case "peer-cc", "peer-introspect":
		return setupPeer(o)
	case "argon2":
		p := password.DefaultParams // the parameters gatehouse hashes with
		salt := make([]byte, p.SaltLen)
		rand.Read(salt)
		return func() error {
			argon2.IDKey([]byte("a long passphrase for the baseline"), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
			return nil
		}, nil
	}
	if o.mode == "totp" {
		return setupTOTP(o, i, o.totpAccounts)
	}
	email, err := signUp(o, strconv.Itoa(i))
	if err != nil {
		return nil, err
	}
	switch o.mode {
	case "login":
		return func() error {
			return post(cl, base+"/v1/auth/token", map[string]string{"email": email, "password": loadPassword}, nil)
		}, nil
	case "flood":
		// Legitimate sign-ins, each from an address of its own, so that
		// none of them meets a per-address limit.
		return func() error {
			ip := randomAddress()
			return postH(cl, base+"/v1/auth/token", map[string]string{"email": email, "password": loadPassword}, nil,
				"X-Forwarded-For", ip)
		}, nil
	}
	t, err := signIn(o, email)
	if err != nil {
		return nil, err
	}
	switch o.mode {
	case "passkey":
		return setupPasskey(o, t)
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
	case "verify":
		if o.verifyURL == "" {
			return nil, errors.New("verify mode needs -verify-url")
		}
		return func() error { return get(cl, o.verifyURL, t.AccessToken) }, nil
	}
	// PATs and clients belong to a workspace.
	var ws struct {
		ID string `json:"id"`
	}
	if err := postH(cl, base+"/v1/workspaces", map[string]string{"name": "load " + email}, &ws,
		"Authorization", "Bearer "+t.AccessToken); err != nil {
		return nil, err
	}
	switch o.mode {
	case "me-pat":
		var pat struct {
			Token string `json:"token"`
		}
		if err := postH(cl, base+"/v1/tokens", map[string]any{"name": "load", "workspace_id": ws.ID, "scopes": []string{"profile:read"}}, &pat,
			"Authorization", "Bearer "+t.AccessToken); err != nil {
			return nil, err
		}
		return func() error { return get(cl, base+"/v1/me", pat.Token) }, nil
	case "cc", "introspect":
		var c struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
		}
		if err := postH(cl, base+"/v1/workspaces/"+ws.ID+"/clients",
			map[string]any{"name": "load", "grant_types": []string{"client_credentials"}, "scopes": []string{"workspaces:read"}}, &c,
			"Authorization", "Bearer "+t.AccessToken); err != nil {
			return nil, err
		}
		cc := func(into any) error {
			return postForm(cl, base+"/v1/oauth/token", url.Values{"grant_type": {"client_credentials"}}, c.ClientID, c.ClientSecret, into)
		}
		if o.mode == "cc" {
			return func() error { return cc(nil) }, nil
		}
		var at tokens
		if err := cc(&at); err != nil {
			return nil, err
		}
		return introspect(cl, base+"/v1/oauth/introspect", c.ClientID, c.ClientSecret, at.AccessToken), nil
	}
	return nil, fmt.Errorf("unknown mode %q", o.mode)
}

// signUp makes an account whose address names the worker (tag), waiting
// out 503s.
func signUp(o *opts, tag string) (string, error) {
	var suffix [6]byte
	rand.Read(suffix[:])
	email := fmt.Sprintf("load-%s-%x@example.com", tag, suffix)
	return email, patiently(func() error {
		return post(o.cl, o.base+"/v1/auth/signup", map[string]string{"email": email, "password": loadPassword}, nil)
	})
}

// signIn signs email in with its password, waiting out 503s.
func signIn(o *opts, email string) (tokens, error) {
	var t tokens
	err := patiently(func() error {
		return post(o.cl, o.base+"/v1/auth/token", map[string]string{"email": email, "password": loadPassword}, &t)
	})
	return t, err
}

// setupFlood pushes each of addrs addresses past its failed-auth ceiling
// (wrong passwords until a 429; these warm-up requests may hash) and returns
// n workers that send wrong passwords from those addresses in turn: every
// answer to them should be 429, decided before any hashing.
func setupFlood(o *opts, n, addrs int, rate float64) ([]func() error, error) {
	// The flood's addresses: addrs /64s under a random /48 of this run's.
	var p [5]byte
	rand.Read(p[:])
	addr := func(k int) string {
		return fmt.Sprintf("fd%02x:%02x%02x:%02x%02x:%x::1", p[0], p[1], p[2], p[3], p[4], k)
	}
	bad := func(ip string) error {
		var s [6]byte
		rand.Read(s[:])
		return postH(o.cl, o.base+"/v1/auth/token",
			map[string]string{"email": fmt.Sprintf("nobody-%x@example.com", s), "password": "not the password"}, nil,
			"X-Forwarded-For", ip)
	}
	for k := range addrs {
		for try := 0; ; try++ {
			err := bad(addr(k))
			var he *httpError
			if errors.As(err, &he) && he.status == http.StatusTooManyRequests {
				break
			}
			if try == 200 {
				return nil, fmt.Errorf("flood address %s: no 429 after 200 failures (is GATEHOUSE_TRUSTED_PROXIES=127.0.0.0/8 set?): %v", addr(k), err)
			}
		}
	}
	// Each worker is paced to rate/n a second (a flood faster than the
	// load tool's share of the cores would measure the tool, not the server).
	var next atomic.Int64
	ws := make([]func() error, n)
	every := time.Duration(float64(n) / rate * float64(time.Second))
	for i := range ws {
		due := time.Now()
		ws[i] = func() error {
			due = due.Add(every)
			if wait := time.Until(due); wait > 0 {
				time.Sleep(wait)
			} else if wait < -time.Second {
				due = time.Now() // fell behind: no burst to catch up
			}
			return bad(addr(int(next.Add(1)) % addrs))
		}
	}
	return ws, nil
}

func postH(cl *http.Client, u string, body any, into any, hdr ...string) error {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", u, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return do(cl, req, into)
}

// postForm posts a form with client_secret_basic (RFC 6749 section 2.3.1).
func postForm(cl *http.Client, u string, form url.Values, id, secret string, into any) error {
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return do(cl, req, into)
}

func do(cl *http.Client, req *http.Request, into any) error {
	resp, err := cl.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return &httpError{url: req.URL.String(), status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: string(rb)}
	}
	if into != nil {
		return json.Unmarshal(rb, into)
	}
	return nil
}

// randomAddress is a random /64 of fd00::/8 (the per-address key of an IPv6
// client is its /64), shared by no other request of this run or another.
func randomAddress() string {
	var b [7]byte
	rand.Read(b[:])
	return fmt.Sprintf("fd%02x:%02x%02x:%02x%02x:%02x%02x::1", b[0], b[1], b[2], b[3], b[4], b[5], b[6])
}

// introspect is a request that asks endpoint u, as client id, whether tok is
// active (RFC 7662), and fails unless it is.
func introspect(cl *http.Client, u, id, secret, tok string) func() error {
	return func() error {
		var in struct {
			Active bool `json:"active"`
		}
		if err := postForm(cl, u, url.Values{"token": {tok}}, id, secret, &in); err != nil {
			return err
		}
		if !in.Active {
			return errors.New("introspection: the token is not active")
		}
		return nil
	}
}
