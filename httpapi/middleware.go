package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// chain applies middleware so that the first one listed is the outermost.
func chain(h http.Handler, mw ...func(http.Handler) http.Handler) http.Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

// validRequestID reports whether an incoming X-Request-ID is safe to echo
// and log: 1 to 128 characters of [A-Za-z0-9._-].
func validRequestID(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// maxUserAgent bounds the User-Agent kept in RequestInfo.
const maxUserAgent = 512

// requestInfo gives every request an id (a safe incoming X-Request-ID, or a
// new one), echoes it, and puts it in the context as gatehouse.RequestInfo
// with the resolved client IP and the User-Agent.
func (s *Server) requestInfo(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if !validRequestID(id) {
			id = gatehouse.NewID(s.now())
		}
		w.Header().Set("X-Request-ID", id)
		ri := gatehouse.RequestInfo{RequestID: id, UserAgent: clip(r.UserAgent(), maxUserAgent)}
		if a := s.clientIP.Resolve(r); a.IsValid() {
			ri.IP = a.String()
		}
		next.ServeHTTP(w, r.WithContext(gatehouse.NewContextWithRequestInfo(r.Context(), ri)))
	})
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (sw *statusWriter) WriteHeader(code int) {
	if sw.status == 0 {
		sw.status = code
	}
	sw.ResponseWriter.WriteHeader(code)
}

func (sw *statusWriter) Write(b []byte) (int, error) {
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	n, err := sw.ResponseWriter.Write(b)
	sw.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (sw *statusWriter) Unwrap() http.ResponseWriter { return sw.ResponseWriter }

// routeKey carries a *string that the matched route fills with its pattern,
// so that the outer middleware can label metrics and logs by route.
type routeKey struct{}

// withPattern records the matched ServeMux pattern for observe.
func withPattern(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := r.Context().Value(routeKey{}).(*string); ok {
			*p = r.Pattern
		}
		h.ServeHTTP(w, r)
	})
}

// observe writes the access log line and the request metrics.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		route := ""
		sw := &statusWriter{ResponseWriter: w}
		// Deferred, so that a request aborted by a panic is counted too.
		defer s.record(r, sw, &route, start)
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), routeKey{}, &route)))
	})
}

// record writes the access log line and the metrics of one request.
func (s *Server) record(r *http.Request, sw *statusWriter, route *string, start time.Time) {
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	d := time.Since(start)
	label := *route
	if label == "" {
		label = "unmatched"
	}
	s.metrics.requests.WithLabelValues(label, strconv.Itoa(sw.status)).Inc()
	s.metrics.duration.WithLabelValues(label).Observe(d.Seconds())
	ri := gatehouse.RequestInfoFromContext(r.Context())
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
		slog.String("request_id", ri.RequestID),
		slog.String("method", r.Method),
		slog.String("route", label),
		slog.String("path", clip(r.URL.Path, 256)),
		slog.Int("status", sw.status),
		slog.Int64("bytes", sw.bytes),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
		slog.String("ip", ri.IP))
}

// recoverPanics turns a panic into the contract's 500 body. The log line has
// the request id, the panic's type and the stack, but not the panic value,
// which may hold anything the failing code had in hand.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			ri := gatehouse.RequestInfoFromContext(r.Context())
			s.log.LogAttrs(r.Context(), slog.LevelError, "panic",
				slog.String("request_id", ri.RequestID),
				slog.String("method", r.Method),
				slog.String("path", clip(r.URL.Path, 256)),
				slog.String("panic_type", fmt.Sprintf("%T", v)),
				slog.String("stack", string(debug.Stack())))
			if sw, ok := w.(*statusWriter); ok && sw.status != 0 {
				// The response has begun: a 500 cannot follow it. Abort the
				// connection so the client sees a broken response, not a
				// truncated success.
				panic(http.ErrAbortHandler)
			}
			writeErrorBody(w, http.StatusInternalServerError, gatehouse.EInternal, "internal error")
		}()
		next.ServeHTTP(w, r)
	})
}

// headers sets the headers every response carries: Cache-Control: no-store
// under /v1/ (docs/reference.md §2), HSTS when the public URL is https (RFC 6797), and
// nosniff.
func (s *Server) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if strings.HasPrefix(r.URL.Path, "/v1/") {
			h.Set("Cache-Control", "no-store")
		}
		if s.hsts {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		h.Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

// limitBody bounds the request body at MaxBodyBytes: a declared length over
// it is refused at once, and a longer body fails the read.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBodyBytes {
			s.writeError(w, r, errTooLargeBody)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}
