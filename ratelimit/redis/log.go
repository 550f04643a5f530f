package redis

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	goredis "github.com/redis/go-redis/v9"
)

// SetLogger sends go-redis's own log lines (a failed dial, a pool problem)
// to l as warnings, instead of its default plain-text lines on standard
// error, so that every line gatehouse writes is JSON. go-redis has one logger
// per process: the last call wins.
func SetLogger(l *slog.Logger) {
	goredis.SetLogger(slogLogger{l})
}

type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Printf(ctx context.Context, format string, v ...any) {
	msg := strings.TrimPrefix(strings.TrimSpace(fmt.Sprintf(format, v...)), "redis: ")
	s.l.LogAttrs(ctx, slog.LevelWarn, "redis client", slog.String("detail", msg))
}
