package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/backchannel"
	"github.com/gatehouse-auth/gatehouse/httpapi"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// shutdownGrace bounds how long a stopping server waits for requests in
// flight.
const shutdownGrace = 25 * time.Second

func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flagSet("serve", "usage: gatehouse serve [--dev] [--addr HOST:PORT]", stderr)
	dev := fs.Bool("dev", false, "development mode: SQLite, mail files and a generated secret under ./gatehouse-data/")
	addr := fs.String("addr", "", "listen address (overrides "+envAddr+")")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{"serve: " + err.Error()}
	}
	if fs.NArg() > 0 {
		return &usageError{"serve: unexpected argument " + fmt.Sprintf("%q", clip(fs.Arg(0), 40))}
	}
	cfg, err := loadConfig(getenv, *dev, configFlags{addr: *addr})
	if err != nil {
		return err
	}
	if cfg.Dev {
		if err := prepareDev(cfg); err != nil {
			return err
		}
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	if cfg.Dev {
		how := "reused"
		if cfg.SecretGenerated {
			how = "generated and stored with mode 0600"
		}
		if cfg.SecretFile == "" {
			how = "taken from " + envAuthSecret
		}
		log.Info("development mode: not for production",
			slog.String("data_dir", cfg.DataDir),
			slog.String("database", redactURL(cfg.DatabaseURL)),
			slog.String("mail_dir", cfg.MailDir),
			slog.String("secret_file", cfg.SecretFile),
			slog.String("secret", how),
			slog.String("rate_limits", map[bool]string{true: "in-memory", false: "redis"}[cfg.RedisURL == ""]))
	}

	db, err := openStore(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := prepareSchema(ctx, cfg, db, log); err != nil {
		return err
	}
	// The "redis" check comes with the rate limiter (newRateLimiting): its
	// ping also moves the limiter back to Redis once Redis answers again.
	checks := []httpapi.Check{{Name: "database", Check: db.Ping}}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	rl, err := newRateLimiting(ctx, cfg, log, reg)
	if err != nil {
		return err
	}
	defer rl.close()

	svc, err := buildServices(ctx, cfg, db, log)
	if err != nil {
		return err
	}
	defer svc.mailer.Close(context.WithoutCancel(ctx))
	// Load the signing keys (making the first on a fresh install) and keep
	// them current: rotation when due, changes made by the CLI or another
	// instance within seconds.
	if err := svc.keys.Start(ctx); err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	// OpenID Connect back-channel logout (docs/oidc.md): deliver the
	// notices that ended sessions left in the outbox. Private and loopback
	// addresses only with GATEHOUSE_BACKCHANNEL_ALLOW_PRIVATE=true (tests,
	// closed networks).
	go backchannel.New(backchannel.Config{Core: svc.core, Keys: svc.keys, Log: log,
		AllowPrivate: getenv("GATEHOUSE_BACKCHANNEL_ALLOW_PRIVATE") == "true"}).Run(ctx)
	// Ended sessions and used or expired magic links are deleted a day after
	// they end, hourly, so the tables do not grow without bound.
	go svc.sessions.RunPurge(ctx, time.Hour)
	if !svc.keys.CanSign() {
		log.Error("no signing key can be decrypted with the current key-encryption key: access tokens cannot be issued; run `gatehouse keys rotate --now` (docs/keys.md)")
	}
	cookies, csrf, err := cookieMode(cfg, svc, log)
	if err != nil {
		return err
	}
	srv, err := httpapi.New(httpapi.Config{
		PublicURL:       cfg.PublicURL,
		CORSOrigins:     cfg.CORSOrigins,
		TrustedProxies:  cfg.TrustedProxies,
		SeparateMetrics: cfg.MetricsAddr != "",
	}, httpapi.Deps{
		Logger:     log,
		Registry:   reg,
		Ready:      append(checks, rl.ready...),
		Recorder:   svc.core,
		Auth:       httpapi.BearerAuth{Credentials: &auth.Credentials{Keys: svc.keys, PATs: svc.pats}},
		Workspaces: svc.workspaces,
		AuditLog:   &auth.AuditLog{Core: svc.core},
		Profile:    &auth.Profile{Core: svc.core},
		Sessions:   svc.sessions,
		Cookies:    cookies,
		CSRF:       csrf,
		Keys:       svc.keys,
		PATs:       svc.pats,
		Clients:    svc.clients,
		OAuth:      svc.oauth,
		RateLimits: rl.limits,
		FailedAuth: rl.failed,
		DeviceKey:  auth.DeviceKey(cfg.Secret.Derive),
		Hasher:     svc.hasher,

		ReadyDetails: rl.detail,

		Federation: svc.federation,
		MFA:        svc.mfa,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("%s: cannot listen: %w", cfg.AddrName, err)
	}
	var h http.Handler = srv
	if cfg.Dev && cfg.MailDir != "" {
		h = devMail(cfg.MailDir, srv) // GET /dev/mail (devmail.go)
	}
	ls := []listener{{ln: ln, h: h}}
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("%s: cannot listen: %w", envMetricsAddr, err)
		}
		ls = append(ls, listener{ln: mln, h: srv.MetricsHandler()})
		log.Info("metrics listening", slog.String("addr", mln.Addr().String()))
	} else if !cfg.Dev {
		log.Warn("/metrics is served on the public listener: set " + envMetricsAddr + " in production (README.md)")
	}
	log.Info("listening", slog.String("addr", ln.Addr().String()), slog.String("public_url", cfg.PublicURL.String()),
		slog.String("portal", strings.TrimRight(cfg.PublicURL.String(), "/")+"/"))
	if cfg.Dev && cfg.MailDir != "" {
		log.Info("development mail: open "+strings.TrimRight(cfg.PublicURL.String(), "/")+"/dev/mail to read what gatehouse sent",
			slog.String("mail_dir", cfg.MailDir))
	}
	return serveAll(ctx, ls, log, shutdownGrace)
}

// redactURL returns a database URL fit for a log line: a SQLite path as is,
// a URL without its password.
func redactURL(s string) string {
	if isSQLite(s) {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}

// serveHTTP serves h on ln until ctx ends, then stops accepting and drains
// the requests in flight for up to grace.
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger, grace time.Duration) error {
	return serveAll(ctx, []listener{{ln: ln, h: h}}, log, grace)
}

// listener is one address gatehouse serves: the public API, or the metrics.
type listener struct {
	ln net.Listener
	h  http.Handler
}

// serveAll serves every listener until ctx ends (or one fails), then stops
// them all: each stops accepting and drains its requests in flight, for up to
// grace in all.
func serveAll(ctx context.Context, ls []listener, log *slog.Logger, grace time.Duration) error {
	servers := make([]*http.Server, len(ls))
	errc := make(chan error, len(ls))
	for i, l := range ls {
		servers[i] = &http.Server{
			Handler:           l.h,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    32 << 10,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
			// Requests in flight keep their context when the signal arrives.
			BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		}
		go func(hs *http.Server, ln net.Listener) { errc <- hs.Serve(ln) }(servers[i], l.ln)
	}
	var failed error
	took := 0 // results of errc received
	select {
	case err := <-errc:
		took++
		failed = fmt.Errorf("serve: %w", err)
		log.Error("a listener failed: stopping", slog.String("err", err.Error()))
	case <-ctx.Done():
		log.Info("shutting down: draining requests in flight", slog.String("grace", gatehouse.FormatDuration(grace)))
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	shut := make(chan error, len(servers))
	for _, hs := range servers {
		go func() {
			err := hs.Shutdown(sctx)
			if err != nil {
				hs.Close()
			}
			shut <- err
		}()
	}
	for range servers {
		if err := <-shut; err != nil && failed == nil {
			failed = fmt.Errorf("shutdown: %w", err)
		}
	}
	// Every Serve returns (ErrServerClosed once Shutdown began).
	for ; took < len(servers); took++ {
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) && failed == nil {
			failed = fmt.Errorf("serve: %w", err)
		}
	}
	if failed != nil {
		return failed
	}
	log.Info("stopped")
	return nil
}
