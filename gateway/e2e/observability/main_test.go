package observability

import (
	"os"
	"testing"

	"github.com/liftlabs/lift/pkg/tracing"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// spans records every span the in-process stack ends: the gateway, the
// services and their SQL all use the global provider, as in production
// with OTEL_TRACES_EXPORTER=otlp.
var spans = tracetest.NewSpanRecorder()

func TestMain(m *testing.M) {
	// Installed before any server or client is built, as the binaries do
	// in main (pkg/tracing.Setup).
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)))
	otel.SetTextMapPropagator(tracing.Propagator())
	os.Exit(m.Run())
}
