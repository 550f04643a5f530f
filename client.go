package gatehouse

import (
	"context"
	"time"
)

// The grant types an OAuth client can be registered for (RFC 6749).
const (
	GrantClientCredentials = "client_credentials"
	GrantAuthorizationCode = "authorization_code" // with PKCE S256 only (RFC 7636)
	GrantRefreshToken      = "refresh_token"
)

// Client is an OAuth 2.0 client as stored: a confidential or public client bound to one
// workspace, under row-level security. Its secret is never stored, only the
// SHA-256 of it (SecretHash, hex), compared in constant time.
type Client struct {
	ID              string // row id (UUIDv7)
	WorkspaceID     string
	ClientID        string // the public client identifier: a random UUIDv4 (122 random bits)
	Name            string
	SecretHash      string // hex SHA-256 of the secret; empty for a public client
	Grants          []string
	Scopes          []string
	RedirectURIs    []string // exact strings the authorization-code grant may redirect to
	Public          bool     // PKCE-only, no secret (RFC 6749 section 2.1)
	CreatedBy       string   // user id, or "system" for the CLI
	CreatedAt       time.Time
	SecretRotatedAt time.Time // zero: never rotated
	// OpenID Connect registration (docs/oidc.md): the id_token algorithm
	// (empty: the server's default), the URIs RP-initiated logout may
	// return to (exact strings), and the back-channel logout URI.
	IDTokenAlg             string
	PostLogoutRedirectURIs []string
	BackchannelLogoutURI   string
}

// HasGrant reports whether c is registered for grant type g.
func (c *Client) HasGrant(g string) bool {
	for _, x := range c.Grants {
		if x == g {
			return true
		}
	}
	return false
}

// ClientTx is the part of a transaction that reads and writes OAuth clients.
// Every method but ClientByClientID runs in a transaction scoped to the
// client's workspace.
type ClientTx interface {
	// CreateClient inserts c; ErrConflict when its client id is taken.
	CreateClient(ctx context.Context, c *Client) error
	// Clients lists workspaceID's clients, newest first.
	Clients(ctx context.Context, workspaceID string) ([]*Client, error)
	// Client returns workspaceID's client clientID; ErrNotFound otherwise.
	Client(ctx context.Context, workspaceID, clientID string) (*Client, error)
	// ClientByClientID finds a client by its client id before its workspace
	// is known (client authentication at the token endpoint), the way
	// PATByHash finds a PAT (postgres/migrations/0006_clients.sql).
	ClientByClientID(ctx context.Context, clientID string) (*Client, error)
	// SetClientSecret replaces the secret hash of workspaceID's client.
	SetClientSecret(ctx context.Context, workspaceID, clientID, secretHash string, at time.Time) error
	DeleteClient(ctx context.Context, workspaceID, clientID string) error
}

// HasRedirectURI reports whether uri is one of c's registered redirect URIs.
// They are compared as exact strings (RFC 9700 section 2.1: no pattern, no
// normalization), except that a registered http://127.0.0.1… or
// http://[::1]… URI matches any port (RFC 8252 section 7.3: a native app
// picks a free port when it starts): everything else, path and query
// included, must still match exactly. localhost gets no such exception (RFC
// 8252 section 8.3 prefers the literal address).
func (c *Client) HasRedirectURI(uri string) bool {
	for _, x := range c.RedirectURIs {
		if x == uri {
			return true
		}
		if host, rest, ok := loopbackRedirect(x); ok {
			if h, r, ok := loopbackRedirect(uri); ok && h == host && r == rest {
				return true
			}
		}
	}
	return false
}

// loopbackRedirect splits an http redirect URI to a loopback IP literal
// into "http://127.0.0.1" or "http://[::1]" and what follows the port
// (empty, or starting with "/" or "?"); ok is false for anything else. The
// port, when there is one, is 1 to 5 digits, 1 to 65535, and the rest holds
// no space or control character. Lexical on
// purpose: http://127.0.0.1.example.com/, http://127.0.0.1:80@evil/ and
// http://127.0.0.1%2e…/ are not loopback URIs.
func loopbackRedirect(s string) (host, rest string, ok bool) {
	for _, h := range []string{"http://127.0.0.1", "http://[::1]"} {
		if len(s) < len(h) || s[:len(h)] != h {
			continue
		}
		rest = s[len(h):]
		if len(rest) > 0 && rest[0] == ':' {
			n, port := 1, 0
			for n < len(rest) && n <= 6 && '0' <= rest[n] && rest[n] <= '9' {
				port = port*10 + int(rest[n]-'0')
				n++
			}
			if n == 1 || n > 6 || port < 1 || port > 65535 {
				return "", "", false
			}
			rest = rest[n:]
		}
		if rest != "" && rest[0] != '/' && rest[0] != '?' {
			return "", "", false
		}
		// No space or control character: such a string is no URI (RFC 3986
		// section 2), so it matches only itself, never on another port.
		for i := 0; i < len(rest); i++ {
			if rest[i] <= ' ' || rest[i] == 0x7f {
				return "", "", false
			}
		}
		return h, rest, true
	}
	return "", "", false
}
