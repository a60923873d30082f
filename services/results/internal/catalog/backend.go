package catalog

import (
	"context"
	"errors"
	"time"

	"github.com/liftlabs/lift/pkg/apierr"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// callTimeout bounds one call to experiments or identity, so a backend that
// accepts connections but never answers is reported as such
// (BACKEND_DEADLINE_EXCEEDED) instead of holding the request.
const callTimeout = 5 * time.Second

// withCallTimeout is ctx (the caller's credentials included) bounded by
// callTimeout.
func withCallTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, callTimeout)
}

// backendError is the answer for a failed call to backend for part: an
// outage (UNAVAILABLE, DEADLINE_EXCEEDED) in the one backend-outage shape
// (apierr.FromBackend), the caller's own cancellation as such, anything else
// (NOT_FOUND, PERMISSION_DENIED: the backend's own answer) unchanged. The
// cause of an outage is joined for the log, never sent.
func backendError(err error, backend, part string) error {
	if e, ok := apierr.FromBackend(err, backend, part, callTimeout); ok {
		return errors.Join(e, err)
	}
	if status.Code(err) == codes.Canceled {
		return status.Error(codes.Canceled, "request canceled")
	}
	return err
}
