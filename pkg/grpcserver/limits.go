package grpcserver

import (
	"context"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/liftlabs/lift/pkg/apierr"
	"github.com/liftlabs/lift/pkg/auth"
	"github.com/liftlabs/lift/pkg/ratelimit"
	"github.com/liftlabs/lift/pkg/servicecred"
	"google.golang.org/grpc"
	"google.golang.org/grpc/peer"
)

// Limits protect a server from any one caller and from too much at once.
// Every server has them (defaults in DefaultLimits), the gateway's own
// included: its gRPC port must not be a way around the REST edge's limits.
type Limits struct {
	// MaxInFlight bounds the calls handled at once; more are refused with
	// RESOURCE_EXHAUSTED (OVERLOADED). 0 does not limit.
	MaxInFlight int
	// PerCaller is each caller's token bucket: the API token's id once it
	// is authenticated, else the peer address. Calls with Lift's service
	// credential are not counted (the edge that made them limited its own
	// callers, and one gateway carries many). A zero RPS does not limit.
	PerCaller ratelimit.Policy
}

// DefaultLimits are the limits of LIFT_GRPC_MAX_IN_FLIGHT and
// LIFT_GRPC_RATE_LIMIT_* (the same per-token rate as the REST API).
var DefaultLimits = Limits{MaxInFlight: 1000, PerCaller: ratelimit.Policy{RPS: 100, Burst: 200}}

// limiter enforces Limits; it runs after auth, so the principal is known.
type limiter struct {
	slots   chan struct{}
	callers *ratelimit.Limiter
	max     string
}

func newLimiter(l Limits) *limiter {
	lim := &limiter{callers: ratelimit.New(l.PerCaller, 0), max: strconv.Itoa(l.MaxInFlight)}
	if l.MaxInFlight > 0 {
		lim.slots = make(chan struct{}, l.MaxInFlight)
	}
	return lim
}

// admit takes a token from the caller's bucket and, for a unary call, a
// slot (a stream may last as long as its client: it is rate-limited, not
// counted); release gives the slot back.
func (l *limiter) admit(ctx context.Context, fullMethod string, unary bool) (release func(), err error) {
	if isHealth(fullMethod) {
		return func() {}, nil // probes are never limited
	}
	if !servicecred.Valid(ctx) {
		if ok, wait := l.callers.Allow(callerKey(ctx), time.Now()); !ok {
			secs := strconv.Itoa(ratelimit.RetryAfterSeconds(wait))
			return nil, apierr.ResourceExhausted("RATE_LIMITED", "too many requests for this credential; retry after %s s", secs).
				With("retry_after_seconds", secs)
		}
	}
	if l.slots == nil || !unary {
		return func() {}, nil
	}
	select {
	case l.slots <- struct{}{}:
		return func() { <-l.slots }, nil
	default:
		return nil, apierr.ResourceExhausted("OVERLOADED", "the server is handling its maximum of %s calls; retry later", l.max).
			With("max_in_flight", l.max)
	}
}

// callerKey is the authenticated token's id, else the peer's address.
func callerKey(ctx context.Context) string {
	if p, ok := auth.FromContext(ctx); ok && p.TokenID != "" {
		return ratelimit.Key("token-id", p.TokenID)
	}
	addr := ""
	if pr, ok := peer.FromContext(ctx); ok && pr.Addr != nil {
		addr = pr.Addr.String()
		if host, _, err := net.SplitHostPort(addr); err == nil {
			addr = host
		}
	}
	return ratelimit.Key("ip", addr)
}

func isHealth(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, "/grpc.health.v1.Health/")
}

func (l *limiter) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	release, err := l.admit(ctx, info.FullMethod, true)
	if err != nil {
		return nil, err
	}
	defer release()
	return handler(ctx, req)
}

func (l *limiter) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	release, err := l.admit(ss.Context(), info.FullMethod, false)
	if err != nil {
		return err
	}
	defer release()
	return handler(srv, ss)
}
