package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/kms"
	"github.com/gatehouse-auth/gatehouse/kms/awskms"
	"github.com/gatehouse-auth/gatehouse/token"
)

// Settings of the signing keys beyond the table in README.md (docs/keys.md),
// read by loadConfig.
const (
	envKeyAlg      = "GATEHOUSE_KEY_ALG"      // EdDSA (default), ES256 or RS256
	envKeyRotation = "GATEHOUSE_KEY_ROTATION" // Go duration a key signs for (default 720h)
	envKMS         = "GATEHOUSE_KMS"          // local (default) or awskms
	envKMSKeyID    = "GATEHOUSE_KMS_KEY_ID"   // awskms: key id, ARN or alias
	envKMSRegion   = "GATEHOUSE_KMS_REGION"   // awskms: region (default: the AWS configuration chain)
	envKMSEndpoint = "GATEHOUSE_KMS_ENDPOINT" // awskms: endpoint override (a KMS-compatible server)
)

// keyEncryptionKey builds the KEK provider that cfg.KMS names. local derives
// its key from the master secret (HKDF, label kms.LocalKeyLabel).
func keyEncryptionKey(ctx context.Context, cfg *Config) (kms.KEK, error) {
	if cfg.KMS.Provider != "awskms" {
		return kms.NewLocal(cfg.Secret.Derive(kms.LocalKeyLabel, 32))
	}
	k, err := awskms.New(ctx, awskms.Config{KeyID: cfg.KMS.KeyID, Region: cfg.KMS.Region, Endpoint: cfg.KMS.Endpoint})
	if err != nil {
		return nil, bad(envKMS, "awskms: %v", err)
	}
	return k, nil
}

// newKeys builds the signing-key service from the configuration (checked
// by loadConfig, so an error here is not a setting's).
func newKeys(ctx context.Context, cfg *Config, core *auth.Core) (*auth.Keys, error) {
	kek, err := keyEncryptionKey(ctx, cfg)
	if err != nil {
		return nil, err
	}
	k, err := auth.NewKeys(core, auth.KeysConfig{
		Issuer:         strings.TrimSuffix(cfg.PublicURL.String(), "/"),
		Alg:            cfg.KeyAlg,
		AccessTTL:      cfg.AccessTTL,
		PublishAhead:   cfg.KeyPublishAhead,
		RotationPeriod: cfg.KeyRotation,
		KEK:            kek,
		// OpenID Connect Discovery 1.0 requires RS256 id_tokens: an RS256
		// key family beside the access-token one (docs/oidc.md).
		IDTokenAlgs: []token.Alg{token.RS256},
	})
	if err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	return k, nil
}

// kidLast reorders the arguments of `keys revoke` so that the flag package
// cannot take the KID for a flag: a KID is an RFC 7638 thumbprint in
// base64url, and one in 64 begins with '-'. Every argument that is not the
// --dev flag (or a request for help) is positional.
func kidLast(sub string, args []string) []string {
	if sub != "revoke" {
		return args
	}
	var flags, pos []string
	for _, a := range args {
		switch {
		case a == "--":
		case a == "-dev" || a == "--dev" || strings.HasPrefix(a, "-dev=") || strings.HasPrefix(a, "--dev="),
			a == "-h" || a == "-help" || a == "--help":
			flags = append(flags, a)
		default:
			pos = append(pos, a)
		}
	}
	return append(append(flags, "--"), pos...)
}

const keysUsage = "usage: gatehouse keys list | keys rotate [--now] | keys revoke KID   (each also takes --dev)"

// keysCmd is `gatehouse keys list|rotate [--now]|revoke KID`. It prints JSON
// on stdout. A running server sees the change within its poll interval
// (2 seconds).
func keysCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{keysUsage}
	}
	sub := args[0]
	fs := flagSet("keys "+sub, keysUsage, stderr)
	dev := fs.Bool("dev", false, "use the --dev data directory and settings")
	now := false
	if sub == "rotate" {
		fs.BoolVar(&now, "now", false, "the new key signs at once (emergency), instead of after "+envKeyPublishAhead)
	}
	if err := fs.Parse(kidLast(sub, args[1:])); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{keysUsage}
	}
	want := 0
	if sub == "revoke" {
		want = 1
	}
	if fs.NArg() != want || (sub != "list" && sub != "rotate" && sub != "revoke") {
		return &usageError{keysUsage}
	}
	a, closeAll, err := openAdmin(ctx, *dev, getenv, stderr)
	if err != nil {
		return err
	}
	defer closeAll()
	keys := a.svc.keys
	if err := keys.Load(ctx); err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	switch sub {
	case "list":
		l, err := keys.List(ctx)
		if err != nil {
			return err
		}
		return enc.Encode(map[string]any{"keys": l})
	case "rotate":
		ki, err := keys.Rotate(ctx, now, "system")
		if err != nil {
			return err
		}
		return enc.Encode(ki)
	default:
		kid := fs.Arg(0)
		if err := keys.Revoke(ctx, kid, "system"); err != nil {
			return fmt.Errorf("keys revoke: %w", err)
		}
		l, err := keys.List(ctx)
		if err != nil {
			return err
		}
		return enc.Encode(map[string]any{"revoked": kid, "keys": l})
	}
}
