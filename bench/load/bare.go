package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehouse-auth/gatehouse/verify"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// serveBareHandlers serves the baselines: what a bare net/http server does
// for the same answer without gatehouse's work around it.
//
//	GET /      a static JSON body
//	GET /db    the primary-key read of GET /v1/me (one row of users, by a
//	           random id of the table's), with the driver gatehouse uses,
//	           written as JSON
//	GET /jwks  the bytes of jwksURL as fetched at start, with its ETag and
//	           Cache-Control
//	GET /verify  GET / behind package verify's middleware, as
//	           examples/resource-server uses it, checking gatehouse's
//	           access tokens (issuer: gatehouse's URL)
func serveBareHandlers(addr, dbURL, jwksURL, issuer string) error {
	mux := http.NewServeMux()
	static := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"0","email":"bare@example.com","status":"active"}` + "\n"))
	})
	mux.Handle("GET /{$}", static)
	if issuer != "" {
		jwt, err := verify.NewJWT(verify.JWTConfig{Issuer: issuer, Audience: issuer, AnyWorkspace: true, AllowSessions: true})
		if err != nil {
			return err
		}
		mux.Handle("GET /verify", verify.Require(jwt)(static))
	}
	if dbURL != "" {
		db, err := openBareDB(dbURL)
		if err != nil {
			return err
		}
		var ids []string
		rows, err := db.Query(`select id from users limit 1000`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			rows.Scan(&id)
			ids = append(ids, id)
		}
		rows.Close()
		if len(ids) == 0 {
			return fmt.Errorf("bare: no users to read")
		}
		var n atomic.Uint64
		mux.HandleFunc("GET /db", func(w http.ResponseWriter, r *http.Request) {
			id := ids[n.Add(1)%uint64(len(ids))]
			var u struct {
				ID        string `json:"id"`
				Email     string `json:"email"`
				Status    string `json:"status"`
				Admin     bool   `json:"admin"`
				CreatedAt int64  `json:"created_at"`
			}
			ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			defer cancel()
			if err := db.QueryRowContext(ctx, `select id, email, status, admin, created_at from users where id = $1`, id).
				Scan(&u.ID, &u.Email, &u.Status, &u.Admin, &u.CreatedAt); err != nil {
				http.Error(w, "read", 500)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(u)
		})
	}
	if jwksURL != "" {
		resp, err := http.Get(jwksURL)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		etag, cc := resp.Header.Get("ETag"), resp.Header.Get("Cache-Control")
		mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Content-Type", "application/json")
			h.Set("ETag", etag)
			h.Set("Cache-Control", cc)
			w.Write(body)
		})
	}
	return http.ListenAndServe(addr, mux)
}

// openBareDB opens the database as gatehouse does: pgx's database/sql
// driver for PostgreSQL (the same pool limits), modernc's SQLite in WAL mode.
func openBareDB(u string) (*sql.DB, error) {
	if path, ok := strings.CutPrefix(u, "sqlite:"); ok {
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(4)
		return db, nil
	}
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		return nil, err
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	return db, nil
}
