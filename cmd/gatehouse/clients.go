package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/httpapi"
)

const clientsUsage = "usage: gatehouse clients create --workspace W --name N [--grant client_credentials]… [--scope S]… [--dev]   (--redirect-uri and --public are refused until the authorization-code grant exists: docs/oauth.md)"

// repeated is a flag that may be given more than once; each value may also
// hold several items separated by spaces or commas ("--scope 'a b'").
type repeated []string

func (r *repeated) String() string { return strings.Join(*r, " ") }
func (r *repeated) Set(v string) error {
	*r = append(*r, strings.FieldsFunc(v, func(c rune) bool { return c == ' ' || c == ',' })...)
	return nil
}

// clientsCmd is `gatehouse clients create`: it registers a confidential
// OAuth client in a workspace and prints it as JSON with its secret, which
// is shown this once (only its SHA-256 is stored).
func clientsCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return &usageError{clientsUsage}
	}
	fs := flag.NewFlagSet("clients create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dev := fs.Bool("dev", false, "use the --dev data directory and settings")
	workspace := fs.String("workspace", "", "the workspace id")
	name := fs.String("name", "", "the client's name")
	public := fs.Bool("public", false, "a public (PKCE-only) client: refused until the authorization-code grant exists")
	var grants, scopes, redirects repeated
	fs.Var(&grants, "grant", "a grant type (repeats); default client_credentials")
	fs.Var(&scopes, "scope", "a scope the client may ask for (repeats): "+strings.Join(auth.ClientScopes, ", "))
	fs.Var(&redirects, "redirect-uri", "a redirect URI (repeats): refused until the authorization-code grant exists")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{clientsUsage}
	}
	if fs.NArg() != 0 || *workspace == "" || *name == "" {
		return &usageError{clientsUsage}
	}
	a, closeAll, err := openAdmin(ctx, *dev, getenv, stderr)
	if err != nil {
		return err
	}
	defer closeAll()
	cc, err := a.svc.clients.CreateAsSystem(ctx, strings.TrimSpace(*workspace),
		auth.ClientSpec{Name: *name, Grants: grants, Scopes: scopes, RedirectURIs: redirects, Public: *public})
	if err != nil {
		return fmt.Errorf("clients create: %s", gatehouse.ErrorMessage(err))
	}
	return json.NewEncoder(stdout).Encode(httpapi.ClientOut(cc.Client, cc.Secret))
}
