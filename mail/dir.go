package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Dir writes each message as an .eml file (mode 0600) in a directory (mode
// 0700): for `serve --dev` and for operators without a mail server. A file
// appears whole or not at all (written under a temporary name, then renamed).
type Dir struct {
	Path string
	Now  func() time.Time
}

// NewDir returns a Dir writing into path, creating it if needed.
func NewDir(path string) (*Dir, error) {
	if path == "" {
		return nil, fmt.Errorf("mail directory is empty")
	}
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("mail directory: %w", err)
	}
	return &Dir{Path: path, Now: time.Now}, nil
}

// Send writes m as <time>-<random>.eml.
func (d *Dir) Send(ctx context.Context, m *Message) error {
	body, err := m.Bytes()
	if err != nil {
		return err
	}
	var r [6]byte
	rand.Read(r[:])
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	name := now().UTC().Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(r[:]) + ".eml"
	tmp, err := os.OpenFile(filepath.Join(d.Path, "."+name+".tmp"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	if _, err := tmp.Write(body); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("mail: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("mail: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(d.Path, name)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("mail: %w", err)
	}
	return nil
}
