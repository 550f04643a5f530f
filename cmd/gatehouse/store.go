package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/postgres"
	"github.com/gatehouse-auth/gatehouse/sqlite"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
)

// connectTimeout bounds opening the database at start.
const connectTimeout = 15 * time.Second

// openStore opens the database that GATEHOUSE_DATABASE_URL names (checked by
// checkDatabaseURL): "sqlite:PATH" or "postgres://…". It neither migrates nor
// checks the schema.
func openStore(ctx context.Context, dbURL string) (*sqlstore.DB, error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if path, ok := strings.CutPrefix(dbURL, "sqlite:"); ok {
		if dir := filepath.Dir(path); dir != "." {
			if _, err := os.Stat(dir); err != nil {
				return nil, bad(envDatabaseURL, "the SQLite file's directory does not exist")
			}
		}
		db, err := sqlite.Open(ctx, path)
		if err != nil {
			return nil, bad(envDatabaseURL, "cannot open the SQLite database: %v", err)
		}
		return db, nil
	}
	db, err := postgres.Open(ctx, dbURL)
	if err != nil {
		return nil, bad(envDatabaseURL, "cannot connect: %v", err)
	}
	return db, nil
}

func isSQLite(dbURL string) bool { return strings.HasPrefix(dbURL, "sqlite:") }

// prepareSchema brings the schema up for serve: --dev with SQLite migrates
// itself; otherwise a schema that is behind stops start-up with a message
// that says to run `gatehouse migrate`. On PostgreSQL it warns when the role
// could defeat row-level security (docs/postgres.md).
func prepareSchema(ctx context.Context, cfg *Config, db *sqlstore.DB, log *slog.Logger) error {
	if isSQLite(cfg.DatabaseURL) {
		if cfg.Dev {
			if err := sqlite.Migrate(ctx, db); err != nil {
				return fmt.Errorf("--dev: migrating the SQLite database: %w", err)
			}
			return nil
		}
		if err := sqlite.CheckSchema(ctx, db); err != nil {
			return schemaError(err)
		}
		return nil
	}
	if err := postgres.CheckSchema(ctx, db); err != nil {
		return schemaError(err)
	}
	if err := postgres.CheckAppRole(ctx, db); err != nil {
		log.Error("the database role can defeat row-level security; serve should run as the app role",
			slog.String("problem", err.Error()))
	}
	return nil
}

func schemaError(err error) error {
	if errors.Is(err, sqlstore.ErrSchemaBehind) {
		return bad(envDatabaseURL, "%v", err)
	}
	return bad(envDatabaseURL, "cannot read the schema version: %v", err)
}

// migrate applies the schema to GATEHOUSE_DATABASE_URL. For PostgreSQL the
// URL is the owner role's, and the app role (--app-role) is granted what serve
// needs (docs/postgres.md). It prints a JSON summary on stdout.
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flagSet("migrate", "usage: gatehouse migrate [--app-role R]", stderr)
	appRole := fs.String("app-role", postgres.DefaultAppRole, "PostgreSQL: the role serve runs as, granted what it needs (empty: no grants)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{"migrate: " + err.Error()}
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("migrate: unexpected argument %q", clip(fs.Arg(0), 40))}
	}
	dbURL := strings.TrimSpace(getenv(envDatabaseURL))
	if dbURL == "" {
		return bad(envDatabaseURL, "is required: sqlite:PATH, or the PostgreSQL owner role's postgres://… URL")
	}
	if err := checkDatabaseURL(dbURL); err != nil {
		return bad(envDatabaseURL, "%v", err)
	}
	out := map[string]any{"migrated": true}
	if isSQLite(dbURL) {
		db, err := openStore(ctx, dbURL)
		if err != nil {
			return err
		}
		defer db.Close()
		if err := sqlite.Migrate(ctx, db); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		out["database"] = "sqlite"
	} else {
		if err := postgres.Migrate(ctx, dbURL, *appRole); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		out["database"] = "postgres"
		out["app_role"] = *appRole
	}
	return json.NewEncoder(stdout).Encode(out)
}
