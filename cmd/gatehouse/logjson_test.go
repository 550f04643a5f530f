package main

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServerLogsAreJSON runs the real main in a child process with Redis
// unreachable, which makes go-redis log on its own: every line the server
// writes, go-redis's included, is a JSON object.
func TestServerLogsAreJSON(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(os.Args[0])
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"GATEHOUSE_TEST_RUN_MAIN=1", "GATEHOUSE_TEST_ARGS=serve --dev", "PATH=" + os.Getenv("PATH"),
		"GATEHOUSE_ADDR=127.0.0.1:0", "GATEHOUSE_REDIS_URL=redis://" + addr + "/0"}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for listenAddr(stderr.String()) == "" {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("serve did not listen:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Each /readyz pings Redis; after a few failed dials go-redis logs.
	base := "http://" + listenAddr(stderr.String())
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); {
		if s := stderr.String(); strings.Contains(s, `"msg":"redis client"`) || strings.Contains(s, "redis: ") {
			break
		}
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve: %v\n%s", err, stderr.String())
	}
	out := stderr.String()
	if !strings.Contains(out, `"msg":"redis client"`) {
		t.Fatalf("go-redis's dial failure is not in the log:\n%s", out)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
	}
}
