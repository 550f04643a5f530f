package e2e

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"
)

// chromiumPath returns the Chromium to drive, or skips the test when there is
// none, unless GATEHOUSE_TEST_REQUIRE_SERVICES=1 (CI), which makes it fail.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("GATEHOUSE_TEST_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("GATEHOUSE_TEST_CHROMIUM: %v", err)
		}
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("GATEHOUSE_TEST_REQUIRE_SERVICES") == "1" {
		t.Fatal("chromium not found and GATEHOUSE_TEST_REQUIRE_SERVICES=1 (apt-get install -y chromium)")
	}
	t.Skip("chromium not found (apt-get install -y chromium)")
	return ""
}

// browser is one headless Chromium with a fresh profile, and the messages its
// pages wrote to the console or threw.
type browser struct {
	ctx  context.Context
	mu   sync.Mutex
	logs []string
}

// newBrowser launches Chromium for the test, with extra options after the
// standard ones; it is closed with the test.
func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.UserDataDir(t.TempDir()),
	}
	opts = append(opts, extra...)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() { cancelC(); cancelA() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser, opens the tab
		t.Fatalf("starting chromium: %v", err)
	}
	b := &browser{ctx: ctx}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.logs = append(b.logs, string(m.Type)+": "+m.Text)
			b.mu.Unlock()
		}
	}()
	return b
}

// consoleLog returns what the pages logged or threw so far.
func (b *browser) consoleLog() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.logs, "\n")
}

// do runs actions in the browser's tab, each step bounded in time, failing
// the test on error.
func (b *browser) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v\nconsole:\n%s", err, b.consoleLog())
	}
}

// eval evaluates a JavaScript expression in the page (awaiting a promise) and
// decodes its JSON value.
func eval[T any](t *testing.T, b *browser, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %s: %v\nconsole:\n%s", js, err, b.consoleLog())
	}
	return v
}

// cookies returns every cookie in the browser's jar.
func (b *browser) cookies(t *testing.T) []*network.Cookie {
	t.Helper()
	res, err := chromedp.Call(b.ctx, storage.GetCookies, storage.GetCookiesParams{})
	if err != nil {
		t.Fatalf("Storage.getCookies: %v", err)
	}
	return res.Cookies
}

func findCookie(cks []*network.Cookie, name string) *network.Cookie {
	for _, c := range cks {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// serveLocalhost serves h on a free loopback port and returns its origin as
// http://localhost:PORT, which Chromium treats as a secure context (it
// accepts Secure and __Host- cookies there; TestSecureCookiesOnLocalhost
// checks that).
func serveLocalhost(t *testing.T, h http.Handler) string {
	t.Helper()
	origin, _ := serveLocalhostClosable(t, h)
	return origin
}

// serveLocalhostClosable is serveLocalhost that also returns a func that
// stops the server (to take a site offline).
func serveLocalhostClosable(t *testing.T, h http.Handler) (string, func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return "http://localhost:" + strings.TrimPrefix(srv.URL, "http://127.0.0.1:"), srv.Close
}
