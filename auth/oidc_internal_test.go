package auth

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/token"
)

// TestOIDCScopeVocabulary: the OpenID Connect scopes are allowed for the
// grants that act for a person without registration, never for
// client_credentials; client scopes still need registration; unknown
// scopes are refused.
func TestOIDCScopeVocabulary(t *testing.T) {
	c := &gatehouse.Client{Scopes: []string{gatehouse.ScopeProfileRead}}
	for scope, ok := range map[string]bool{
		"openid": true, "openid profile email": true, "openid profile:read": true,
		"openid audit:read": false, "openid offline": false, "openid  email": false,
	} {
		if _, err := personScope(c, scope); (err == nil) != ok {
			t.Errorf("personScope(%q) = %v, want ok %v", scope, err, ok)
		}
	}
	if _, err := clientScope(c, "openid"); err == nil {
		t.Error("client_credentials accepted openid")
	}
	for _, g := range grants {
		if g.Person != (g.Type != gatehouse.GrantClientCredentials) {
			t.Errorf("grant %s: Person %v", g.Type, g.Person)
		}
	}
}

// TestAtHash checks at_hash against OpenID Connect Core's example
// construction: the left half of the hash, base64url.
func TestAtHash(t *testing.T) {
	// SHA-256("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y") per Core
	// section A.3's example access token and at_hash.
	if got := atHash(token.RS256, "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"); got != "77QmUPtjPfzWtF2AnpK9RQ" {
		t.Errorf("at_hash RS256 = %s", got)
	}
	if len(atHash(token.EdDSA, "x")) != 43 { // 32 bytes of SHA-512
		t.Error("EdDSA at_hash is not half of SHA-512")
	}
	if authAgeOK(time.Unix(100, 0), 10, time.Unix(111, 0)) || !authAgeOK(time.Unix(100, 0), 10, time.Unix(110, 0)) || !authAgeOK(time.Time{}, -1, time.Now()) {
		t.Error("max_age arithmetic")
	}
}
