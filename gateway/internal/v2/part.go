package v2

import (
	"context"
	"fmt"
	"time"

	"github.com/liftlabs/lift/pkg/apierr"
	gatewayv2 "github.com/liftlabs/lift/proto/gen/go/lift/gateway/v2"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/status"
)

// part is one backend call of a composite endpoint.
type part struct {
	endpoint string // the RPC, e.g. "GetExperimentResults"
	name     string // what it fetches, e.g. "layer"
	backend  string // "identity", "experiments" or "results"
}

// call runs fn under the per-call deadline, records its latency and turns
// its failure into the error a composite response reports: the backend's
// own status for answers such as NOT_FOUND, and for UNAVAILABLE and
// DEADLINE_EXCEEDED an error naming the backend and the part. When ctx
// itself ended (the caller went away, or a sibling part failed), the
// context's error is returned instead.
func call[T any](ctx context.Context, s *Server, p part, fn func(context.Context) (T, error)) (T, error) {
	cctx, cancel := context.WithTimeout(ctx, s.opts.BackendTimeout)
	defer cancel()
	start := time.Now()
	out, err := fn(cctx)
	observe(p, status.Code(err), time.Since(start))
	if err == nil {
		return out, nil
	}
	if ctx.Err() != nil {
		return out, status.FromContextError(ctx.Err()).Err()
	}
	return out, s.classify(p, err)
}

// classify is pkg/apierr's one shape of a backend outage for the part, or
// the backend's own answer (NOT_FOUND, PERMISSION_DENIED, …) as is.
func (s *Server) classify(p part, err error) error {
	if e, ok := apierr.FromBackend(err, p.backend, p.name, s.opts.BackendTimeout); ok {
		return e
	}
	return err
}

// warning describes an optional part that failed with err.
func warning(which gatewayv2.Part, id string, p part, err error) *gatewayv2.Warning {
	st := status.Convert(err)
	return &gatewayv2.Warning{
		Part:       which,
		ResourceId: id,
		Backend:    p.backend,
		Code:       code.Code_name[int32(st.Code())],
		Message:    fmt.Sprintf("the %s is missing: %s", p.name, st.Message()),
	}
}
