package attacks

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liftlabs/lift/gateway/gatewaytest"
	"github.com/liftlabs/lift/pkg/auth"
	"github.com/liftlabs/lift/pkg/grpcserver"
	"github.com/liftlabs/lift/pkg/ratelimit"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	gatewayv2 "github.com/liftlabs/lift/proto/gen/go/lift/gateway/v2"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// outsider dials addr as someone outside Lift would: plain gRPC, without
// pkg/grpcclient (which sends the service credential).
func outsider(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// TestInternalRPCs_RefusedToOutsiders (break 3). Every internal RPC, on
// every gRPC port of the stack (the three services' and the gateway's own),
// is refused to a caller without Lift's service credential — anonymous or
// holding a valid API token alike — and answers nothing about the request.
func TestInternalRPCs_RefusedToOutsiders(t *testing.T) {
	s, _ := startStack(t)
	key := s.SDKKey(t, "production")
	e := s.CreateExperiment(t, "internal")
	ports := map[string]string{
		"identity": s.Identity.Addr, "experiments": s.Experiments.Addr, "results": s.Results.Addr, "gateway": s.GW.GRPCAddr,
	}
	calls := map[string]func(context.Context, *grpc.ClientConn) error{
		"AuthenticateToken": func(ctx context.Context, cc *grpc.ClientConn) error {
			_, err := identityv1.NewIdentityServiceClient(cc).AuthenticateToken(ctx, &identityv1.AuthenticateTokenRequest{Token: s.Read})
			return err
		},
		"ResolveSdkKey": func(ctx context.Context, cc *grpc.ClientConn) error {
			_, err := identityv1.NewIdentityServiceClient(cc).ResolveSdkKey(ctx, &identityv1.ResolveSdkKeyRequest{SdkKey: key})
			return err
		},
		"GetDatafile": func(ctx context.Context, cc *grpc.ClientConn) error {
			_, err := experimentsv1.NewExperimentsServiceClient(cc).GetDatafile(ctx, &experimentsv1.GetDatafileRequest{SdkKey: key})
			return err
		},
		"GetExperimentLayer": func(ctx context.Context, cc *grpc.ClientConn) error {
			_, err := experimentsv1.NewExperimentsServiceClient(cc).GetExperimentLayer(ctx, &experimentsv1.GetExperimentLayerRequest{ExperimentId: e.ID})
			return err
		},
		"IngestOptimizelyBatch": func(ctx context.Context, cc *grpc.ClientConn) error {
			_, err := resultsv1.NewResultsServiceClient(cc).IngestOptimizelyBatch(ctx, &resultsv1.IngestOptimizelyBatchRequest{SdkKey: key, Batch: []byte(`{"visitors":[]}`)})
			return err
		},
	}
	refused, answered := 0, 0
	for port, addr := range ports {
		cc := outsider(t, addr)
		for name, call := range calls {
			for _, token := range []string{"", s.Admin} {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				if token != "" {
					ctx = metadata.AppendToOutgoingContext(ctx, auth.MetadataKey, "Bearer "+token)
				}
				err := call(ctx, cc)
				cancel()
				switch status.Code(err) {
				case codes.PermissionDenied, codes.Unimplemented: // the gateway's port serves none of them
					refused++
				default:
					answered++
					t.Errorf("%s on %s's port (token %v): %v, want refused", name, port, token != "", err)
				}
			}
		}
	}
	t.Logf("internal RPCs from outside: %d refused, %d answered (5 methods × 4 ports × with and without a token)", refused, answered)
}

// TestGRPCPorts_AreRateLimited (break 3): the limits the REST edge applies
// hold on the gRPC ports too. A valid token calling identity's ListProjects
// (default limits: 100/s, burst 200) 1,000 times, 30 at a time, gets
// RESOURCE_EXHAUSTED past its burst; so does one calling the gateway's
// GetProjectOverview (here with a burst of 20 and no refill, so the count
// does not depend on the machine's speed) 300 times.
func TestGRPCPorts_AreRateLimited(t *testing.T) {
	s, _ := startStack(t, gatewaytest.WithGRPCLimits(grpcserver.Limits{MaxInFlight: 1000, PerCaller: ratelimit.Policy{RPS: 0.001, Burst: 20}}))
	ctx := metadata.AppendToOutgoingContext(context.Background(), auth.MetadataKey, "Bearer "+s.Read)
	identity := identityv1.NewIdentityServiceClient(outsider(t, s.Identity.Addr))
	gateway := gatewayv2.NewGatewayServiceClient(outsider(t, s.GW.GRPCAddr))
	for _, c := range []struct {
		port      string
		n, minOut int // calls, and at least how many refused
		call      func() error
	}{
		{"identity", 1000, 1, func() error {
			_, err := identity.ListProjects(ctx, &identityv1.ListProjectsRequest{})
			return err
		}},
		{"gateway", 300, 280, func() error {
			_, err := gateway.GetProjectOverview(ctx, &gatewayv2.GetProjectOverviewRequest{ProjectId: s.ProjectID})
			return err
		}},
	} {
		var (
			mu     sync.Mutex
			wg     sync.WaitGroup
			counts = map[codes.Code]int{}
			next   atomic.Int64
		)
		for range 30 {
			wg.Go(func() {
				for next.Add(1) <= int64(c.n) {
					code := status.Code(c.call())
					mu.Lock()
					counts[code]++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		t.Logf("%s: %d direct calls → %v", c.port, c.n, counts)
		if counts[codes.ResourceExhausted] < c.minOut || counts[codes.ResourceExhausted]+counts[codes.OK] != c.n {
			t.Errorf("%s: %v, want at least %d RESOURCE_EXHAUSTED past the burst", c.port, counts, c.minOut)
		}
	}
}
