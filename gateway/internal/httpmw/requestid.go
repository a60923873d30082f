package httpmw

import (
	"net/http"

	"github.com/liftlabs/lift/gateway/internal/httperr"
	"github.com/liftlabs/lift/pkg/requestid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// RequestID accepts the client's X-Request-Id when requestid.Valid, or
// generates one, stores it in the request context (pkg/requestid, which the
// mux passes to backends as x-request-id metadata and the logger reads), and
// sets it on the response before anything else can write, so every response,
// errors included, carries it.
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(httperr.HeaderRequestID)
		if !requestid.Valid(id) {
			id = requestid.New()
		}
		w.Header().Set(httperr.HeaderRequestID, id)
		// Lets a trace be found from the id a client reports.
		trace.SpanFromContext(r.Context()).SetAttributes(attribute.String("lift.request_id", id))
		next.ServeHTTP(w, r.WithContext(requestid.WithID(r.Context(), id)))
	})
}
