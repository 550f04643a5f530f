// Package federation holds the adapters that speak to upstream identity
// providers and to DNS for package auth's federation service
// (docs/federation.md): an OpenID Connect connector (github.com/coreos/go-oidc
// and golang.org/x/oauth2), a GitHub connector (OAuth 2.0 plus its user and
// emails API), and a TXT resolver (github.com/miekg/dns). Package auth sees
// them only as gatehouse.Connector and gatehouse.TXTResolver.
package federation

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// CheckURL accepts an upstream URL (an issuer, an endpoint override): https,
// or plain http only to a loopback address (localhost, 127.0.0.0/8, ::1),
// for tests and local development. No userinfo, no fragment.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" || u.RawQuery != "" {
		return fmt.Errorf("%q is not an absolute URL without credentials, query or fragment", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if Loopback(u.Hostname()) {
			return nil
		}
	}
	return fmt.Errorf("%q must be https (plain http only on a loopback address)", raw)
}

// Loopback reports whether host is localhost or a loopback IP literal.
func Loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// Connectors builds the connector of a provider. Discovery (OpenID Connect)
// happens when it is built; package auth caches what it builds and builds
// it again after a while, so a provider's new endpoints or keys are seen.
type Connectors struct {
	// HTTP is the client for every upstream call; nil: one with a 10 s
	// timeout.
	HTTP *http.Client
}

func (c *Connectors) client() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 10 * time.Second, CheckRedirect: checkRedirect}
}

// checkRedirect follows at most 3 redirects, and only to URLs CheckURL
// accepts, so an upstream cannot send gatehouse's requests to plain HTTP
// or, through a redirect, anywhere an operator could not have configured.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 3 {
		return errors.New("federation: too many redirects")
	}
	return checkFetchURL(req.URL.String())
}

// checkFetchURL is CheckURL for a URL gatehouse fetches that an upstream
// named (a redirect, a jwks_uri): a query is allowed (some providers key
// their key sets by one), everything else as CheckURL says.
func checkFetchURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return CheckURL(raw)
	}
	u.RawQuery, u.ForceQuery = "", false
	return CheckURL(u.String())
}

// Connect returns the connector of p, whose client secret is secret.
func (c *Connectors) Connect(ctx context.Context, p *gatehouse.Provider, secret string) (gatehouse.Connector, error) {
	switch p.Kind {
	case gatehouse.ProviderOIDC:
		return newOIDC(ctx, c.client(), p, secret)
	case gatehouse.ProviderGitHub:
		return newGitHub(c.client(), p, secret)
	}
	return nil, errors.New("federation: unknown provider kind")
}

// maxBody bounds what is read of an upstream answer.
const maxBody = 1 << 20

// hostPort checks a host:port (GATEHOUSE_DNS_RESOLVER).
func hostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" || port == "" {
		return fmt.Errorf("GATEHOUSE_DNS_RESOLVER must be host:port")
	}
	return nil
}
