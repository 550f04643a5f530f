package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
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

	hasher *password.Hasher
	mfa    *auth.MFA // second factors and passkeys (mfa.go)
}

// buildServices wires the auth services over store, by hand, in one screen.
// The caller closes the mailer.
func buildServices(ctx context.Context, cfg *Config, store gatehouse.Store, log *slog.Logger) (*services, error) {
	core := auth.NewCore(store, log)
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
	mailer, err := mail.Open(mail.Settings{SMTPURL: smtpURL, Dir: cfg.MailDir, PublicURL: cfg.PublicURL.String(), Logger: log})
	if err != nil {
		return nil, err
	}
	refreshKey, csrfKey := auth.SessionKeys(cfg.Secret.Derive)
	sessions, err := auth.NewSessions(core, auth.SessionConfig{
		Hasher: hasher, Mailer: mailer, Tokens: keys,
		PublicURL: cfg.PublicURL.String(), RefreshKey: refreshKey, CSRFKey: csrfKey,
		SessionTTL: cfg.RefreshTTL, Grace: cfg.RefreshGrace,
	})
	if err != nil {
		mailer.Close(context.Background())
		return nil, fmt.Errorf("sessions: %w", err)
	}
	svc := &services{
		core: core, keys: keys, sessions: sessions, pats: &auth.PATs{Core: core},
		mailer: mailer, workspaces: &auth.Workspaces{Core: core},
		clients: &auth.Clients{Core: core}, oauth: &auth.OAuth{Core: core, Keys: keys, Sessions: sessions},

		hasher: hasher,
	}
	if svc.mfa, err = newMFA(cfg, svc); err != nil {
		mailer.Close(context.Background())
		return nil, fmt.Errorf("second factors: %w", err)
	}
	return svc, nil
}
