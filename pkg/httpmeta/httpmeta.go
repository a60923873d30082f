// Package httpmeta lets a gRPC handler shape the REST response the gateway
// builds from its reply (201 and Location for creates, ETag, 304), by
// setting gRPC response header metadata the gateway's forward-response
// option reads. gRPC callers just see the metadata.
package httpmeta

import (
	"context"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// Metadata keys; gateway/internal/mux/keys.go reads the same names.
const (
	// HTTPCodeKey overrides the success status: 200, 201, 202, 204 or 304.
	HTTPCodeKey = "x-http-code"
	// LocationKey is the path of a created resource, e.g. "/v1/projects/42".
	LocationKey = "location"
	// ETagKey is the entity tag of the returned resource (quoted or not).
	// With it, the gateway answers a GET whose If-None-Match matches with 304.
	ETagKey = "etag"
	// CacheControlKey is copied to the Cache-Control header.
	CacheControlKey = "cache-control"
	// RetryAfterKey is copied to the Retry-After header (seconds).
	RetryAfterKey = "retry-after"
)

// Created marks the reply as a creation: HTTP 201, plus Location when
// location is not empty (only give one that a GET route serves).
func Created(ctx context.Context, location string) {
	md := metadata.Pairs(HTTPCodeKey, strconv.Itoa(201))
	if location != "" {
		md.Append(LocationKey, location)
	}
	set(ctx, md)
}

// ETag sets the entity tag of the returned resource.
func ETag(ctx context.Context, tag string) {
	if tag != "" {
		set(ctx, metadata.Pairs(ETagKey, tag))
	}
}

// NotModified answers 304: the client's copy (If-None-Match) is current.
func NotModified(ctx context.Context) {
	set(ctx, metadata.Pairs(HTTPCodeKey, "304"))
}

// set ignores the error grpc.SetHeader returns outside a gRPC call (a
// handler called directly by a unit test) or after headers were sent:
// the metadata only refines the HTTP rendering, the reply stays correct.
func set(ctx context.Context, md metadata.MD) {
	_ = grpc.SetHeader(ctx, md)
}
