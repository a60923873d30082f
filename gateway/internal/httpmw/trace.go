package httpmw

import (
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
)

// Trace starts the request's server span, continuing the caller's trace
// when it sent a W3C traceparent header, and puts it in the context: the
// gRPC calls made for the request become its children, and the services'
// spans theirs. The span is named "METHOD route" once a router matched
// (see SetRoute). Probes are not traced: they would make a trace every few
// seconds. With export off (export false; pkg/tracing's default) no span
// is started at all — otelhttp's wrapping costs about as much as a decide —
// and only a caller's traceparent is put in the context, so trace ids
// still reach the logs and the backends.
func Trace(next http.Handler, export bool) http.Handler {
	if !export {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Traceparent") == "" {
				next.ServeHTTP(w, r)
				return
			}
			ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
	return otelhttp.NewHandler(next, "http",
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }),
		otelhttp.WithFilter(func(r *http.Request) bool { return r.URL.Path != "/healthz" && r.URL.Path != "/readyz" }),
	)
}
