// Package requestid carries the request id that ties the log lines of one
// request together across the gateway and every service it calls.
package requestid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
)

// MetadataKey is the gRPC metadata key (and, case-insensitively, the HTTP
// header) that carries the request id.
const MetadataKey = "x-request-id"

// maxLen bounds an accepted id so a client cannot make every log line huge.
const maxLen = 128

type ctxKey struct{}

// New returns a fresh random id (128 bits, hex).
func New() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// WithID returns ctx carrying id.
func WithID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the request id of ctx, or "".
func FromContext(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// Valid reports whether an id received from a client is safe to adopt: short
// and made of printable, log-safe characters. Invalid ids are replaced.
func Valid(id string) bool {
	if id == "" || len(id) > maxLen {
		return false
	}
	for _, c := range id {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':'
		if !ok {
			return false
		}
	}
	return true
}
