// Package backchannel delivers OpenID Connect back-channel logout notices
// (OpenID Connect Back-Channel Logout 1.0, docs/oidc.md) from the outbox
// that package auth writes in the transaction that ends a session: a
// logout token POSTed as a form to the client's registered
// backchannel_logout_uri, with retries and backoff, bounded concurrency,
// timeouts, and no request to anything but the registered URI.
package backchannel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
)

// Defaults of Config.
const (
	DefaultConcurrency = 4
	DefaultTimeout     = 5 * time.Second
	DefaultPoll        = time.Second
	batch              = 32
)

// Config configures a Worker.
type Config struct {
	Core *auth.Core
	Keys *auth.Keys
	Log  *slog.Logger
	// Concurrency bounds deliveries in flight (default 4); Timeout bounds
	// each one, connection included (default 5 s); Poll is how often the
	// outbox is read (default 1 s).
	Concurrency int
	Timeout     time.Duration
	Poll        time.Duration
	// AllowPrivate lets deliveries reach loopback, private and link-local
	// addresses: for tests and closed networks only (a registered URI
	// must not make gatehouse a proxy into its own network: OWASP SSRF
	// Prevention Cheat Sheet).
	AllowPrivate bool
}

// Worker drains the back-channel logout outbox.
type Worker struct {
	cfg    Config
	client *http.Client
}

// New returns a Worker for cfg.
func New(cfg Config) *Worker {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	d := &net.Dialer{Timeout: cfg.Timeout, Control: func(network, address string, _ syscall.RawConn) error {
		// Checked on the address actually dialled, after DNS resolution,
		// so a name that resolves to an internal address is refused too.
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return err
		}
		if !cfg.AllowPrivate && !publicAddr(ap.Addr()) {
			return errPrivate
		}
		return nil
	}}
	tr := &http.Transport{Proxy: nil, DialContext: d.DialContext, TLSHandshakeTimeout: cfg.Timeout,
		ResponseHeaderTimeout: cfg.Timeout, MaxIdleConnsPerHost: 2, IdleConnTimeout: 30 * time.Second}
	return &Worker{cfg: cfg, client: &http.Client{Transport: tr, Timeout: cfg.Timeout,
		// Only the registered URI: a redirect is not followed (it
		// counts as a failure).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var errPrivate = errors.New("backchannel: the address is not public")

// publicAddr reports whether a is a public unicast address.
func publicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() {
		return false
	}
	for _, p := range notPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// notPublic are the special-purpose ranges (IANA IPv4 and IPv6
// Special-Purpose Address Registries, RFC 6890) that IsGlobalUnicast lets
// through but no receiver on the internet lives in, and the IPv6 prefixes
// that embed an IPv4 address (NAT64, 6to4, Teredo), through which a private
// IPv4 address could be reached.
var notPublic = func() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24",
		"198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4",
		"64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/32", "2001:db8::/32", "2002::/16",
	} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}()

// Run drains the outbox every Poll until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(w.cfg.Poll)
	defer t.Stop()
	for {
		if _, err := w.RunOnce(ctx); err != nil && ctx.Err() == nil {
			w.cfg.Log.Error("backchannel logout: outbox", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunOnce claims the due notices (leased for the time a batch may take)
// and delivers them, Concurrency at a time; it returns how many it tried.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	items, err := w.cfg.Core.ClaimOutbox(ctx, batch, 2*w.cfg.Timeout*time.Duration(batch/w.cfg.Concurrency+1))
	if err != nil {
		return 0, err
	}
	sem := make(chan struct{}, w.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, it := range items {
		if it.Kind != auth.OutboxBackchannel {
			continue // another kind's worker delivers it
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := w.deliver(ctx, it); err != nil && ctx.Err() == nil {
				w.cfg.Log.Error("backchannel logout: record outcome", slog.Any("error", err))
			}
		}()
	}
	wg.Wait()
	return len(items), nil
}

// deliver sends one notice and records the outcome.
func (w *Worker) deliver(ctx context.Context, it *gatehouse.OutboxItem) error {
	var n auth.BackchannelNotice
	if err := json.Unmarshal(it.Payload, &n); err != nil {
		return w.cfg.Core.DropOutbox(ctx, it.ID)
	}
	c, err := w.cfg.Core.BackchannelClient(ctx, n)
	if err != nil {
		return err
	}
	if c == nil || c.BackchannelLogoutURI != n.URI {
		// The client is gone or changed its URI: only the URI registered
		// now may be called.
		return w.cfg.Core.DropOutbox(ctx, it.ID)
	}
	return w.cfg.Core.BackchannelOutcome(ctx, it, n, w.post(ctx, n, c))
}

// post POSTs the logout token (section 2.5) and returns "" on 200 or 204,
// else a short reason (never the token).
func (w *Worker) post(ctx context.Context, n auth.BackchannelNotice, c *gatehouse.Client) string {
	tok, err := w.cfg.Keys.LogoutToken(n, c.IDTokenAlg)
	if err != nil {
		return "signing"
	}
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.URI, strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
	if err != nil {
		return "bad_uri"
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := w.client.Do(req)
	if err != nil {
		if errors.Is(err, errPrivate) {
			return "address_not_allowed"
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return "timeout"
		}
		return "connection"
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNoContent {
		return ""
	}
	return fmt.Sprintf("status_%d", resp.StatusCode)
}
