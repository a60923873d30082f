// Package servicecred is how Lift's services recognise each other: a shared
// secret (LIFT_SERVICE_CREDENTIAL, the same for every binary of one
// deployment) that pkg/grpcclient sends with every call and pkg/grpcserver
// requires for the methods marked (lift.options.v1.internal) — the token
// check, SDK key resolution, the datafile by SDK key, the SDK event batch,
// an experiment's layer — which nobody outside Lift may call directly.
//
// It fails closed: a process without a credential refuses every internal
// call, and the binaries do not start without one. The secret travels as
// gRPC metadata, in clear text unless the connections use TLS: keep the
// services' gRPC ports on a private network, as the manifests do.
package servicecred

import (
	"context"
	"crypto/subtle"
	"sync/atomic"

	"github.com/liftlabs/lift/pkg/config"
	"google.golang.org/grpc/metadata"
)

// EnvVar names the variable the binaries read it from.
const EnvVar = "LIFT_SERVICE_CREDENTIAL"

// MinLength is the shortest credential accepted: guessing it must be out of
// the question (32 hex characters are 128 bits).
const MinLength = 32

// MetadataKey carries the credential on a call.
const MetadataKey = "lift-service-credential"

// current is this process's credential; "" (none) refuses internal calls.
var current atomic.Pointer[string]

// Load reads the credential from LIFT_SERVICE_CREDENTIAL into the process.
// Unset or shorter than MinLength is a configuration error: a binary that
// cannot prove itself to the others, or check them, must not start.
func Load(l *config.Loader) {
	if v := l.Secret(EnvVar, MinLength, "the same for every Lift binary, e.g. openssl rand -hex 32"); v != "" {
		Set(v)
	}
}

// Set makes secret this process's credential (tests, and Load).
func Set(secret string) { current.Store(&secret) }

func get() string {
	if p := current.Load(); p != nil {
		return *p
	}
	return ""
}

// Valid reports whether the incoming call of ctx presents this process's
// credential. Without one, nothing is valid.
func Valid(ctx context.Context) bool {
	want := get()
	if want == "" {
		return false
	}
	md, _ := metadata.FromIncomingContext(ctx)
	for _, got := range md.Get(MetadataKey) {
		if subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1 {
			return true
		}
	}
	return false
}

// PerRPC is a grpc credentials.PerRPCCredentials that sends this process's
// credential with every call (nothing when it has none). It does not ask
// for transport security: the services' ports are private.
type PerRPC struct{}

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (PerRPC) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	if s := get(); s != "" {
		return map[string]string{MetadataKey: s}, nil
	}
	return nil, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials.
func (PerRPC) RequireTransportSecurity() bool { return false }
