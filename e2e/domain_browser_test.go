package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse-auth/gatehouse/httpapi"
)

// tlsLocal serves h over TLS (httptest's certificate) on a free loopback
// port and returns the port.
func tlsLocal(t *testing.T, h http.Handler) (port string, start func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = l
	t.Cleanup(srv.Close)
	_, port, _ = net.SplitHostPort(l.Addr().String())
	return port, srv.StartTLS
}

// TestBrowserCookieDomain runs cookie mode with GATEHOUSE_COOKIE_DOMAIN in
// Chromium: gatehouse at https://auth.gatehouse.test (behind a TLS proxy), an
// SPA at https://app.gatehouse.test, both resolved to loopback. The cookies
// are __Secure-gatehouse_refresh (Domain=gatehouse.test, Path=/v1/auth) and
// __Secure-gatehouse_csrf (Path=/), the SPA reads the CSRF cookie after a
// reload to refresh, and logout's clears (with the set's exact Domain and
// Path) leave the jar empty.
func TestBrowserCookieDomain(t *testing.T) {
	chromiumPath(t)
	var ghTarget *url.URL
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(ghTarget)
		pr.Out.Host = pr.In.Host // gatehouse sees the public host, as behind a real proxy
	}}
	ghPort, startProxy := tlsLocal(t, proxy)
	ghOrigin := "https://auth.gatehouse.test:" + ghPort
	appPort, startApp := tlsLocal(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, spaPage, ghOrigin)
	}))
	appOrigin := "https://app.gatehouse.test:" + appPort

	gh := startGatehouse(t, map[string]string{
		"GATEHOUSE_PUBLIC_URL":    ghOrigin,
		"GATEHOUSE_COOKIE_DOMAIN": "gatehouse.test",
		"GATEHOUSE_CORS_ORIGINS":  appOrigin,
	})
	ghTarget, _ = url.Parse(strings.Replace(gh.Origin, "localhost", "127.0.0.1", 1))
	startProxy()
	startApp()
	const email, password = "katherine@example.com", "a long unusual passphrase for the domain"
	gh.signup(t, email, password)

	b := newBrowser(t,
		chromedp.Flag("host-resolver-rules", "MAP *.gatehouse.test 127.0.0.1"),
		chromedp.Flag("ignore-certificate-errors", true))
	b.do(t, chromedp.Navigate(appOrigin+"/"))

	r := eval[apiResult](t, b, fmt.Sprintf(`app.login(%q, %q)`, email, password))
	if r.Status != 200 || r.Body["csrf_token"] == nil {
		t.Fatalf("login: %+v", r)
	}
	if _, ok := r.Body["refresh_token"]; ok {
		t.Fatal("cookie mode put the refresh token in the body")
	}
	cks := b.cookies(t)
	rc, cc := findCookie(cks, httpapi.SecureRefreshCookie), findCookie(cks, httpapi.SecureCSRFCookie)
	if rc == nil || cc == nil {
		t.Fatalf("after login the jar holds %v", cookieNames(cks))
	}
	if strings.TrimPrefix(rc.Domain, ".") != "gatehouse.test" || rc.Path != "/v1/auth" || !rc.HTTPOnly || !rc.Secure || rc.SameSite != network.CookieSameSiteStrict {
		t.Errorf("refresh cookie %+v", rc)
	}
	if strings.TrimPrefix(cc.Domain, ".") != "gatehouse.test" || cc.Path != "/" || cc.HTTPOnly || !cc.Secure {
		t.Errorf("csrf cookie %+v", cc)
	}

	// A reload loses the page's memory; the SPA on the sibling host reads
	// the CSRF cookie (Domain=gatehouse.test, Path=/) and refreshes with it.
	b.do(t, chromedp.Reload())
	if eval[bool](t, b, `app.hasAccess()`) {
		t.Fatal("the page kept its memory across a reload")
	}
	r = eval[apiResult](t, b, `(() => {
	  const c = document.cookie.split('; ').find(p => p.startsWith('__Secure-gatehouse_csrf='));
	  return fetch(GH + '/v1/auth/refresh', {method: 'POST', credentials: 'include',
	    headers: {'Content-Type': 'application/json', 'X-CSRF-Token': c ? c.split('=')[1] : ''}, body: '{}'})
	    .then(async res => ({status: res.status, body: await res.json()}));
	})()`)
	if r.Status != 200 || r.Body["access_token"] == nil {
		t.Fatalf("refresh with the CSRF cookie's value: %+v", r)
	}
	csrf := r.Body["csrf_token"].(string)
	if r = eval[apiResult](t, b, `app.refresh(false)`); r.Status != http.StatusForbidden || r.Body["error"] != "csrf_failed" {
		t.Fatalf("refresh without the header: %+v", r)
	}

	r = eval[apiResult](t, b, fmt.Sprintf(`fetch(GH + '/v1/auth/logout', {method: 'POST', credentials: 'include',
	  headers: {'Content-Type': 'application/json', 'X-CSRF-Token': %q}, body: '{}'}).then(res => ({status: res.status}))`, csrf))
	if r.Status != http.StatusNoContent {
		t.Fatalf("logout: %+v", r)
	}
	cks = b.cookies(t)
	if findCookie(cks, httpapi.SecureRefreshCookie) != nil || findCookie(cks, httpapi.SecureCSRFCookie) != nil {
		t.Fatalf("cookies left after logout: %v", cookieNames(cks))
	}
	if dc := eval[string](t, b, `document.cookie`); strings.Contains(dc, "gatehouse") {
		t.Errorf("document.cookie after logout: %q", dc)
	}
}
