package e2e

import (
	"context"
	"fmt"
	"net"
	"path"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liftlabs/lift/gateway/gatewaytest"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"github.com/liftlabs/lift/services/experiments/experimentstest"
	"github.com/liftlabs/lift/services/identity/identitytest"
	"github.com/liftlabs/lift/services/results/resultstest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// v2Stack is every service plus the gateway, set up through the services'
// own gRPC clients, with a project ready to hold experiments.
type v2Stack struct {
	id  *identitytest.Env
	exp *experimentstest.Env
	res *resultstest.Env
	gw  *gatewaytest.Env
	// stopGatewayIdentity stops the identity the gateway calls (set with
	// v2Options.stoppableIdentity).
	stopGatewayIdentity func()

	acct    identitytest.Account
	read    string // acct's read-only token
	other   identitytest.Account
	project *identityv1.Project
	eventID string // the "purchase" event
}

// v2Options change the stack: interceptors on each backend (run right
// before its handlers), the gateway's options, and a results target that
// replaces the real one (e.g. a port nothing listens on).
type v2Options struct {
	identity, experiments, results []grpc.UnaryServerInterceptor
	gateway                        []gatewaytest.Option
	resultsTarget                  string
	// resultsCatalogTTL is how long results reuses experiment definitions
	// (resultstest's default when zero).
	resultsCatalogTTL time.Duration
	// stoppableIdentity points the gateway at an identity replica of its
	// own (same database), which v2Stack.stopGatewayIdentity stops; the
	// services keep theirs.
	stoppableIdentity bool
}

func newV2Stack(t testing.TB, o v2Options) *v2Stack {
	t.Helper()
	s := &v2Stack{}
	var idOpts []identitytest.Option
	for _, i := range o.identity {
		idOpts = append(idOpts, identitytest.WithUnaryInterceptor(i))
	}
	s.id = identitytest.Start(t, idOpts...)
	s.exp = experimentstest.Start(t, s.id.Addr, experimentstest.Options{Unary: o.experiments})
	s.id.SetExperimentsAddr(s.exp.Addr)
	s.res = resultstest.Start(t, s.id.Addr, s.exp.Addr, resultstest.Options{Unary: o.results, CatalogTTL: o.resultsCatalogTTL})
	results := "dns:///" + s.res.Addr
	if o.resultsTarget != "" {
		results = o.resultsTarget
	}
	identity := s.id.Addr
	if o.stoppableIdentity {
		identity, s.stopGatewayIdentity = s.id.StartReplica(t)
	}
	s.gw = gatewaytest.Start(t, gatewaytest.Backends{
		Identity: "dns:///" + identity, Experiments: "dns:///" + s.exp.Addr, Results: results,
	}, o.gateway...)
	s.acct = s.id.NewAccount(t)
	s.read = s.id.Token(t, s.acct, identityv1.Scope_SCOPE_READ)
	s.other = s.id.NewAccount(t)
	s.project = s.id.CreateProject(t, s.acct.AdminToken, "Web shop")
	ev, err := s.exp.Client.CreateEvent(s.admin(), &experimentsv1.CreateEventRequest{
		ProjectId: s.project.GetId(), Event: &experimentsv1.Event{Key: "purchase", Name: "Purchase"},
	})
	if err != nil {
		t.Fatalf("create event: %v", err)
	}
	s.eventID = ev.GetEvent().GetId()
	return s
}

// admin is a context carrying the account's admin token.
func (s *v2Stack) admin() context.Context {
	return experimentstest.WithToken(context.Background(), s.acct.AdminToken)
}

// createLayer creates a layer and returns it.
func (s *v2Stack) createLayer(t testing.TB, key, name string) *experimentsv1.Layer {
	t.Helper()
	r, err := s.exp.Client.CreateLayer(s.admin(), &experimentsv1.CreateLayerRequest{
		ProjectId: s.project.GetId(), Layer: &experimentsv1.Layer{Key: key, Name: name},
	})
	if err != nil {
		t.Fatalf("create layer: %v", err)
	}
	return r.GetLayer()
}

// startExperiment creates and starts a two-arm experiment ("Control"
// baseline and "Treatment" with the given weights) measuring purchase, in
// layerID (with half its traffic) when not empty.
func (s *v2Stack) startExperiment(t testing.TB, key, layerID string, controlWeight, treatmentWeight int32) *experimentsv1.Experiment {
	t.Helper()
	e := &experimentsv1.Experiment{
		Key: key, Name: "Experiment " + key, EnvironmentKeys: []string{"production"},
		Variations: []*experimentsv1.Variation{
			{Key: "control", Name: "Control", Weight: controlWeight, Baseline: true},
			{Key: "treatment", Name: "Treatment", Weight: treatmentWeight},
		},
		Metrics: []*experimentsv1.Metric{{EventKey: "purchase", Primary: true}},
	}
	if layerID != "" {
		e.LayerId, e.LayerTrafficAllocation = layerID, 5000
	}
	c, err := s.exp.Client.CreateExperiment(s.admin(), &experimentsv1.CreateExperimentRequest{ProjectId: s.project.GetId(), Experiment: e})
	if err != nil {
		t.Fatalf("create experiment: %v", err)
	}
	r, err := s.exp.Client.StartExperiment(s.admin(), &experimentsv1.StartExperimentRequest{ExperimentId: c.GetExperiment().GetId()})
	if err != nil {
		t.Fatalf("start experiment: %v", err)
	}
	return r.GetExperiment()
}

// ingest records, for each variation of e (by key), visitors exposures of
// which the first converters convert once on purchase.
func (s *v2Stack) ingest(t testing.TB, e *experimentsv1.Experiment, traffic map[string][2]int) {
	t.Helper()
	at := time.Now().Add(-time.Hour).UnixMilli()
	var visitors []*resultsv1.Visitor
	for _, v := range e.GetVariations() {
		n := traffic[v.GetKey()]
		for i := range n[0] {
			id := fmt.Sprintf("%s-%s-%d", e.GetKey(), v.GetKey(), i)
			snaps := []*resultsv1.Snapshot{{
				Decisions: []*resultsv1.Decision{{ExperimentId: e.GetId(), VariationId: v.GetId()}},
				Events:    []*resultsv1.SnapshotEvent{{Key: "campaign_activated", Timestamp: at, Uuid: "imp-" + id}},
			}}
			if i < n[1] {
				snaps = append(snaps, &resultsv1.Snapshot{Events: []*resultsv1.SnapshotEvent{{
					EntityId: s.eventID, Key: "purchase", Timestamp: at + 60_000, Uuid: "conv-" + id,
				}}})
			}
			visitors = append(visitors, &resultsv1.Visitor{VisitorId: id, Snapshots: snaps})
		}
	}
	if _, err := s.res.Client.IngestEvents(s.admin(), &resultsv1.IngestEventsRequest{ProjectId: s.project.GetId(), Visitors: visitors}); err != nil {
		t.Fatalf("ingest: %v", err)
	}
}

// method reports whether a call's full method name ends in one of names.
func method(info *grpc.UnaryServerInfo, names []string) bool {
	for _, n := range names {
		if path.Base(info.FullMethod) == n {
			return true
		}
	}
	return false
}

// slow delays the named methods by d, or until the call's context ends: a
// slow backend.
func slow(d time.Duration, names ...string) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		if method(info, names) {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return nil, status.FromContextError(ctx.Err()).Err()
			}
		}
		return next(ctx, req)
	}
}

// failing fails the named methods with code when match(req) holds: a
// backend that is down for those calls.
func failing(c codes.Code, match func(req any) bool, names ...string) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		if method(info, names) && match(req) {
			return nil, status.Error(c, "injected failure")
		}
		return next(ctx, req)
	}
}

// deadTarget is a gRPC target nothing listens on: a stopped backend.
func deadTarget(t testing.TB) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	if err := lis.Close(); err != nil {
		t.Fatal(err)
	}
	return "dns:///" + addr
}

// blocker holds the named calls until their context ends and records why
// each ended, to prove a caller's cancellation reaches every backend call.
// While off is set it lets every call through (e.g. during a test's setup).
type blocker struct {
	names   []string
	off     atomic.Bool
	started chan string
	mu      sync.Mutex
	ended   map[string][]error // by method, one entry per call
	done    chan struct{}      // one value per ended call
}

func newBlocker(names ...string) *blocker {
	return &blocker{names: names, started: make(chan string, 16), ended: map[string][]error{}, done: make(chan struct{}, 16)}
}

func (b *blocker) interceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	if b.off.Load() || !method(info, b.names) {
		return next(ctx, req)
	}
	b.started <- path.Base(info.FullMethod)
	<-ctx.Done()
	b.mu.Lock()
	b.ended[path.Base(info.FullMethod)] = append(b.ended[path.Base(info.FullMethod)], ctx.Err())
	b.mu.Unlock()
	b.done <- struct{}{}
	return nil, status.FromContextError(ctx.Err()).Err()
}

// endings returns, and forgets, how the calls held so far ended.
func (b *blocker) endings() map[string][]error {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.ended
	b.ended = map[string][]error{}
	return e
}

// rounds lets the named calls through in rounds of size: each call waits
// until its round is full, then the round proceeds together. It records
// the most calls ever in flight. A caller running fewer than size calls
// at once never fills a round (its calls then end on their deadline); one
// running more shows up in maxInFlight.
type rounds struct {
	names       []string
	size, total int
	mu          sync.Mutex
	entered     int
	inFlight    int
	maxInFlight int
	full        []chan struct{}
}

func newRounds(size, total int, names ...string) *rounds {
	r := &rounds{names: names, size: size, total: total}
	for range (total + size - 1) / size {
		r.full = append(r.full, make(chan struct{}))
	}
	return r
}

func (r *rounds) interceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	if !method(info, r.names) {
		return next(ctx, req)
	}
	r.mu.Lock()
	round := r.entered / r.size
	r.entered++
	r.inFlight++
	r.maxInFlight = max(r.maxInFlight, r.inFlight)
	if round < len(r.full) && (r.entered%r.size == 0 || r.entered == r.total) {
		close(r.full[round])
	}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.inFlight--
		r.mu.Unlock()
	}()
	if round < len(r.full) {
		select {
		case <-r.full[round]:
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
	return next(ctx, req)
}

func (r *rounds) max() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.maxInFlight
}

func pause(id string) *experimentsv1.PauseExperimentRequest {
	return &experimentsv1.PauseExperimentRequest{ExperimentId: id}
}
