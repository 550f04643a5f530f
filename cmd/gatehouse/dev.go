package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gatehouse-auth/gatehouse/secret"
)

// prepareDev creates ./gatehouse-data/ (mode 0700) and its mail directory,
// and, unless GATEHOUSE_AUTH_SECRET was given, loads the development secret
// from ./gatehouse-data/secret, generating it (mode 0600) on first use.
func prepareDev(c *Config) error {
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("--dev: cannot create %s: %w", c.DataDir, err)
	}
	if c.MailDir != "" {
		if err := os.MkdirAll(c.MailDir, 0o700); err != nil {
			return fmt.Errorf("--dev: cannot create %s: %w", c.MailDir, err)
		}
	}
	if !c.Secret.IsZero() {
		return nil
	}
	path := filepath.Join(c.DataDir, "secret")
	c.SecretFile = path
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s := secret.Generate()
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("--dev: cannot create %s: %w", path, err)
		}
		if _, err := f.WriteString(s + "\n"); err != nil {
			f.Close()
			return fmt.Errorf("--dev: cannot write %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("--dev: cannot write %s: %w", path, err)
		}
		c.SecretGenerated = true
		b = []byte(s)
	case err != nil:
		return fmt.Errorf("--dev: cannot read %s: %w", path, err)
	default:
		fi, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("--dev: cannot read %s: %w", path, err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return fmt.Errorf("--dev: %s is readable by others (mode %04o); run chmod 600 %s", path, fi.Mode().Perm(), path)
		}
	}
	sec, err := secret.Parse(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("--dev: %s: %v; delete it to generate a new one", path, err)
	}
	c.Secret = sec
	return nil
}
