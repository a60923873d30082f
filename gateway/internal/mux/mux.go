// Package mux builds every grpc-gateway ServeMux of the gateway, so that all
// API versions share one marshaler, one error shape, one header policy and
// one way of turning handler metadata into HTTP statuses and headers.
package mux

import (
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/liftlabs/lift/gateway/internal/httpmw"
)

// New returns a ServeMux configured the Lift way; extra options (added after
// the defaults) let a caller register more, e.g. handlers.
func New(extra ...runtime.ServeMuxOption) *runtime.ServeMux {
	opts := []runtime.ServeMuxOption{
		runtime.WithMarshalerOption(runtime.MIMEWildcard, marshaler()),
		runtime.WithErrorHandler(handleError),
		runtime.WithRoutingErrorHandler(handleRoutingError),
		runtime.WithIncomingHeaderMatcher(incomingHeader),
		runtime.WithOutgoingHeaderMatcher(outgoingHeader),
		runtime.WithOutgoingTrailerMatcher(outgoingTrailer),
		runtime.WithMetadata(requestMetadata),
		runtime.WithForwardResponseOption(applyHTTPMeta),
		runtime.WithMiddlewares(rememberRequest, recordRoute),
		// A POST with a form body must not be retried as a GET, and a header
		// must not turn a POST into a DELETE: both would let a request reach
		// a method other than the one the client and any proxy saw.
		runtime.WithDisablePathLengthFallback(),
		runtime.WithDisableHTTPMethodOverride(),
		runtime.WithWriteContentLength(),
	}
	return runtime.NewServeMux(append(opts, extra...)...)
}

// recordRoute labels the request's metrics and span with the API pattern
// that matched, e.g. "/v1/experiments/{experiment_id}/results".
func recordRoute(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		if p, ok := runtime.HTTPPattern(r.Context()); ok {
			httpmw.SetRoute(r.Context(), strings.ReplaceAll(p.String(), "=*}", "}"))
		}
		next(w, r, params)
	}
}
