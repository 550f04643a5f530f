package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/secret"
)

// TestMain lets a test run the real main in a child process, to see its exit
// status and output.
func TestMain(m *testing.M) {
	if os.Getenv("GATEHOUSE_TEST_RUN_MAIN") == "1" {
		os.Args = append([]string{"gatehouse"}, strings.Fields(os.Getenv("GATEHOUSE_TEST_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// syncBuffer collects output written by a running server.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// running is a server started through run.
type running struct {
	base   string
	stderr *syncBuffer
	stop   context.CancelFunc
	done   chan error
}

// start calls run(serve …) on a free port and waits until it listens.
func start(t *testing.T, env map[string]string, args ...string) *running {
	t.Helper()
	if env["GATEHOUSE_ADDR"] == "" {
		env["GATEHOUSE_ADDR"] = "127.0.0.1:0"
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{stderr: &syncBuffer{}, stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- run(ctx, append([]string{"serve"}, args...), envOf(env), io.Discard, r.stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			t.Error("server did not stop")
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-r.done:
			t.Fatalf("serve ended early: %v\n%s", err, r.stderr.String())
		default:
		}
		if addr := listenAddr(r.stderr.String()); addr != "" {
			r.base = "http://" + addr
			return r
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("serve did not listen:\n%s", r.stderr.String())
	return nil
}

// listenAddr finds the address in the "listening" log line.
func listenAddr(logs string) string {
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var line struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
			return line.Addr
		}
	}
	return ""
}

func (r *running) get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(r.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestServeDev(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	r := start(t, map[string]string{}, "--dev")
	resp, body := r.get(t, "/healthz")
	if resp.StatusCode != 200 || !strings.Contains(body, "ok") {
		t.Fatalf("/healthz: %d %s", resp.StatusCode, body)
	}
	if resp.Header.Get("X-Request-ID") == "" {
		t.Fatal("no X-Request-ID")
	}
	fi, err := os.Stat(filepath.Join(dir, "gatehouse-data"))
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("data dir: %v %v", fi, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "gatehouse-data", "mail")); err != nil || !fi.IsDir() {
		t.Fatalf("mail dir: %v", err)
	}
	sf := filepath.Join(dir, "gatehouse-data", "secret")
	fi, err = os.Stat(sf)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v %v", fi, err)
	}
	b, _ := os.ReadFile(sf)
	val := strings.TrimSpace(string(b))
	if _, err := secret.Parse(val); err != nil {
		t.Fatalf("stored secret refused: %v", err)
	}
	logs := r.stderr.String()
	if !strings.Contains(logs, "generated and stored with mode 0600") || !strings.Contains(logs, `"secret_file":"gatehouse-data/secret"`) {
		t.Fatalf("start-up does not say where the secret is:\n%s", logs)
	}
	if strings.Contains(logs, val) {
		t.Fatal("the secret was printed")
	}
	r.stop()
	if err := <-r.done; err != nil {
		t.Fatalf("run: %v", err)
	}
	r.done <- nil // for the cleanup

	// A second start reuses the secret.
	r2 := start(t, map[string]string{}, "--dev")
	if resp, _ := r2.get(t, "/healthz"); resp.StatusCode != 200 {
		t.Fatal("second start")
	}
	if !strings.Contains(r2.stderr.String(), `"secret":"reused"`) {
		t.Fatalf("second start does not say it reused the secret:\n%s", r2.stderr.String())
	}
	if b2, _ := os.ReadFile(sf); string(b2) != string(b) {
		t.Fatal("the secret changed")
	}
}

func TestServeDevRefusesReadableSecret(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	os.MkdirAll("gatehouse-data", 0o700)
	os.WriteFile("gatehouse-data/secret", []byte(secret.Generate()+"\n"), 0o644)
	os.Chmod("gatehouse-data/secret", 0o644)
	err := run(context.Background(), []string{"serve", "--dev"}, envOf(map[string]string{"GATEHOUSE_ADDR": "127.0.0.1:0"}), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("err = %v", err)
	}
}

// prodEnv is a complete production environment but for what a test changes.
func prodEnv() map[string]string {
	return map[string]string{
		"GATEHOUSE_ADDR":         "127.0.0.1:0",
		"GATEHOUSE_PUBLIC_URL":   "https://auth.example.com",
		"GATEHOUSE_DATABASE_URL": "postgres://gatehouse:pw@127.0.0.1:5432/gatehouse",
		"GATEHOUSE_AUTH_SECRET":  secret.Generate(),
		"GATEHOUSE_MAIL_DIR":     "/tmp/gatehouse-mail",
	}
}

// TestServeBadSecret runs the real main in a child process: a bad
// GATEHOUSE_AUTH_SECRET stops it with a non-zero exit and one line naming
// the variable, and the value appears nowhere.
func TestServeBadSecret(t *testing.T) {
	tests := map[string]string{
		"missing":  "",
		"changeme": "changeme",
		"short":    "q8Zk2LmX9pRt4VwY",
		"repeated": strings.Repeat("ab", 32),
		"example":  "your-secret-here-your-secret-here-your-secret-here",
		"sequence": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg",
		"text":     "bXkgc3VwZXIgc2VjcmV0IHZhbHVlIGZvciB0aGUgYXBw", // base64 of a sentence
	}
	for name, val := range tests {
		t.Run(name, func(t *testing.T) {
			env := prodEnv()
			env["GATEHOUSE_AUTH_SECRET"] = val
			cmd := exec.Command(os.Args[0])
			cmd.Env = []string{"GATEHOUSE_TEST_RUN_MAIN=1", "GATEHOUSE_TEST_ARGS=serve", "PATH=" + os.Getenv("PATH")}
			for k, v := range env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() == 0 {
				t.Fatalf("exit: %v, want non-zero; stderr %q", err, stderr.String())
			}
			out := stderr.String()
			if !strings.Contains(out, "GATEHOUSE_AUTH_SECRET") {
				t.Fatalf("stderr %q does not name GATEHOUSE_AUTH_SECRET", out)
			}
			if n := strings.Count(strings.TrimRight(out, "\n"), "\n"); n != 0 {
				t.Fatalf("stderr has %d lines, want one: %q", n+1, out)
			}
			if val != "" && (strings.Contains(out, val) || strings.Contains(stdout.String(), val)) {
				t.Fatalf("the value was printed: %q", out)
			}
		})
	}
}

func TestSecretGenerate(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 20; i++ {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"secret", "generate"}, envOf(nil), &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		s := out.String()
		if strings.Count(s, "\n") != 1 || !strings.HasSuffix(s, "\n") {
			t.Fatalf("output %q is not one line", s)
		}
		v := strings.TrimSuffix(s, "\n")
		if _, err := secret.Parse(v); err != nil {
			t.Fatalf("generated secret refused: %v", err)
		}
		if seen[v] {
			t.Fatal("repeated")
		}
		seen[v] = true
	}
}

func TestCommandLine(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"version"}, envOf(nil), &out, &errb); err != nil || !strings.HasPrefix(out.String(), "gatehouse ") {
		t.Fatalf("version: %v %q", err, out.String())
	}
	for _, args := range [][]string{nil, {"frobnicate"}, {"secret"}, {"secret", "rotate"}, {"serve", "--nope"}, {"serve", "extra"}} {
		err := run(context.Background(), args, envOf(nil), io.Discard, io.Discard)
		if !errors.Is(err, errUsage) {
			t.Fatalf("%v: err = %v, want a usage error", args, err)
		}
	}
}
