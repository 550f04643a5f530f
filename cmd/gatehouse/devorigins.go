package main

import (
	"net"
	"slices"
	"strings"

	"github.com/gatehouse-auth/gatehouse/ratelimit"
)

// devServerPorts are the ports of the usual front-end dev servers (Vite
// 5173, Create React App and Next.js 3000, many others 8000), whose origins
// `serve --dev` allows on localhost and 127.0.0.1.
var devServerPorts = []string{"3000", "5173", "8000"}

// addDevOrigins makes local work behave under `serve --dev` with a loopback
// public URL (never in production, never with GATEHOUSE_PUBLIC_URL set to
// anything else): gatehouse's own origin is allowed under both localhost and
// 127.0.0.1 (the portal signs in whichever the browser uses), and so are the
// usual dev servers' origins on both hosts. Cookies still follow the
// browser's rules: an app on localhost:5173 keeps its refresh cookie only
// when it calls gatehouse as localhost too (README.md, "First steps").
func addDevOrigins(c *Config) {
	if !c.Dev || c.PublicURL == nil || c.PublicURL.Scheme != "http" {
		return
	}
	host, port := c.PublicURL.Hostname(), c.PublicURL.Port()
	if host != "127.0.0.1" && host != "localhost" {
		return
	}
	ports := append([]string{port}, devServerPorts...)
	for _, h := range []string{"localhost", "127.0.0.1"} {
		for _, p := range ports {
			if p == "" {
				continue
			}
			o := "http://" + net.JoinHostPort(h, p)
			if o == "http://"+c.PublicURL.Host || slices.Contains(c.CORSOrigins, o) {
				continue
			}
			c.CORSOrigins = append(c.CORSOrigins, o)
		}
	}
}

// devLimitFactor is how much more `serve --dev` allows of every rate policy
// when GATEHOUSE_RATE_LIMITS is not set: local work (a test suite signing
// up dozens of accounts, a page reloaded in a loop) should not meet a 429.
// The failed-auth ceilings stay as in production, so that lockout can be
// tried locally; GATEHOUSE_RATE_LIMITS, when set, is taken as given.
const devLimitFactor = 10

// devLimits multiplies the rate policies of ps by devLimitFactor.
func devLimits(ps ratelimit.Policies) {
	for name, p := range ps {
		if strings.HasPrefix(name, "failed_auth.") {
			continue
		}
		p.Limit *= devLimitFactor
		ps[name] = p
	}
}
