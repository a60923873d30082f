package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"github.com/liftlabs/lift/services/experiments/experimentstest"
	"github.com/liftlabs/lift/services/identity/identitytest"
	"github.com/liftlabs/lift/services/results/resultstest"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// stack is identity, experiments and results on loopback, with one account,
// a project, a running two-arm experiment measured on "purchase", and
// tokens.
type stack struct {
	id      *identitytest.Env
	exp     *experimentstest.Env
	res     *resultstest.Env
	r       resultsv1.ResultsServiceClient
	acct    identitytest.Account
	write   context.Context
	read    context.Context
	project *identityv1.Project
	sdkKey  string // production environment's
	e       *experimentsv1.Experiment
	control string // variation ids
	treat   string
}

func newStack(t testing.TB, opts ...resultstest.Options) *stack {
	t.Helper()
	id := identitytest.Start(t)
	ex := experimentstest.Start(t, id.Addr)
	id.SetExperimentsAddr(ex.Addr)
	res := resultstest.Start(t, id.Addr, ex.Addr, opts...)
	s := &stack{id: id, exp: ex, res: res, r: res.Client, acct: id.NewAccount(t)}
	s.write = identitytest.WithToken(context.Background(), id.Token(t, s.acct, identityv1.Scope_SCOPE_WRITE))
	s.read = identitytest.WithToken(context.Background(), id.Token(t, s.acct, identityv1.Scope_SCOPE_READ))
	s.project = id.CreateProject(t, s.acct.AdminToken, "Web")
	for _, e := range id.Environments(t, s.acct.AdminToken, s.project.GetId()) {
		if e.GetKey() == "production" {
			s.sdkKey = e.GetSdkKey()
		}
	}
	for _, key := range []string{"purchase", "signup"} {
		if _, err := ex.Client.CreateEvent(s.write, &experimentsv1.CreateEventRequest{
			ProjectId: s.project.GetId(), Event: &experimentsv1.Event{Key: key},
		}); err != nil {
			t.Fatalf("create event %s: %v", key, err)
		}
	}
	created, err := ex.Client.CreateExperiment(s.write, &experimentsv1.CreateExperimentRequest{
		ProjectId: s.project.GetId(),
		Experiment: &experimentsv1.Experiment{
			Key: "checkout", EnvironmentKeys: []string{"production"},
			Variations: []*experimentsv1.Variation{
				{Key: "control", Weight: 5000, Baseline: true},
				{Key: "treatment", Weight: 5000},
			},
			Metrics: []*experimentsv1.Metric{{EventKey: "purchase", Primary: true}, {EventKey: "signup"}},
		},
	})
	if err != nil {
		t.Fatalf("create experiment: %v", err)
	}
	started, err := ex.Client.StartExperiment(s.write, &experimentsv1.StartExperimentRequest{ExperimentId: created.GetExperiment().GetId()})
	if err != nil {
		t.Fatalf("start experiment: %v", err)
	}
	s.e = started.GetExperiment()
	s.control, s.treat = s.e.GetVariations()[0].GetId(), s.e.GetVariations()[1].GetId()
	return s
}

// setStats changes the project's statistics settings.
func (s *stack) setStats(t testing.TB, method identityv1.StatsMethod, confidence float64, fdr bool) {
	t.Helper()
	_, err := s.id.Client.UpdateProject(identitytest.WithToken(context.Background(), s.acct.AdminToken), &identityv1.UpdateProjectRequest{
		Project: &identityv1.Project{Id: s.project.GetId(), Settings: &identityv1.ProjectSettings{
			StatsMethod: method, ConfidenceLevel: confidence, FalseDiscoveryRateControl: fdr,
		}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"settings"}},
	})
	if err != nil {
		t.Fatalf("update project: %v", err)
	}
}

// results reads the experiment's results with the read token.
func (s *stack) results(t testing.TB, req *resultsv1.GetExperimentResultsRequest) *resultsv1.ExperimentResults {
	t.Helper()
	if req == nil {
		req = &resultsv1.GetExperimentResultsRequest{}
	}
	req.ExperimentId = s.e.GetId()
	resp, err := s.r.GetExperimentResults(s.read, req)
	if err != nil {
		t.Fatalf("results: %v", err)
	}
	return resp.GetResults()
}

// day is yesterday noon UTC: every test event falls in one UTC day, in
// the past.
func day() time.Time {
	return time.Now().UTC().Truncate(24 * time.Hour).Add(-12 * time.Hour)
}

// events builds typed visitors tersely.
type visitorBuilder struct {
	v   *resultsv1.Visitor
	seq *int
	at  time.Time
}

func visitor(id string, seq *int) *visitorBuilder {
	return &visitorBuilder{v: &resultsv1.Visitor{VisitorId: id}, seq: seq, at: day()}
}

func (b *visitorBuilder) uuid() string {
	*b.seq++
	return fmt.Sprintf("evt-%08d", *b.seq)
}

// impression adds an exposure to experiment/variation at offset minutes.
func (b *visitorBuilder) impression(experiment, variation string, minute int) *visitorBuilder {
	b.v.Snapshots = append(b.v.Snapshots, &resultsv1.Snapshot{
		Decisions: []*resultsv1.Decision{{ExperimentId: experiment, VariationId: variation, CampaignId: "1"}},
		Events: []*resultsv1.SnapshotEvent{{
			Key: "campaign_activated", EntityId: "1", Uuid: b.uuid(),
			Timestamp: b.at.Add(time.Duration(minute) * time.Minute).UnixMilli(),
		}},
	})
	return b
}

// conversion adds a conversion at offset minutes; revenue < 0 means none.
func (b *visitorBuilder) conversion(key string, minute int, revenue int64) *visitorBuilder {
	e := &resultsv1.SnapshotEvent{Key: key, Uuid: b.uuid(), Timestamp: b.at.Add(time.Duration(minute) * time.Minute).UnixMilli()}
	if revenue >= 0 {
		e.Revenue = &revenue
	}
	b.v.Snapshots = append(b.v.Snapshots, &resultsv1.Snapshot{Events: []*resultsv1.SnapshotEvent{e}})
	return b
}

func (s *stack) ingest(t testing.TB, visitors ...*resultsv1.Visitor) *resultsv1.IngestEventsResponse {
	t.Helper()
	resp, err := s.r.IngestEvents(s.write, &resultsv1.IngestEventsRequest{ProjectId: s.project.GetId(), Visitors: visitors})
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	return resp
}

// assertReason checks a gRPC error's code and ErrorInfo reason.
func assertReason(t testing.TB, err error, code codes.Code, reason string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != code {
		t.Fatalf("code = %v (%v), want %v", st.Code(), err, code)
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			if info.GetReason() != reason {
				t.Fatalf("reason = %s (%v), want %s", info.GetReason(), err, reason)
			}
			return
		}
	}
	t.Fatalf("no ErrorInfo in %v", err)
}

// reference is the part of the stats package's reference values the
// service tests use (computed by ../stats/testdata/reference.py).
type reference struct {
	Binary struct {
		PValue     float64    `json:"p_value"`
		DiffCI     [2]float64 `json:"diff_ci"`
		Relative   float64    `json:"relative"`
		RelativeCI [2]float64 `json:"relative_ci"`
	} `json:"binary"`
	ChanceToBeat     float64    `json:"chance_to_beat"`
	SequentialP      float64    `json:"sequential_p_value"`
	SequentialDiffCI [2]float64 `json:"sequential_diff_ci"`
	Revenue          struct {
		Control struct {
			Sum   float64 `json:"sum"`
			SumSq float64 `json:"sum_sq"`
		} `json:"control"`
		Treatment struct {
			Sum   float64 `json:"sum"`
			SumSq float64 `json:"sum_sq"`
		} `json:"treatment"`
		PValue       float64    `json:"p_value"`
		DiffCI       [2]float64 `json:"diff_ci"`
		ChanceToBeat float64    `json:"chance_to_beat"`
		Relative     float64    `json:"relative"`
	} `json:"revenue"`
	TreatmentConversions int64 `json:"treatment_conversions"`
}

// bayesReference is one metric's Bayesian decision numbers on the same
// dataset ("service_bayes" in reference.json).
type bayesReference struct {
	LossTreatment    float64    `json:"loss_treatment"`
	LossControl      float64    `json:"loss_control"`
	CredibleRelative [2]float64 `json:"credible_relative"`
}

func loadBayesReference(t testing.TB) (rate, revenue bayesReference) {
	t.Helper()
	b, err := os.ReadFile("../stats/testdata/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var all struct {
		ServiceBayes struct {
			Rate    bayesReference `json:"rate"`
			Revenue bayesReference `json:"revenue"`
		} `json:"service_bayes"`
	}
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	return all.ServiceBayes.Rate, all.ServiceBayes.Revenue
}

func loadReference(t testing.TB) reference {
	t.Helper()
	b, err := os.ReadFile("../stats/testdata/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var all struct {
		Service reference `json:"service"`
	}
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	return all.Service
}

const identityScopeWrite = identityv1.Scope_SCOPE_WRITE

func withToken(token string) context.Context {
	return identitytest.WithToken(context.Background(), token)
}

func statusCode(err error) codes.Code { return status.Code(err) }

func resultstestOptions(maxEvents int) resultstest.Options {
	return resultstest.Options{MaxBatchEvents: maxEvents}
}
