// Package sdk serves the endpoints Optimizely SDKs and Agent clients call
// directly — the datafile, the event batch, and Agent's decide — which speak
// plain HTTP with caching, status and JSON conventions that grpc-gateway's
// transcoding cannot express.
package sdk

import (
	"context"
	"net/http"

	"github.com/liftlabs/lift/pkg/requestid"
	"google.golang.org/grpc/metadata"
)

// outgoing passes the request id and the caller's credential (if any) to
// the backend, as the /v1 mux does.
func outgoing(r *http.Request) context.Context {
	ctx := r.Context()
	if id := requestid.FromContext(ctx); id != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, requestid.MetadataKey, id)
	}
	if a := r.Header.Get("Authorization"); a != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", a)
	}
	return ctx
}
