// Command resource-server is an example API of one gatehouse workspace that
// accepts gatehouse credentials through package verify:
//
//   - access tokens (JWTs) of its workspace (EXAMPLE_WORKSPACE_ID): a
//     client's own (client credentials) or a person's through a client
//     (authorization code). It fetches gatehouse's JWKS, caches it as the
//     server's Cache-Control allows, and checks each token locally. Another
//     workspace's token is refused (401), and so is a person's gatehouse
//     session token unless EXAMPLE_ALLOW_SESSIONS=true;
//   - personal access tokens (gth_…) of its workspace, when it is given OAuth
//     client credentials: it asks gatehouse's introspection endpoint (RFC
//     7662) as that client, which must be of the same workspace. Answers
//     are cached for EXAMPLE_PAT_CACHE_TTL (default 30s), which is how long
//     a deleted PAT may still work here.
//
// Register the client once, in the workspace it serves:
//
//	gatehouse clients create --workspace W --name example-api --grant client_credentials
//
//	GATEHOUSE_ISSUER=https://auth.example.com \
//	EXAMPLE_WORKSPACE_ID=W \
//	GATEHOUSE_CLIENT_ID=… GATEHOUSE_CLIENT_SECRET=ghs_… \
//	EXAMPLE_ADDR=127.0.0.1:9090 go run ./examples/resource-server
//
// EXAMPLE_AUDIENCE defaults to GATEHOUSE_ISSUER, the aud gatehouse writes.
// GET /hello answers the caller's identity; GET /workspace needs the
// workspaces:read scope; GET /healthz needs no token.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/gatehouse-auth/gatehouse/verify"
)

// config is the example's configuration, read from the environment.
type config struct {
	addr string
	jwt  verify.JWTConfig
	pat  *verify.IntrospectionConfig // nil: no PATs
}

// loadConfig reads the configuration through getenv. The workspace is
// required: without it the API would not know whose tokens it serves.
func loadConfig(getenv func(string) string) (config, error) {
	c := config{addr: getenv("EXAMPLE_ADDR")}
	if c.addr == "" {
		c.addr = "127.0.0.1:9090"
	}
	issuer, ws := getenv("GATEHOUSE_ISSUER"), getenv("EXAMPLE_WORKSPACE_ID")
	if issuer == "" {
		return c, errors.New("GATEHOUSE_ISSUER is required")
	}
	if ws == "" {
		return c, errors.New("EXAMPLE_WORKSPACE_ID is required: the id of the workspace whose tokens this API accepts")
	}
	audience := getenv("EXAMPLE_AUDIENCE")
	if audience == "" {
		audience = issuer
	}
	c.jwt = verify.JWTConfig{Issuer: issuer, Audience: audience, Workspace: ws}
	if v := getenv("EXAMPLE_ALLOW_SESSIONS"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("EXAMPLE_ALLOW_SESSIONS: %w", err)
		}
		c.jwt.AllowSessions = b
	}
	if id, secret := getenv("GATEHOUSE_CLIENT_ID"), getenv("GATEHOUSE_CLIENT_SECRET"); id != "" && secret != "" {
		c.pat = &verify.IntrospectionConfig{Issuer: issuer, Workspace: ws, ClientID: id, ClientSecret: secret}
		if v := getenv("EXAMPLE_PAT_CACHE_TTL"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				return c, fmt.Errorf("EXAMPLE_PAT_CACHE_TTL: %w", err)
			}
			c.pat.CacheTTL = d
		}
	}
	return c, nil
}

// newHandler returns the example API for the access tokens cfg describes,
// and for PATs too when patCfg is not nil.
func newHandler(cfg verify.JWTConfig, patCfg *verify.IntrospectionConfig) (http.Handler, *verify.JWT, *verify.PAT, error) {
	jwt, err := verify.NewJWT(cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	auths := []verify.Authenticator{jwt}
	var pat *verify.PAT
	if patCfg != nil {
		if pat, err = verify.NewPAT(*patCfg); err != nil {
			return nil, nil, nil, err
		}
		auths = append(auths, pat)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.Handle("GET /hello", verify.Require(auths...)(http.HandlerFunc(hello)))
	mux.Handle("GET /workspace", verify.Require(auths...)(verify.RequireScope("workspaces:read")(http.HandlerFunc(workspace))))
	return mux, jwt, pat, nil
}

func workspace(w http.ResponseWriter, r *http.Request) {
	id, _ := verify.FromContext(r.Context())
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"workspace_id": id.WorkspaceID})
}

func hello(w http.ResponseWriter, r *http.Request) {
	id, _ := verify.FromContext(r.Context())
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"hello":        id.Subject,
		"kind":         id.Kind,
		"session_id":   id.SessionID,
		"client_id":    id.ClientID,
		"workspace_id": id.WorkspaceID,
		"scopes":       id.Scopes,
		"token_id":     id.TokenID,
		"expires_at":   id.ExpiresAt.UTC().Format(time.RFC3339),
	})
}

func main() {
	c, err := loadConfig(os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	h, _, _, err := newHandler(c.jwt, c.pat)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: c.addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("resource server on %s, trusting %s for workspace %s (PATs: %v, people's sessions: %v)",
		c.addr, c.jwt.Issuer, c.jwt.Workspace, c.pat != nil, c.jwt.AllowSessions)
	log.Fatal(srv.ListenAndServe())
}
