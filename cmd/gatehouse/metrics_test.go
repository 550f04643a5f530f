package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// logAddr finds the address in the first log line with message msg.
func logAddr(logs, msg string) string {
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var line struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == msg {
			return line.Addr
		}
	}
	return ""
}

func getStatus(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestMetricsAddr: with GATEHOUSE_METRICS_ADDR set, /metrics is served on that
// listener only (404 on the public one), and stopping the server stops both
// listeners; unset, /metrics is on the public listener.
func TestMetricsAddr(t *testing.T) {
	t.Chdir(t.TempDir())
	r := start(t, map[string]string{"GATEHOUSE_METRICS_ADDR": "127.0.0.1:0"}, "--dev")
	maddr := logAddr(r.stderr.String(), "metrics listening")
	if maddr == "" {
		t.Fatalf("no metrics listener in the logs:\n%s", r.stderr.String())
	}
	if code, body := getStatus(t, r.base+"/metrics"); code != http.StatusNotFound || strings.Contains(body, "go_goroutines") {
		t.Fatalf("public /metrics: %d %.200s", code, body)
	}
	if code, body := getStatus(t, "http://"+maddr+"/metrics"); code != 200 || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("metrics listener /metrics: %d %.200s", code, body)
	}
	if code, _ := getStatus(t, "http://"+maddr+"/healthz"); code != http.StatusNotFound {
		t.Fatalf("metrics listener serves /healthz: %d", code)
	}
	if code, _ := getStatus(t, r.base+"/healthz"); code != 200 {
		t.Fatalf("public /healthz: %d", code)
	}
	r.stop()
	if err := <-r.done; err != nil {
		t.Fatalf("run: %v", err)
	}
	r.done <- nil // for the cleanup
	for _, a := range []string{strings.TrimPrefix(r.base, "http://"), maddr} {
		if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			c.Close()
			t.Fatalf("%s still accepts connections after shutdown", a)
		}
	}

	r2 := start(t, map[string]string{}, "--dev")
	if code, body := getStatus(t, r2.base+"/metrics"); code != 200 || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("/metrics without GATEHOUSE_METRICS_ADDR: %d %.200s", code, body)
	}
}
