package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/federation"
	"github.com/gatehouse-auth/gatehouse/mail"
	"github.com/gatehouse-auth/gatehouse/password"
)

// services are gatehouse's auth services, built once from the config for
// serve and for the admin commands.
type services struct {
	core       *auth.Core
	keys       *auth.Keys
	sessions   *auth.Sessions
	pats       *auth.PATs
	mailer     *mail.Mailer
	workspaces *auth.Workspaces
	clients    *auth.Clients
	oauth      *auth.OAuth
	hasher     *password.Hasher // the sessions' hashing pool, for shedding ahead of it

	federation *auth.Federation
	mfa        *auth.MFA // second factors and passkeys (mfa.go)
}

// buildServices wires the auth services over store, by hand, in one screen.
// The caller closes the mailer.
func buildServices(ctx context.Context, cfg *Config, store gatehouse.Store, log *slog.Logger) (*services, error) {
	core := auth.NewCore(store, log)
	core.ReauthMaxAge = cfg.ReauthMaxAge // what every recent-sign-in check reads (auth/reauth.go)
	keys, err := newKeys(ctx, cfg, core)
	if err != nil {
		return nil, err
	}
	hasher, err := password.New(password.Config{})
	if err != nil {
		return nil, err
	}
	smtpURL := ""
	if cfg.SMTPURL != nil {
		smtpURL = cfg.SMTPURL.String()
	}
	mailer, err := mail.Open(mail.Settings{SMTPURL: smtpURL, Dir: cfg.MailDir, PublicURL: cfg.PublicURL.String(), Logger: log,
		From: cfg.Account.MailFrom, Templates: cfg.Account.Templates})
	if err != nil {
		return nil, err
	}
	refreshKey, csrfKey := auth.SessionKeys(cfg.Secret.Derive)
	sessions, err := auth.NewSessions(core, auth.SessionConfig{
		Hasher: hasher, Mailer: mailer, Tokens: keys,
		PublicURL: cfg.PublicURL.String(), RefreshKey: refreshKey, CSRFKey: csrfKey,
		SessionTTL: cfg.RefreshTTL, Grace: cfg.RefreshGrace,
		EmailVerification: cfg.Account.EmailVerification,
	})
	if err != nil {
		mailer.Close(context.Background())
		return nil, fmt.Errorf("sessions: %w", err)
	}
	svc := &services{
		core: core, keys: keys, sessions: sessions, pats: &auth.PATs{Core: core},
		mailer: mailer, workspaces: &auth.Workspaces{Core: core}, hasher: hasher,
		clients: &auth.Clients{Core: core, IDTokenAlgs: keys.IDTokenAlgs()}, oauth: &auth.OAuth{Core: core, Keys: keys, Sessions: sessions},
	}

	// Signing in with another provider (docs/federation.md): client
	// secrets sealed under the same KEK as the signing keys.
	kek, err := keyEncryptionKey(ctx, cfg)
	if err != nil {
		mailer.Close(context.Background())
		return nil, err
	}
	resolver, err := federation.NewResolver(cfg.DNSResolver)
	if err != nil {
		mailer.Close(context.Background())
		return nil, err
	}
	connectors := &federation.Connectors{}
	if svc.federation, err = auth.NewFederation(core, sessions, auth.FederationConfig{
		KEK: kek, Connect: connectors.Connect, Resolver: resolver,
		PublicURL: cfg.PublicURL.String(),
	}); err != nil {
		mailer.Close(context.Background())
		return nil, fmt.Errorf("federation: %w", err)
	}
	if svc.mfa, err = newMFA(cfg, svc); err != nil {
		mailer.Close(context.Background())
		return nil, fmt.Errorf("second factors: %w", err)
	}
	return svc, nil
}
