// Package tracing sets up OpenTelemetry tracing the same way for every Lift
// binary: W3C trace context propagation always, and span export only when
// the standard OTEL_TRACES_EXPORTER variable asks for it.
//
// The instrumentation itself lives where the traffic is: otelgrpc stats
// handlers in pkg/grpcserver and pkg/grpcclient, otelhttp in the gateway,
// a pgx tracer in pkg/pg. They all use the global providers set here, so
// with export off they produce non-recording spans (no allocation of span
// data, nothing exported) while still passing trace ids along.
package tracing

import (
	"context"
	"fmt"
	"time"

	"github.com/liftlabs/lift/pkg/config"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// Settings are the tracing choices read from the environment.
type Settings struct {
	// Exporter is "none" (default) or "otlp".
	Exporter string
	// Protocol is the OTLP protocol: "grpc" or "http/protobuf" (default).
	Protocol string
}

// Load reads OTEL_TRACES_EXPORTER and the OTLP protocol
// (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL).
// Unlike the OpenTelemetry default (otlp), an unset exporter means none:
// a self-hosted Lift must not try to reach a collector nobody runs. The
// other OTEL_* variables (endpoint, headers, OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER, OTEL_BSP_*) are read by the
// SDK itself.
func Load(l *config.Loader) Settings {
	protocols := []string{"http/protobuf", "grpc"}
	return Settings{
		Exporter: l.OneOf("OTEL_TRACES_EXPORTER", "none", "none", "otlp"),
		Protocol: l.OneOf("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
			l.OneOf("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", protocols...), protocols...),
	}
}

// Setup installs the W3C propagator and, when s asks for an exporter, a
// tracer provider that batches spans to it, named service unless
// OTEL_SERVICE_NAME says otherwise. The returned stop flushes the spans
// not yet exported (for up to 5 s); defer it in main.
func Setup(ctx context.Context, service string, s Settings) (stop func(), err error) {
	otel.SetTextMapPropagator(Propagator())
	if s.Exporter != "otlp" {
		return func() {}, nil
	}
	var exp sdktrace.SpanExporter
	if s.Protocol == "grpc" {
		exp, err = otlptracegrpc.New(ctx)
	} else {
		exp, err = otlptracehttp.New(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("otlp trace exporter: %w", err)
	}
	// Later options win: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
	// override the binary's own name.
	res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithHost(),
		resource.WithAttributes(semconv.ServiceName(service)), resource.WithFromEnv())
	if err != nil {
		return nil, err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = tp.Shutdown(sctx) // export errors already went to otel's error handler
	}, nil
}

// Propagator is W3C trace context plus baggage, what every hop speaks.
func Propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}
