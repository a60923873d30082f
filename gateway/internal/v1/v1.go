// Package v1 serves every public RPC of every backend under /v1, transcoded
// by grpc-gateway from the protos' google.api.http annotations.
package v1

import (
	"context"
	"fmt"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"google.golang.org/grpc"
)

// Conns are the connections to the backends; a nil connection means the
// backend is not configured and its routes answer 404.
type Conns struct {
	Identity    *grpc.ClientConn
	Experiments *grpc.ClientConn
	Results     *grpc.ClientConn
}

// Register adds the /v1 routes of every configured backend to mux.
//
// To serve a new service: add one line below with its backend's connection
// and its generated Register…HandlerClient and New…Client. Handlers are
// registered against a gRPC client, never the server in-process, so every
// REST call goes through the service's whole interceptor chain (auth,
// validation, error mapping) exactly as gRPC callers do.
func Register(ctx context.Context, mux *runtime.ServeMux, c Conns) error {
	regs := []registration{
		service(c.Identity, identityv1.RegisterIdentityServiceHandlerClient, identityv1.NewIdentityServiceClient),
		service(c.Experiments, experimentsv1.RegisterExperimentsServiceHandlerClient, experimentsv1.NewExperimentsServiceClient),
		service(c.Results, resultsv1.RegisterResultsServiceHandlerClient, resultsv1.NewResultsServiceClient),
	}
	for _, r := range regs {
		if err := r(ctx, mux); err != nil {
			return err
		}
	}
	return nil
}

type registration func(context.Context, *runtime.ServeMux) error

// service binds one generated service to its backend connection; it does
// nothing when the backend is not configured.
func service[C any](
	conn *grpc.ClientConn,
	register func(context.Context, *runtime.ServeMux, C) error,
	newClient func(grpc.ClientConnInterface) C,
) registration {
	return func(ctx context.Context, mux *runtime.ServeMux) error {
		if conn == nil {
			return nil
		}
		if err := register(ctx, mux, newClient(conn)); err != nil {
			return fmt.Errorf("register /v1 handlers for %s: %w", conn.Target(), err)
		}
		return nil
	}
}
