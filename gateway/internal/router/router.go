// Package router assembles the gateway's HTTP handler: connections to the
// backends, the /v1 API, the /v2 composite API (and the gateway's own gRPC
// server behind it), the SDK endpoints (datafile, events, Agent's decide),
// the OpenAPI documents, the docs page, the probes, and the middleware
// around all of them.
package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/liftlabs/lift/gateway/internal/admit"
	"github.com/liftlabs/lift/gateway/internal/console"
	"github.com/liftlabs/lift/gateway/internal/docs"
	"github.com/liftlabs/lift/gateway/internal/health"
	"github.com/liftlabs/lift/gateway/internal/httperr"
	"github.com/liftlabs/lift/gateway/internal/httpmw"
	"github.com/liftlabs/lift/gateway/internal/mux"
	"github.com/liftlabs/lift/gateway/internal/openapi"
	"github.com/liftlabs/lift/gateway/internal/sdk"
	v1 "github.com/liftlabs/lift/gateway/internal/v1"
	v2 "github.com/liftlabs/lift/gateway/internal/v2"
	"github.com/liftlabs/lift/pkg/admin"
	"github.com/liftlabs/lift/pkg/auth"
	"github.com/liftlabs/lift/pkg/grpcclient"
	"github.com/liftlabs/lift/pkg/grpcserver"
	"github.com/liftlabs/lift/pkg/ratelimit"
	"github.com/liftlabs/lift/proto"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"google.golang.org/grpc"
)

// Backends are the gRPC targets of the services, e.g.
// "dns:///127.0.0.1:9101". An empty target leaves that service out: its
// routes answer 404 and readiness does not wait for it.
type Backends struct {
	Identity    string
	Experiments string
	Results     string
}

// Config configures the handler.
type Config struct {
	Backends Backends
	// MaxBodyBytes is the largest request body accepted (413 above).
	MaxBodyBytes int64
	// SDKMaxBodyBytes is the largest SDK event batch accepted; default
	// MaxBodyBytes.
	SDKMaxBodyBytes int64
	// APIRateLimit is each API token's bucket on the API (the client
	// address's for requests without a token); SDKRateLimit each
	// environment's on the SDK endpoints; FailureRateLimit each client
	// address's bucket of failed credentials (invalid tokens, unknown SDK
	// keys), checked before any lookup. A zero RPS does not limit.
	APIRateLimit, SDKRateLimit, FailureRateLimit ratelimit.Policy
	// MaxInFlight bounds the requests served at once (503 above); 0 does
	// not limit.
	MaxInFlight int
	// MaxInFlightPerAddr bounds the requests of one client address served
	// at once (429 above); 0 does not limit.
	MaxInFlightPerAddr int
	// UploadRate is the slowest request body the gateway waits for (408
	// below it); zero waits as long as the server's read timeout.
	UploadRate httpmw.UploadRate
	// GRPCLimits bound the gateway's own gRPC server (zero:
	// grpcserver.DefaultLimits).
	GRPCLimits grpcserver.Limits
	// BodyMemory bounds the request body bytes being read at once
	// (httpmw.BodyMemory); 0 does not bound.
	BodyMemory int64
	// RequestTimeout is every request's deadline, passed to the backends;
	// 0 leaves only the per-call default of pkg/grpcclient.
	RequestTimeout time.Duration
	// ReadyTimeout bounds each backend's readiness check.
	ReadyTimeout time.Duration
	// GRPC, when set, is where the gateway's own gRPC server (the /v2
	// GatewayService) listens; /v2 is served only then, and needs all three
	// backends. nil leaves /v2 out (its routes answer 404).
	GRPC net.Listener
	// V2 tunes the composite endpoints.
	V2 v2.Options
	// Engines bounds the edge decide's compiled datafiles (zero: defaults).
	Engines sdk.EngineOptions
	// DecideRateLimit is each SDK key's token bucket on Agent's decide, for
	// keys the edge holds an engine for; the zero policy is no limit, as
	// Agent has none. A decide naming a key the edge does not hold is
	// limited per caller by SDKRateLimit instead, so invented keys cannot
	// make experiments work.
	DecideRateLimit ratelimit.Policy
	// ExportSpans wraps every request in an otelhttp server span; false
	// (tracing export off) only propagates a caller's traceparent.
	ExportSpans bool
	// AuthCacheTTL bounds how long the gRPC server reuses a token check.
	AuthCacheTTL time.Duration
	Logger       *slog.Logger
}

// Gateway is the gateway's HTTP handler, its gRPC server (when /v2 is
// served) and the connections it owns.
type Gateway struct {
	http.Handler
	conns       []*grpc.ClientConn
	tokens      *auth.IdentityAuthenticator
	inFlight    *httpmw.InFlight
	backends    http.Handler
	draining    atomic.Bool
	closed      sync.Once
	impressions *sdk.Impressions
	engines     *sdk.Engines
	grpc        *grpc.Server
	grpcLis     net.Listener
	logger      *slog.Logger
}

// New dials the configured backends (lazily: a backend that is down makes
// /readyz fail, not New) and builds the handler.
func New(ctx context.Context, cfg Config) (*Gateway, error) {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = httpmw.DefaultMaxBodyBytes
	}
	if cfg.SDKMaxBodyBytes <= 0 {
		cfg.SDKMaxBodyBytes = cfg.MaxBodyBytes
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = health.DefaultTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.AuthCacheTTL <= 0 {
		cfg.AuthCacheTTL = 10 * time.Second
	}
	g := &Gateway{logger: cfg.Logger, inFlight: httpmw.NewInFlight(cfg.MaxInFlight)}
	var conns v1.Conns
	var admission admit.Config
	var probes []health.Backend
	for _, b := range []struct {
		name, target string
		conn         **grpc.ClientConn
	}{
		{"identity", cfg.Backends.Identity, &conns.Identity},
		{"experiments", cfg.Backends.Experiments, &conns.Experiments},
		{"results", cfg.Backends.Results, &conns.Results},
	} {
		if b.target == "" {
			continue
		}
		cc, err := grpcclient.Dial(b.target)
		if err != nil {
			_ = g.Close()
			return nil, fmt.Errorf("%s backend: %w", b.name, err)
		}
		g.conns = append(g.conns, cc)
		*b.conn = cc
		probes = append(probes, health.Backend{Name: b.name, Conn: cc})
	}

	if conns.Identity != nil {
		identity := identityv1.NewIdentityServiceClient(conns.Identity)
		g.tokens = auth.NewIdentityAuthenticator(identity, cfg.AuthCacheTTL)
		admission.Tokens, admission.SDKKeys = g.tokens, admit.NewSDKKeys(identity)
	}

	api := mux.New()
	if err := v1.Register(ctx, api, conns); err != nil {
		_ = g.Close()
		return nil, err
	}
	docsJSON, err := openapi.New(proto.OpenAPIv2)
	if err != nil {
		_ = g.Close()
		return nil, err
	}

	routes := http.NewServeMux()
	routes.Handle("/v1/", api)
	if cfg.GRPC != nil {
		api2, err := g.serveV2(ctx, cfg, conns)
		if err != nil {
			_ = g.Close()
			return nil, err
		}
		routes.Handle("/v2/", api2)
	}
	// The SDK endpoints are hand-written (caching headers, 204, Agent's
	// JSON): the exact /v1/events and /v1/decide patterns win over the /v1/
	// prefix.
	if conns.Experiments != nil {
		experiments := experimentsv1.NewExperimentsServiceClient(conns.Experiments)
		routes.Handle(sdk.DatafilePattern, readOnly(sdk.Datafile(experiments)))
		if conns.Results != nil {
			g.impressions = sdk.NewImpressions(resultsv1.NewResultsServiceClient(conns.Results), cfg.Logger)
		}
		g.engines = sdk.NewEngines(experiments, cfg.Logger, cfg.Engines)
		routes.Handle(sdk.DecidePath, sdk.Decide(g.engines, g.impressions))
	}
	if conns.Results != nil {
		routes.Handle(sdk.EventsPath, sdk.Events(resultsv1.NewResultsServiceClient(conns.Results)))
	}
	routes.Handle("/healthz", readOnly(health.Live()))
	routes.Handle("/readyz", readOnly(health.Ready(g.notReady)))
	g.backends = health.Backends(probes, cfg.ReadyTimeout)
	routes.Handle("/openapi.json", readOnly(docsJSON.V2()))
	routes.Handle("/openapi.v3.json", readOnly(docsJSON.V3()))
	routes.Handle("/docs", readOnly(docs.Page()))
	routes.Handle(docs.AssetPath, readOnly(docs.Asset()))
	routes.Handle(console.Prefix, readOnly(console.Handler()))
	routes.Handle(strings.TrimSuffix(console.Prefix, "/"), readOnly(http.RedirectHandler(console.Prefix, http.StatusMovedPermanently)))
	routes.HandleFunc("/", notFound)

	admission.API, admission.SDK, admission.Failures = cfg.APIRateLimit, cfg.SDKRateLimit, cfg.FailureRateLimit
	admission.Exempt = isProbe
	if g.engines != nil {
		// A key the edge holds a compiled datafile for is known: its
		// decides skip the lookup and have their own (default: no) limit.
		admission.Decide, admission.Holds = cfg.DecideRateLimit, g.engines.Holds
	}
	bodyLimit := func(r *http.Request) int64 {
		if r.URL.Path == sdk.EventsPath {
			return cfg.SDKMaxBodyBytes
		}
		return cfg.MaxBodyBytes
	}

	// Outermost first: the trace span covers everything; the request id
	// exists before anything can answer, so every response carries it;
	// metrics and the access log see the status a recovered panic
	// produced; a declared body over the limit is refused before anything
	// is spent on it, and the body limit and minimum upload rate apply to
	// everything below; one client address cannot take every slot (nor
	// wait on a backend with more than its share); the caller is identified
	// and rate-limited before it takes an in-flight slot and before its body
	// is read; the deadline starts once the request is admitted; a body
	// nested too deeply is 400 before any decoder sees it; Routed
	// records the matched pattern for metrics and the span name (Metrics
	// asks routes for the pattern of a request refused before it got
	// there).
	g.Handler = httpmw.Trace(
		httpmw.RequestID(
			httpmw.Metrics(routes)(
				httpmw.AccessLog(cfg.Logger, sdk.IsSDKRequest)(
					httpmw.Recover(
						httpmw.BodyLimitBy(bodyLimit, cfg.UploadRate, httpmw.NewBodyMemory(cfg.BodyMemory))(
							httpmw.MaxInFlightPerAddr(cfg.MaxInFlightPerAddr, isProbe)(
								admit.Middleware(admission)(
									g.inFlight.Middleware(isProbe)(
										httpmw.Deadline(cfg.RequestTimeout)(
											httpmw.MaxJSONDepth(httpmw.DefaultMaxJSONDepth, notEventBatch)(
												httpmw.Routed(routes))))))))))), cfg.ExportSpans)
	return g, nil
}

// Drain makes /readyz answer 503 from now on, so load balancers stop
// sending new requests while the servers finish the ones they have.
func (g *Gateway) Drain() { g.draining.Store(true) }

// AdminRoutes are the gateway's own admin endpoints: the deep readiness
// check (every backend's grpc.health.v1 state) at GET /readyz/backends.
func AdminRoutes(g *Gateway) []admin.Route {
	return []admin.Route{{Pattern: "GET /readyz/backends", Handler: httpmw.RequestID(g.backends)}}
}

// notReady says why this process should not get new requests, or "".
func (g *Gateway) notReady() string {
	switch {
	case g.draining.Load():
		return "shutting down"
	case g.inFlight.Full():
		return "serving its maximum of requests"
	}
	return ""
}

// notEventBatch selects the requests whose JSON nesting the gateway bounds:
// all but SDK event batches, which are large and parsed by results with a
// depth limit of its own.
func notEventBatch(r *http.Request) bool { return r.URL.Path != sdk.EventsPath }

// isProbe reports whether r is a liveness or readiness probe, which no
// limit may refuse: an overloaded gateway is alive, and its readiness is
// for the orchestrator to judge.
func isProbe(r *http.Request) bool {
	return r.URL.Path == "/healthz" || r.URL.Path == "/readyz"
}

// impressionFlushTimeout bounds how long Close waits for the impression
// batches being recorded (their decides are waiting for them).
const impressionFlushTimeout = 10 * time.Second

// serveV2 builds the gateway's gRPC server with the GatewayService on
// cfg.GRPC and a /v2 mux that calls it over gRPC (as /v1 calls the
// backends), so REST and gRPC callers go through the same interceptors.
func (g *Gateway) serveV2(ctx context.Context, cfg Config, conns v1.Conns) (http.Handler, error) {
	if conns.Identity == nil || conns.Experiments == nil || conns.Results == nil {
		return nil, errors.New("the /v2 gRPC server needs the identity, experiments and results backends")
	}
	identity := identityv1.NewIdentityServiceClient(conns.Identity)
	svc := v2.New(v2.Backends{
		Identity:    identity,
		Experiments: experimentsv1.NewExperimentsServiceClient(conns.Experiments),
		Results:     resultsv1.NewResultsServiceClient(conns.Results),
	}, cfg.V2)
	g.grpc = v2.NewGRPCServer(svc, g.tokens, cfg.Logger, cfg.GRPCLimits)
	g.grpcLis = cfg.GRPC
	// No retries on this hop: the composite handler already retries its
	// backend calls, and retrying the whole composite would multiply them.
	self, err := grpcclient.Dial(loopbackTarget(cfg.GRPC.Addr()), grpcclient.WithDialOptions(grpc.WithDisableRetry()))
	if err != nil {
		return nil, fmt.Errorf("gateway gRPC server: %w", err)
	}
	g.conns = append(g.conns, self)
	api := mux.New()
	if err := v2.Register(ctx, api, self); err != nil {
		return nil, err
	}
	return api, nil
}

// loopbackTarget is a dial target for a listener in this process: its own
// address, or loopback when it listens on every interface (":9104").
func loopbackTarget(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok && (t.IP == nil || t.IP.IsUnspecified()) {
		return fmt.Sprintf("passthrough:///127.0.0.1:%d", t.Port)
	}
	return "passthrough:///" + a.String()
}

// ServeGRPC serves the gateway's gRPC server until ctx ends, then drains
// it (pkg/grpcserver.Serve). Without /v2 it just waits for ctx.
func (g *Gateway) ServeGRPC(ctx context.Context) error {
	if g.grpc == nil {
		<-ctx.Done()
		return nil
	}
	return grpcserver.Serve(ctx, g.grpc, g.grpcLis, g.logger)
}

// Close is Shutdown with the wait for impressions bounded by
// impressionFlushTimeout.
func (g *Gateway) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), impressionFlushTimeout)
	defer cancel()
	return g.Shutdown(ctx)
}

// Shutdown stops the gRPC server (at once; ServeGRPC is the graceful way),
// sends the queued impressions until ctx ends, then closes the backend
// connections. Only the first call does anything.
func (g *Gateway) Shutdown(ctx context.Context) error {
	var errs []error
	g.closed.Do(func() {
		if g.grpc != nil {
			g.grpc.Stop()
			_ = g.grpcLis.Close() // in case it was never served; already closed otherwise
		}
		if g.engines != nil {
			g.engines.Close()
		}
		if g.impressions != nil {
			errs = append(errs, g.impressions.Close(ctx))
		}
		for _, cc := range g.conns {
			errs = append(errs, cc.Close())
		}
	})
	return errors.Join(errs...)
}

// readOnly answers 405 in the standard shape for anything but GET and
// HEAD. (The routes are registered without a method so that the catch-all
// "/" does not swallow wrong methods as 404s.)
func readOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			httperr.Write(w, r, http.StatusMethodNotAllowed, mux.RoutingStatus(r, http.StatusMethodNotAllowed))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// notFound answers every path no route claims, in the standard shape.
func notFound(w http.ResponseWriter, r *http.Request) {
	httperr.Write(w, r, http.StatusNotFound, mux.RoutingStatus(r, http.StatusNotFound))
}
