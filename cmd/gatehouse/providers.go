package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/federation"
)

const providersUsage = "usage: gatehouse providers create --name NAME --issuer URL --client-id ID --client-secret-stdin [--scope S]… [--workspace W --domain D…] [--kind oidc|github] [--auth-url U --token-url U --api-url U] | providers list | providers delete ID   (each also takes --dev)"

// providerJSON is a provider as the CLI prints it: never its secret.
type providerJSON struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Kind        string    `json:"kind"`
	Issuer      string    `json:"issuer"`
	ClientID    string    `json:"client_id"`
	Scopes      []string  `json:"scopes"`
	WorkspaceID string    `json:"workspace_id,omitempty"`
	Domains     []string  `json:"domains,omitempty"`
	AuthURL     string    `json:"auth_url,omitempty"`
	TokenURL    string    `json:"token_url,omitempty"`
	APIURL      string    `json:"api_url,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	RedirectURI string    `json:"redirect_uri"`
}

func providerOut(f *auth.Federation, p *gatehouse.Provider) providerJSON {
	return providerJSON{ID: p.ID, Name: p.Name, Kind: p.Kind, Issuer: p.Issuer, ClientID: p.ClientID, Scopes: append([]string{}, p.Scopes...),
		WorkspaceID: p.WorkspaceID, Domains: p.Domains, AuthURL: p.AuthURL, TokenURL: p.TokenURL, APIURL: p.APIURL,
		CreatedAt: p.CreatedAt.UTC(), RedirectURI: f.CallbackURL(p.ID)}
}

// providersCmd is `gatehouse providers create|list|delete`: upstream
// identity providers (docs/federation.md). The client secret is read from
// standard input, sealed under the key-encryption key and never printed.
func providersCmd(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{providersUsage}
	}
	sub := args[0]
	fs := flagSet("providers "+sub, providersUsage, stderr)
	dev := fs.Bool("dev", false, "use the --dev data directory and settings")
	var spec auth.ProviderSpec
	var secretStdin bool
	var scopes, domains repeated
	if sub == "create" {
		fs.StringVar(&spec.Name, "name", "", "the name shown on the sign-in button")
		fs.StringVar(&spec.Issuer, "issuer", "", "the OpenID Connect issuer URL (https; http only on loopback); github: its web URL (default https://github.com)")
		fs.StringVar(&spec.ClientID, "client-id", "", "the client id gatehouse has at the provider")
		fs.BoolVar(&secretStdin, "client-secret-stdin", false, "read the client secret from the first line of standard input")
		fs.Var(&scopes, "scope", "a scope to ask for besides openid (repeats; default email profile; github: read:user user:email)")
		fs.StringVar(&spec.WorkspaceID, "workspace", "", "a workspace id: the provider serves only that workspace's proven domains")
		fs.Var(&domains, "domain", "an email domain the workspace's provider serves (repeats; with --workspace)")
		fs.StringVar(&spec.Kind, "kind", "oidc", "oidc or github")
		fs.StringVar(&spec.AuthURL, "auth-url", "", "github: authorization endpoint override")
		fs.StringVar(&spec.TokenURL, "token-url", "", "github: token endpoint override")
		fs.StringVar(&spec.APIURL, "api-url", "", "github: API base URL override")
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{providersUsage}
	}
	switch {
	case sub == "create" && (fs.NArg() != 0 || !secretStdin || spec.Name == "" || spec.ClientID == "" ||
		spec.Issuer == "" && spec.Kind != gatehouse.ProviderGitHub),
		sub == "list" && fs.NArg() != 0,
		sub == "delete" && fs.NArg() != 1,
		sub != "create" && sub != "list" && sub != "delete":
		return &usageError{providersUsage}
	}
	if sub == "create" {
		spec.Scopes, spec.Domains = scopes, domains
		if spec.Kind == gatehouse.ProviderGitHub && spec.Issuer == "" {
			spec.Issuer = federation.GitHubWeb
		}
		for _, u := range []string{spec.Issuer, spec.AuthURL, spec.TokenURL, spec.APIURL} {
			if u == "" {
				continue
			}
			if err := federation.CheckURL(u); err != nil {
				return fmt.Errorf("providers create: %v", err)
			}
		}
		line, err := bufio.NewReaderSize(io.LimitReader(stdin, 4097), 4097).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("providers create: reading the client secret: %v", err)
		}
		spec.ClientSecret = strings.TrimRight(line, "\r\n")
		if spec.ClientSecret == "" {
			return fmt.Errorf("providers create: no client secret on standard input")
		}
	}
	a, closeAll, err := openAdmin(ctx, *dev, getenv, stderr)
	if err != nil {
		return err
	}
	defer closeAll()
	f := a.svc.federation
	enc := json.NewEncoder(stdout)
	switch sub {
	case "create":
		p, err := f.CreateProvider(ctx, spec)
		if err != nil {
			return fmt.Errorf("providers create: %s", gatehouse.ErrorMessage(err))
		}
		return enc.Encode(providerOut(f, p))
	case "list":
		ps, err := f.Providers(ctx)
		if err != nil {
			return fmt.Errorf("providers list: %s", gatehouse.ErrorMessage(err))
		}
		out := make([]providerJSON, 0, len(ps))
		for _, p := range ps {
			out = append(out, providerOut(f, p))
		}
		return enc.Encode(map[string]any{"providers": out})
	default:
		id := strings.TrimSpace(fs.Arg(0))
		if err := f.DeleteProvider(ctx, id); err != nil {
			return fmt.Errorf("providers delete: %s", gatehouse.ErrorMessage(err))
		}
		return enc.Encode(map[string]any{"id": id, "deleted": true})
	}
}
