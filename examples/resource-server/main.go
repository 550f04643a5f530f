// Command resource-server is an example API that accepts gatehouse
// credentials through package verify:
//
//   - access tokens (JWTs): it fetches gatehouse's JWKS, caches it as the
//     server's Cache-Control allows, and checks each token locally;
//   - personal access tokens (gth_…), when it is given OAuth client
//     credentials: it asks gatehouse's introspection endpoint (RFC 7662) as
//     that client, and so accepts the PATs of the client's workspace. Answers
//     are cached for EXAMPLE_PAT_CACHE_TTL (default 30s), which is how long a
//     deleted PAT may still work here.
//
// Register the client once, in the workspace whose PATs it serves:
//
//	gatehouse clients create --workspace W --name example-api --grant client_credentials
//
//	GATEHOUSE_ISSUER=https://auth.example.com \
//	EXAMPLE_AUDIENCE=https://auth.example.com \
//	GATEHOUSE_CLIENT_ID=… GATEHOUSE_CLIENT_SECRET=ghs_… \
//	EXAMPLE_ADDR=127.0.0.1:9090 go run ./examples/resource-server
//
// GET /hello answers the caller's identity; GET /workspace needs the
// workspaces:read scope; GET /healthz needs no token.
package main

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/gatehouse-auth/gatehouse/verify"
)

// newHandler returns the example API for the access tokens cfg describes,
// and for PATs too when patCfg is not nil.
func newHandler(cfg verify.JWTConfig, patCfg *verify.PATConfig) (http.Handler, *verify.JWT, *verify.PAT, error) {
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
	issuer := os.Getenv("GATEHOUSE_ISSUER")
	audience := os.Getenv("EXAMPLE_AUDIENCE")
	if audience == "" {
		audience = issuer
	}
	addr := os.Getenv("EXAMPLE_ADDR")
	if addr == "" {
		addr = "127.0.0.1:9090"
	}
	var patCfg *verify.PATConfig
	if id, secret := os.Getenv("GATEHOUSE_CLIENT_ID"), os.Getenv("GATEHOUSE_CLIENT_SECRET"); id != "" && secret != "" {
		patCfg = &verify.PATConfig{Issuer: issuer, ClientID: id, ClientSecret: secret}
		if v := os.Getenv("EXAMPLE_PAT_CACHE_TTL"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				log.Fatal("EXAMPLE_PAT_CACHE_TTL: ", err)
			}
			patCfg.CacheTTL = d
		}
	}
	h, _, _, err := newHandler(verify.JWTConfig{Issuer: issuer, Audience: audience}, patCfg)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("resource server on %s, trusting %s (PATs: %v)", addr, issuer, patCfg != nil)
	log.Fatal(srv.ListenAndServe())
}
