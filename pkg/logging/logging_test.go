package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/liftlabs/lift/pkg/logging"
	"github.com/liftlabs/lift/pkg/requestid"
	"go.opentelemetry.io/otel/trace"
)

func TestForRequest_TagsRequestAndTraceIDs(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(slog.NewJSONHandler(&buf, nil))
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(requestid.WithID(context.Background(), "req-1"),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
	// Logged without the context: the ids are on the logger itself.
	logging.ForRequest(ctx, base).Info("hello")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	if line["request_id"] != "req-1" || line["trace_id"] != tid.String() || line["span_id"] != sid.String() {
		t.Fatalf("line = %v", line)
	}

	buf.Reset()
	logging.ForRequest(context.Background(), base).Info("no request")
	if bytes.Contains(buf.Bytes(), []byte("trace_id")) || bytes.Contains(buf.Bytes(), []byte("request_id")) {
		t.Fatalf("line outside a request carries ids: %s", buf.Bytes())
	}
}
