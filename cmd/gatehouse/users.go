package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// admin is what an admin command works with: the auth services, opened the
// way serve opens them.
type admin struct {
	svc *services
	cfg *Config
}

// openAdmin loads the config (--dev: the development data directory), opens
// the store, checks its schema and builds the services. close releases them.
func openAdmin(ctx context.Context, dev bool, getenv func(string) string, stderr io.Writer) (*admin, func(), error) {
	cfg, err := loadConfig(getenv, dev, configFlags{})
	if err != nil {
		return nil, nil, err
	}
	return openAdminConfig(ctx, cfg, stderr)
}

// openAdminConfig is openAdmin with the config already loaded.
func openAdminConfig(ctx context.Context, cfg *Config, stderr io.Writer) (*admin, func(), error) {
	if cfg.Dev {
		if err := prepareDev(cfg); err != nil {
			return nil, nil, err
		}
	}
	db, err := openStore(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, nil, err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	if err := prepareSchema(ctx, cfg, db, log); err != nil {
		db.Close()
		return nil, nil, err
	}
	svc, err := buildServices(ctx, cfg, db, log)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return &admin{svc: svc, cfg: cfg}, func() {
		svc.mailer.Close(context.WithoutCancel(ctx))
		db.Close()
	}, nil
}

const usersUsage = "usage: gatehouse users create --email E --password-stdin | users set-status --email E --status active|locked|disabled [--reason R] | users set-admin --email E [--off]   (each also takes --dev)"

type userJSON struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Status    string    `json:"status"`
	Admin     bool      `json:"admin"`
	CreatedAt time.Time `json:"created_at"`
}

// usersCmd is `gatehouse users create|set-status|set-admin`. It prints the
// account as JSON on stdout.
func usersCmd(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{usersUsage}
	}
	if args[0] == "list" {
		return usersListCmd(ctx, args[1:], getenv, stdout, stderr) // operator.go
	}
	sub := args[0]
	fs := flagSet("users "+sub, usersUsage, stderr)
	dev := fs.Bool("dev", false, "use the --dev data directory and settings")
	email := fs.String("email", "", "the account's email address")
	// Each subcommand has its own flags, so --help lists exactly those.
	var pwStdin, off bool
	var status, reason string
	switch sub {
	case "create":
		fs.BoolVar(&pwStdin, "password-stdin", false, "read the password from the first line of standard input")
	case "set-status":
		fs.StringVar(&status, "status", "", "active, locked or disabled")
		fs.StringVar(&reason, "reason", "", "why the status changes (recorded in the audit trail)")
	case "set-admin":
		fs.BoolVar(&off, "off", false, "take the admin flag away instead of granting it")
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{usersUsage}
	}
	if fs.NArg() != 0 || *email == "" {
		return &usageError{usersUsage}
	}
	switch {
	case sub == "create" && !pwStdin,
		sub == "set-status" && status == "",
		sub != "create" && sub != "set-status" && sub != "set-admin":
		return &usageError{usersUsage}
	}
	var pw string
	if sub == "create" {
		// One line, at most the password limit and a little: a password is
		// never taken from the command line, where ps and shell history see it.
		line, err := bufio.NewReaderSize(io.LimitReader(stdin, 4096), 4096).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("users create: reading the password: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
		if pw == "" {
			return &usageError{"users create: no password on standard input"}
		}
	}
	a, closeAll, err := openAdmin(ctx, *dev, getenv, stderr)
	if err != nil {
		return err
	}
	defer closeAll()
	var u *gatehouse.User
	switch sub {
	case "create":
		u, err = a.svc.sessions.CreateAccount(ctx, *email, pw)
	case "set-status":
		u, err = a.svc.sessions.SetStatusByEmail(ctx, *email, gatehouse.UserStatus(status), reason)
	default:
		u, err = a.svc.sessions.SetAdmin(ctx, *email, !off)
	}
	if err != nil {
		return fmt.Errorf("users %s: %s", sub, gatehouse.ErrorMessage(err))
	}
	return json.NewEncoder(stdout).Encode(userJSON{ID: u.ID, Email: u.Email, Status: string(u.Status), Admin: u.Admin, CreatedAt: u.CreatedAt.UTC()})
}

// sessionsCmd is `gatehouse sessions revoke-all`: every session ends, so
// every refresh token gets invalid_grant from then on.
func sessionsCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const usage = "usage: gatehouse sessions revoke-all [--dev]"
	if len(args) == 0 || args[0] != "revoke-all" {
		return &usageError{usage}
	}
	fs := flagSet("sessions revoke-all", usage, stderr)
	dev := fs.Bool("dev", false, "use the --dev data directory and settings")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 0 {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{usage}
	}
	a, closeAll, err := openAdmin(ctx, *dev, getenv, stderr)
	if err != nil {
		return err
	}
	defer closeAll()
	n, err := a.svc.sessions.RevokeAll(ctx)
	if err != nil {
		return fmt.Errorf("sessions revoke-all: %w", err)
	}
	return json.NewEncoder(stdout).Encode(map[string]int64{"revoked": n})
}
