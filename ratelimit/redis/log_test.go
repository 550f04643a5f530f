package redis_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	rlredis "github.com/gatehouse-auth/gatehouse/ratelimit/redis"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSetLogger: what go-redis logs on its own (here: a dial that fails)
// reaches the slog logger as JSON lines.
func TestSetLogger(t *testing.T) {
	var buf lockedBuffer
	rlredis.SetLogger(slog.New(slog.NewJSONHandler(&buf, nil)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	c, err := rlredis.Open("redis://" + addr + "/0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Ping(context.Background()).Err() == nil {
		t.Fatal("ping to a closed port succeeded")
	}
	out := buf.String()
	if out == "" {
		t.Fatal("go-redis logged nothing through the logger")
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil || v["msg"] != "redis client" || !strings.Contains(v["detail"].(string), "dial") {
			t.Fatalf("line %q", line)
		}
	}
}
