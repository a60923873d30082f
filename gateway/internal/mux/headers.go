package mux

import (
	"context"
	"net/http"
	"net/textproto"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/liftlabs/lift/pkg/requestid"
	"google.golang.org/grpc/metadata"
)

// incomingHeader forwards the conditional-request headers a backend may act
// on, under grpc-gateway's usual "grpcgateway-" prefix. Everything else stays
// at the gateway: cookies and client headers mean nothing to a service, and
// no client header may pose as metadata the gateway sets itself.
// Authorization is forwarded unprefixed by grpc-gateway regardless of this
// matcher; x-request-id is set by requestMetadata from the validated id.
func incomingHeader(key string) (string, bool) {
	switch textproto.CanonicalMIMEHeaderKey(key) {
	case "If-Match", "If-None-Match", "User-Agent":
		return runtime.MetadataPrefix + key, true
	}
	return "", false
}

// outgoingHeader turns the response metadata a handler sets (see keys.go)
// into HTTP headers. Other metadata — content-type, anything internal — is
// not exposed.
func outgoingHeader(key string) (string, bool) {
	switch key {
	case LocationKey:
		return "Location", true
	case ETagKey:
		return "ETag", true
	case CacheControlKey:
		return "Cache-Control", true
	case RetryAfterKey:
		return "Retry-After", true
	}
	return "", false
}

// outgoingTrailer drops every gRPC trailer: REST clients do not read HTTP
// trailers, and announcing them forces chunked encoding.
func outgoingTrailer(string) (string, bool) { return "", false }

// requestMetadata passes the request id that httpmw accepted or generated to
// the backend as x-request-id. Annotator values replace header values of the
// same key, so a client cannot send a second, different id.
func requestMetadata(ctx context.Context, r *http.Request) metadata.MD {
	id := requestid.FromContext(r.Context())
	if id == "" {
		return nil
	}
	return metadata.Pairs(requestid.MetadataKey, id)
}
