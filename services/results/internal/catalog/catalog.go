// Package catalog is the results service's cached view of what other
// services own: experiments (variations, weights, metrics) from the
// experiments service, and project settings from identity. It never reads
// their databases; entries expire after a TTL, and an entry fetched with
// one account's token is only served to that account.
package catalog

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/liftlabs/lift/pkg/apierr"
	"github.com/liftlabs/lift/pkg/auth"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Variation is one arm of an experiment.
type Variation struct {
	ID       int64
	Key      string
	Weight   int32 // basis points
	Baseline bool
}

// Metric is an event an experiment is judged on, with its definition.
type Metric struct {
	EventKey string
	Primary  bool
	// Kind is what is measured per visitor; unspecified reports the
	// conversion rate plus revenue and value wherever events carry them.
	Kind experimentsv1.MetricKind
	// LowerIsBetter reverses the verdict, chance to beat and risk.
	LowerIsBetter bool
	// Guardrail metrics are flagged when significantly worse and stay out
	// of the primary's false discovery rate family.
	Guardrail bool
	// Capping of per-visitor values; nil for none.
	Capping *experimentsv1.MetricCapping
}

// Role is the metric's role as the API reports it.
func (m Metric) Role() experimentsv1.MetricRole {
	switch {
	case m.Primary:
		return experimentsv1.MetricRole_METRIC_ROLE_PRIMARY
	case m.Guardrail:
		return experimentsv1.MetricRole_METRIC_ROLE_GUARDRAIL
	}
	return experimentsv1.MetricRole_METRIC_ROLE_SECONDARY
}

// Experiment is what results needs to know about an experiment.
type Experiment struct {
	ID         int64
	ProjectID  int64
	Key        string
	Variations []Variation
	Metrics    []Metric
}

// Variation returns the variation with id.
func (e *Experiment) Variation(id int64) (Variation, bool) {
	for _, v := range e.Variations {
		if v.ID == id {
			return v, true
		}
	}
	return Variation{}, false
}

// VariationIDs is the set of the experiment's variation ids.
func (e *Experiment) VariationIDs() map[int64]bool {
	m := make(map[int64]bool, len(e.Variations))
	for _, v := range e.Variations {
		m[v.ID] = true
	}
	return m
}

// Baseline returns the baseline variation (the first one if none is
// marked, as Optimizely does).
func (e *Experiment) Baseline() Variation {
	for _, v := range e.Variations {
		if v.Baseline {
			return v
		}
	}
	if len(e.Variations) > 0 {
		return e.Variations[0]
	}
	return Variation{}
}

// Catalog caches experiments and projects.
type Catalog struct {
	experiments experimentsv1.ExperimentsServiceClient
	identity    identityv1.IdentityServiceClient
	byAccount   *cache[string, *Experiment]
	projects    *cache[string, *identityv1.Project]
	datafiles   *cache[string, *Datafile]
	seen        *cache[string, *Experiment] // by SDK key and experiment id
}

// seenRetention is how long an experiment learned from a datafile stays
// known after it leaves the datafile (paused, concluded): SDKs holding an
// older datafile keep sending its impressions for a while, and rejecting
// them would fail their whole batch.
const seenRetention = 7 * 24 * time.Hour

// New returns a catalog whose entries live for ttl.
func New(experiments experimentsv1.ExperimentsServiceClient, identity identityv1.IdentityServiceClient, ttl time.Duration) *Catalog {
	return &Catalog{
		experiments: experiments,
		identity:    identity,
		byAccount:   newCache[string, *Experiment](ttl, maxEntries),
		projects:    newCache[string, *identityv1.Project](ttl, maxEntries),
		datafiles:   newCache[string, *Datafile](ttl, maxEntries),
		seen:        newCache[string, *Experiment](seenRetention, maxEntries),
	}
}

// ErrUnknownExperiment is returned for an experiment the caller cannot see.
var ErrUnknownExperiment = apierr.NotFound("EXPERIMENT_NOT_FOUND", "experiment not found")

// Experiment returns an experiment of the caller's account, asking the
// experiments service with the caller's credentials (propagated from the
// incoming request) on a cache miss. An experiment that does not exist or
// belongs to another account is ErrUnknownExperiment.
func (c *Catalog) Experiment(ctx context.Context, id int64) (*Experiment, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	key := p.AccountID + "/" + strconv.FormatInt(id, 10)
	return c.byAccount.get(ctx, key, func(ctx context.Context) (*Experiment, error) {
		ctx, cancel := withCallTimeout(ctx)
		defer cancel()
		resp, err := c.experiments.GetExperiment(ctx, &experimentsv1.GetExperimentRequest{ExperimentId: strconv.FormatInt(id, 10)})
		if status.Code(err) == codes.NotFound {
			return nil, ErrUnknownExperiment.With("experiment_id", strconv.FormatInt(id, 10))
		}
		if err != nil {
			return nil, backendError(err, "experiments", "experiment")
		}
		return fromProto(resp.GetExperiment())
	})
}

// Project returns a project of the caller's account (for its settings),
// asking identity with the caller's credentials on a cache miss.
func (c *Catalog) Project(ctx context.Context, id int64) (*identityv1.Project, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	key := p.AccountID + "/" + strconv.FormatInt(id, 10)
	return c.projects.get(ctx, key, func(ctx context.Context) (*identityv1.Project, error) {
		ctx, cancel := withCallTimeout(ctx)
		defer cancel()
		resp, err := c.identity.GetProject(ctx, &identityv1.GetProjectRequest{ProjectId: strconv.FormatInt(id, 10)})
		if err != nil {
			return nil, backendError(err, "identity", "project")
		}
		return resp.GetProject(), nil
	})
}

func fromProto(e *experimentsv1.Experiment) (*Experiment, error) {
	id, err1 := strconv.ParseInt(e.GetId(), 10, 64)
	project, err2 := strconv.ParseInt(e.GetProjectId(), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return nil, apierr.Internal("BAD_EXPERIMENT", "experiments service returned experiment %q of project %q", e.GetId(), e.GetProjectId())
	}
	out := &Experiment{ID: id, ProjectID: project, Key: e.GetKey()}
	for _, v := range e.GetVariations() {
		vid, err := strconv.ParseInt(v.GetId(), 10, 64)
		if err != nil {
			return nil, apierr.Internal("BAD_EXPERIMENT", "experiment %d has variation id %q", id, v.GetId())
		}
		out.Variations = append(out.Variations, Variation{ID: vid, Key: v.GetKey(), Weight: v.GetWeight(), Baseline: v.GetBaseline()})
	}
	for _, m := range e.GetMetrics() {
		out.Metrics = append(out.Metrics, Metric{
			EventKey: m.GetEventKey(), Primary: m.GetPrimary(), Kind: m.GetKind(), Capping: m.GetCapping(),
			LowerIsBetter: m.GetDirection() == experimentsv1.MetricDirection_METRIC_DIRECTION_DECREASE,
			Guardrail:     !m.GetPrimary() && m.GetRole() == experimentsv1.MetricRole_METRIC_ROLE_GUARDRAIL,
		})
	}
	return out, nil
}
