// Command resource-server is an example API that accepts gatehouse access
// tokens through package verify: it fetches gatehouse's JWKS, caches it as
// the server's Cache-Control allows, and checks each token locally.
//
//	GATEHOUSE_ISSUER=https://auth.example.com \
//	EXAMPLE_AUDIENCE=https://auth.example.com \
//	EXAMPLE_ADDR=127.0.0.1:9090 go run ./examples/resource-server
//
// GET /hello answers the caller's identity; GET /healthz needs no token.
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

// newHandler returns the example API for the tokens cfg describes.
func newHandler(cfg verify.JWTConfig) (http.Handler, *verify.JWT, error) {
	jwt, err := verify.NewJWT(cfg)
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.Handle("GET /hello", verify.Require(jwt)(http.HandlerFunc(hello)))
	return mux, jwt, nil
}

func hello(w http.ResponseWriter, r *http.Request) {
	id, _ := verify.FromContext(r.Context())
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"hello":      id.Subject,
		"kind":       id.Kind,
		"session_id": id.SessionID,
		"client_id":  id.ClientID,
		"expires_at": id.ExpiresAt.UTC().Format(time.RFC3339),
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
	h, _, err := newHandler(verify.JWTConfig{Issuer: issuer, Audience: audience})
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("resource server on %s, trusting %s", addr, issuer)
	log.Fatal(srv.ListenAndServe())
}
