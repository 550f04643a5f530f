package federation

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Resolver looks up TXT records with github.com/miekg/dns against one
// server (GATEHOUSE_DNS_RESOLVER, host:port), or the system's resolvers
// (/etc/resolv.conf) when none is set. It asks over UDP and retries over
// TCP when the answer is truncated. A resolver outside the loopback
// network is asked the same way: the record proves control of the domain
// to whoever runs the resolver, so the operator chooses one they trust.
type Resolver struct {
	Server  string // host:port; "": the system's
	Timeout time.Duration
}

// NewResolver checks server ("" or host:port).
func NewResolver(server string) (*Resolver, error) {
	if server != "" {
		if err := hostPort(server); err != nil {
			return nil, err
		}
	}
	return &Resolver{Server: server, Timeout: 5 * time.Second}, nil
}

// maxTXT bounds what is returned of an answer.
const maxTXT = 50

// LookupTXT returns the TXT strings at name (each record's strings joined,
// as RFC 7208 section 3.3 reads a long record).
func (r *Resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	servers := []string{r.Server}
	if r.Server == "" {
		cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil || len(cc.Servers) == 0 {
			return nil, errors.New("federation: no DNS resolver configured")
		}
		servers = servers[:0]
		for _, s := range cc.Servers {
			servers = append(servers, net.JoinHostPort(s, cc.Port))
		}
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeTXT)
	m.RecursionDesired = true
	var lastErr error
	for _, s := range servers {
		c := &dns.Client{Net: "udp", Timeout: r.Timeout}
		in, _, err := c.ExchangeContext(ctx, m, s)
		if err == nil && in.Truncated {
			c.Net = "tcp"
			in, _, err = c.ExchangeContext(ctx, m, s)
		}
		if err != nil {
			lastErr = err
			continue
		}
		if in.Rcode == dns.RcodeNameError {
			return nil, nil
		}
		if in.Rcode != dns.RcodeSuccess {
			lastErr = fmt.Errorf("federation: DNS answer %s", dns.RcodeToString[in.Rcode])
			continue
		}
		var out []string
		for _, rr := range in.Answer {
			if t, ok := rr.(*dns.TXT); ok && strings.EqualFold(dns.Fqdn(t.Hdr.Name), dns.Fqdn(name)) && len(out) < maxTXT {
				out = append(out, strings.Join(t.Txt, ""))
			}
		}
		return out, nil
	}
	return nil, lastErr
}
