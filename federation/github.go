package federation

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
	"golang.org/x/oauth2"
)

// GitHub's endpoints, overridable per provider (tests, GitHub Enterprise).
const (
	GitHubWeb = "https://github.com"
	GitHubAPI = "https://api.github.com"
)

// githubConnector is GitHub: OAuth 2.0 (with PKCE S256) and no id_token;
// the person is GET /user (the numeric id is the subject, stable across
// renames) and the email is the one GET /user/emails marks primary and
// verified. Nothing else counts as the person's address.
type githubConnector struct {
	http  *http.Client
	oauth oauth2.Config
	api   string
}

func newGitHub(hc *http.Client, p *gatehouse.Provider, secret string) (*githubConnector, error) {
	auth, tok, api := p.AuthURL, p.TokenURL, p.APIURL
	if auth == "" {
		auth = GitHubWeb + "/login/oauth/authorize"
	}
	if tok == "" {
		tok = GitHubWeb + "/login/oauth/access_token"
	}
	if api == "" {
		api = GitHubAPI
	}
	for _, u := range []string{auth, tok, api} {
		if err := CheckURL(u); err != nil {
			return nil, err
		}
	}
	scopes := p.Scopes
	if len(scopes) == 0 {
		scopes = []string{"read:user", "user:email"}
	}
	return &githubConnector{http: hc, api: strings.TrimRight(api, "/"), oauth: oauth2.Config{ClientID: p.ClientID, ClientSecret: secret,
		Endpoint: oauth2.Endpoint{AuthURL: auth, TokenURL: tok, AuthStyle: oauth2.AuthStyleInParams}, Scopes: scopes}}, nil
}

func (c *githubConnector) AuthURL(req gatehouse.AuthRequest) string {
	cfg := c.oauth
	cfg.RedirectURL = req.RedirectURI
	return cfg.AuthCodeURL(req.State, oauth2.S256ChallengeOption(req.Verifier))
}

func (c *githubConnector) Identity(ctx context.Context, code string, req gatehouse.AuthRequest) (*gatehouse.UpstreamIdentity, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, c.http)
	cfg := c.oauth
	cfg.RedirectURL = req.RedirectURI
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(req.Verifier))
	if err != nil {
		return nil, gatehouse.Wrap(gatehouse.EInvalidGrant, err, "the provider refused the authorization code")
	}
	var user struct {
		ID    int64  `json:"id"`
		Login string `json:"login"`
		Name  string `json:"name"`
	}
	if err := c.get(ctx, tok, "/user", &user); err != nil {
		return nil, err
	}
	if user.ID <= 0 {
		return nil, errUpstream
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := c.get(ctx, tok, "/user/emails", &emails); err != nil {
		return nil, err
	}
	id := &gatehouse.UpstreamIdentity{Subject: strconv.FormatInt(user.ID, 10), Name: user.Name}
	for _, e := range emails {
		if e.Primary && e.Verified {
			id.Email, id.EmailVerified = e.Email, true
		}
	}
	return id, nil
}

func (c *githubConnector) get(ctx context.Context, tok *oauth2.Token, path string, out any) error {
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, c.api+path, nil)
	if err != nil {
		return err
	}
	r.Header.Set("Accept", "application/vnd.github+json")
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	res, err := c.http.Do(r)
	if err != nil {
		return gatehouse.Wrap(gatehouse.EUnavailable, err, "the provider did not answer")
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return gatehouse.Wrap(gatehouse.EInvalidGrant, fmt.Errorf("GET %s: %s", path, res.Status), "the provider refused the request")
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, maxBody)).Decode(out); err != nil {
		return gatehouse.Wrap(gatehouse.EInvalidGrant, err, "the provider's answer is malformed")
	}
	return nil
}

// equal compares two strings in constant time.
func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
