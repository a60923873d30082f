// Package logging builds the JSON slog logger every binary uses and carries
// a request-scoped logger (with the request id) in the context.
package logging

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/liftlabs/lift/pkg/requestid"
	"go.opentelemetry.io/otel/trace"
)

type ctxKey struct{}

// New returns a JSON logger to stderr tagged with the service name. Unknown
// levels fall back to info; config validation rejects them earlier.
func New(service, level string) *slog.Logger {
	return NewTo(os.Stderr, service, level)
}

// NewTo is New writing to w, so tests can capture exactly the lines a
// binary would print (e.g. to prove no secret is ever logged).
func NewTo(w io.Writer, service, level string) *slog.Logger {
	lvl, _ := ParseLevel(level)
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl})
	return slog.New(h).With("service", service)
}

// ParseLevel parses debug, info, warn or error.
func ParseLevel(s string) (slog.Level, bool) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, true
	case "info", "":
		return slog.LevelInfo, true
	case "warn", "warning":
		return slog.LevelWarn, true
	case "error":
		return slog.LevelError, true
	}
	return slog.LevelInfo, false
}

// WithLogger returns ctx carrying l.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// ForRequest returns base tagged with what ties the lines of one request
// together across services: request_id, and trace_id and span_id when ctx
// carries a span (the gateway's HTTP span, or the RPC's server span). The
// ids are attached to the logger, not looked up per line, so every line of
// the request carries them however it is logged.
func ForRequest(ctx context.Context, base *slog.Logger) *slog.Logger {
	attrs := make([]any, 0, 6)
	if id := requestid.FromContext(ctx); id != "" {
		attrs = append(attrs, "request_id", id)
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		attrs = append(attrs, "trace_id", sc.TraceID().String(), "span_id", sc.SpanID().String())
	}
	return base.With(attrs...)
}

// FromContext returns the logger of ctx (which carries the request id when
// ctx belongs to an RPC), or slog.Default().
func FromContext(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(ctxKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}
