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

const clientsUsage = "usage: gatehouse clients create --workspace W --name N [--grant G]… [--scope S]… [--redirect-uri U]… [--public] [--id-token-alg A] [--post-logout-redirect-uri U]… [--backchannel-logout-uri U] [--dev]"

// repeated is a flag that may be given more than once; each value may also
// hold several items separated by spaces or commas ("--scope 'a b'").
type repeated []string

func (r *repeated) String() string { return strings.Join(*r, " ") }
func (r *repeated) Set(v string) error {
	*r = append(*r, strings.FieldsFunc(v, func(c rune) bool { return c == ' ' || c == ',' })...)
	return nil
}

// exactValues is a flag that may be given more than once, each value kept
// as given (a redirect URI is matched as an exact string).
type exactValues []string

func (e *exactValues) String() string     { return strings.Join(*e, " ") }
func (e *exactValues) Set(v string) error { *e = append(*e, v); return nil }

// clientsCmd is `gatehouse clients create`: it registers an OAuth client
// in a workspace and prints it as JSON with its secret, which is shown this
// once (only its SHA-256 is stored); a public client (--public) has none.
func clientsCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "list" || args[0] == "delete") {
		return clientsListDeleteCmd(ctx, args, getenv, stdout, stderr) // operator.go
	}
	if len(args) == 0 || args[0] != "create" {
		return &usageError{clientsUsage}
	}
	fs := flagSet("clients create", clientsUsage, stderr)
	dev := fs.Bool("dev", false, "use the --dev data directory and settings")
	workspace := fs.String("workspace", "", "the workspace id")
	name := fs.String("name", "", "the client's name")
	public := fs.Bool("public", false, "a public client: PKCE only, no secret (authorization_code)")
	var grants, scopes repeated
	var redirectURIs exactValues
	fs.Var(&grants, "grant", "a grant type (repeats): "+strings.Join(auth.ClientGrants, ", ")+"; default client_credentials, or authorization_code and refresh_token with --redirect-uri or --public")
	fs.Var(&scopes, "scope", "a scope the client may ask for (repeats): "+strings.Join(auth.ClientScopes, ", "))
	fs.Var(&redirectURIs, "redirect-uri", "a redirect URI (repeats): absolute, a DNS name or IP literal as host, https or http to a loopback host, matched exactly (but any port for http://127.0.0.1 and http://[::1])")
	var postLogout exactValues
	idTokenAlg := fs.String("id-token-alg", "", "the id_token signing algorithm (id_token_signed_response_alg): RS256, or the access-token algorithm; default the latter")
	fs.Var(&postLogout, "post-logout-redirect-uri", "a URI RP-initiated logout may return to (repeats), matched exactly")
	backchannel := fs.String("backchannel-logout-uri", "", "the OpenID Connect back-channel logout URI: https, or http to a loopback host")
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
		auth.ClientSpec{Name: *name, Grants: grants, Scopes: scopes, RedirectURIs: redirectURIs, Public: *public,
			IDTokenAlg: *idTokenAlg, PostLogoutRedirectURIs: postLogout, BackchannelLogoutURI: *backchannel})
	if err != nil {
		return fmt.Errorf("clients create: %s", gatehouse.ErrorMessage(err))
	}
	return json.NewEncoder(stdout).Encode(httpapi.ClientOut(cc.Client, cc.Secret))
}
