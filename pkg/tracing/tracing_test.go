package tracing_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/liftlabs/lift/pkg/config"
	"github.com/liftlabs/lift/pkg/tracing"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

func TestLoad_OffByDefaultAndValidated(t *testing.T) {
	s := tracing.Load(config.FromMap(nil))
	if s.Exporter != "none" || s.Protocol != "http/protobuf" {
		t.Fatalf("defaults = %+v, want none over http/protobuf", s)
	}
	l := config.FromMap(map[string]string{"OTEL_TRACES_EXPORTER": "OTLP", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
	if s := tracing.Load(l); s.Exporter != "otlp" || s.Protocol != "grpc" || l.Err() != nil {
		t.Fatalf("otlp over grpc = %+v, %v", s, l.Err())
	}
	l = config.FromMap(map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"})
	if s := tracing.Load(l); s.Protocol != "http/protobuf" {
		t.Fatalf("the traces-specific protocol should win: %+v", s)
	}
	l = config.FromMap(map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"})
	tracing.Load(l)
	if l.Err() == nil {
		t.Fatal("an exporter Lift cannot build was accepted")
	}
}

// Off, Setup still installs W3C propagation: a traceparent received is
// passed on, so services with export on still see one trace.
func TestSetup_OffStillPropagates(t *testing.T) {
	stop, err := tracing.Setup(context.Background(), "test", tracing.Settings{Exporter: "none"})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	in := propagation.MapCarrier{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
	ctx := otel.GetTextMapPropagator().Extract(context.Background(), in)
	ctx, span := otel.Tracer("t").Start(ctx, "hop")
	defer span.End()
	if span.IsRecording() {
		t.Error("with export off spans should not record")
	}
	out := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, out)
	if got := trace.SpanContextFromContext(ctx).TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" || out["traceparent"] == "" {
		t.Fatalf("trace id %s, outgoing traceparent %q", got, out["traceparent"])
	}
}

// With OTEL_TRACES_EXPORTER=otlp, spans go to the collector the standard
// OTEL_EXPORTER_OTLP_* variables name (OTLP over HTTP here), labelled with
// OTEL_SERVICE_NAME, and stop flushes what is still buffered.
func TestSetup_OTLPExportsWhereTheEnvironmentSays(t *testing.T) {
	type export struct {
		path, contentType string
		body              []byte
	}
	got := make(chan export, 10)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- export{r.URL.Path, r.Header.Get("Content-Type"), b}
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_SERVICE_NAME", "lift-under-test")
	t.Cleanup(func() { otel.SetTracerProvider(noop.NewTracerProvider()) })

	s := tracing.Load(config.FromMap(map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}))
	stop, err := tracing.Setup(context.Background(), "results", s)
	if err != nil {
		t.Fatal(err)
	}
	_, span := otel.Tracer("t").Start(context.Background(), "span-to-export")
	span.End()
	stop()
	select {
	case e := <-got:
		if e.path != "/v1/traces" || e.contentType != "application/x-protobuf" ||
			!bytes.Contains(e.body, []byte("span-to-export")) || !bytes.Contains(e.body, []byte("lift-under-test")) {
			t.Fatalf("collector got %s %s (%d bytes), want the span and the service name", e.path, e.contentType, len(e.body))
		}
	default:
		t.Fatal("nothing was exported by the time stop returned")
	}
}
