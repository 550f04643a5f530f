package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string
)

// TestMain removes the binary the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// gatehouseBinary builds ./cmd/gatehouse once for the package's tests.
func gatehouseBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "gatehouse-e2e-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "gatehouse")
		cmd := exec.Command("go", "build", "-o", binPath, "github.com/gatehouse-auth/gatehouse/cmd/gatehouse")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/gatehouse: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// syncBuffer is a bytes.Buffer safe for the server's output and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// gatehouseServer is the real binary, serving with --dev in a temp dir.
type gatehouseServer struct {
	Origin string // http://localhost:PORT, also GATEHOUSE_PUBLIC_URL
	Dir    string // the working directory: ./gatehouse-data/ is in it
	Output *syncBuffer
	Env    []string // the server's environment, for running the CLI beside it
}

// startGatehouse runs `gatehouse serve --dev` on a free port of localhost
// with env added, waits until /healthz answers, and stops it (SIGTERM) when
// the test ends.
func startGatehouse(t *testing.T, env map[string]string) *gatehouseServer {
	t.Helper()
	bin := gatehouseBinary(t)
	port := freePort(t)
	origin := "http://localhost:" + port
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "serve", "--dev")
	cmd.Dir = t.TempDir()
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + cmd.Dir,
		"GATEHOUSE_ADDR=127.0.0.1:" + port,
		"GATEHOUSE_PUBLIC_URL=" + origin,
		// These tests sign up and sign in straight away; verification has
		// its own tests (auth, httpapi, cmd/gatehouse).
		"GATEHOUSE_EMAIL_VERIFICATION=off",
	}
	// env comes last: for a key given twice, exec uses the last value (a
	// test may ask for GATEHOUSE_EMAIL_VERIFICATION=required).
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("gatehouse output:\n%s", out.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get("http://127.0.0.1:" + port + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) || cmd.ProcessState != nil {
			t.Fatalf("gatehouse did not come up: %v\n%s", err, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return &gatehouseServer{Origin: origin, Dir: cmd.Dir, Output: out, Env: cmd.Env}
}

// cli runs `gatehouse ARGS… --dev` in the server's directory and
// environment, failing the test when it fails.
func (g *gatehouseServer) cli(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(gatehouseBinary(t), append(args, "--dev")...)
	cmd.Dir, cmd.Env = g.Dir, g.Env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gatehouse %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// call makes a request to the server as a native client would (no Origin,
// no cookies) and decodes a JSON answer into out (when not nil).
func (g *gatehouseServer) call(t *testing.T, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, strings.Replace(g.Origin, "localhost", "127.0.0.1", 1)+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: decoding: %v", method, path, err)
		}
	}
	return res.StatusCode
}

// send makes a request with a raw body of contentType and, when bearer is
// not empty, an access token, as a native client would, and decodes a JSON
// answer (nil when there is none).
func (g *gatehouseServer) send(t *testing.T, method, path, contentType, bearer, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, strings.Replace(g.Origin, "localhost", "127.0.0.1", 1)+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// signup creates an account through the API.
func (g *gatehouseServer) signup(t *testing.T, email, password string) {
	t.Helper()
	var out map[string]any
	st := g.call(t, "POST", "/v1/auth/signup", map[string]string{"email": email, "password": password}, &out)
	switch st {
	case http.StatusCreated:
	case http.StatusNotFound, http.StatusServiceUnavailable:
		// The binary has no sign-in wired yet (before the areas are
		// integrated in serve); nothing here can run.
		t.Skipf("gatehouse serve does not offer sign-in yet: POST /v1/auth/signup answered %d %v", st, out)
	default:
		t.Fatalf("signup: %d %v", st, out)
	}
}
