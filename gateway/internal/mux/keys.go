package mux

// Response metadata keys a backend handler sets with grpc.SetHeader to shape
// the HTTP response. They are plain strings so that services need not import
// the gateway; pkg/httpmeta is meant to export the same names.
const (
	// HTTPCodeKey overrides the success status: "201" for a create (with
	// LocationKey), "304" when the client's copy is current. Only 200, 201,
	// 202, 204 and 304 are honoured; errors always come from the gRPC code.
	HTTPCodeKey = "x-http-code"
	// LocationKey is the path of a created resource, e.g. "/v1/projects/42".
	LocationKey = "location"
	// ETagKey is the entity tag of the returned resource, quoted or not (the
	// gateway quotes it). With it, a GET carrying a matching If-None-Match is
	// answered 304 by the gateway even when the handler did not say so.
	ETagKey = "etag"
	// CacheControlKey is copied to the Cache-Control header.
	CacheControlKey = "cache-control"
	// RetryAfterKey is copied to the Retry-After header (seconds).
	RetryAfterKey = "retry-after"
)
