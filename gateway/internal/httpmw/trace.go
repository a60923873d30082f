package httpmw

import (
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
)

// Trace starts the request's server span, continuing the caller's trace
// when it sent a W3C traceparent header, and puts it in the context: the
// gRPC calls made for the request become its children, and the services'
// spans theirs. The span is named "METHOD route" once a router matched
// (see SetRoute). Probes are not traced: they would make a trace every few
// seconds. With export off (pkg/tracing) the span is a non-recording one
// that only carries the trace id along.
func Trace(next http.Handler) http.Handler {
	return otelhttp.NewHandler(next, "http",
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }),
		otelhttp.WithFilter(func(r *http.Request) bool { return r.URL.Path != "/healthz" && r.URL.Path != "/readyz" }),
	)
}
