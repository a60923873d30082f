package server

import (
	"context"
	"fmt"
	"slices"

	"google.golang.org/grpc/codes"

	"github.com/liftlabs/lift/pkg/apierr"
	"github.com/liftlabs/lift/pkg/datafile/audience"
	"github.com/liftlabs/lift/pkg/datafile/bucketing"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"github.com/liftlabs/lift/services/experiments/internal/datafile"
	"github.com/liftlabs/lift/services/experiments/internal/store"
)

// Bounds protovalidate cannot express on a partial update.
const (
	minVariations = 2
	maxVariations = 20
)

// checkExperiment validates the rules that span fields or need other
// resources, on the experiment as it will be stored. It rewrites the
// audience conditions into their canonical form.
func (s *Server) checkExperiment(ctx context.Context, projectID int64, e *experimentsv1.Experiment) error {
	if err := checkVariations(e.GetVariations()); err != nil {
		return err
	}
	if err := canonicalConditions(e); err != nil {
		return err
	}
	flag, err := s.referencedFlag(ctx, projectID, e.GetFlagId())
	if err != nil {
		return err
	}
	if err := checkVariationVariables(flag, e.GetVariations()); err != nil {
		return err
	}
	if e.GetLayerId() == "" {
		e.LayerTrafficAllocation = 0
	} else {
		if e.GetLayerTrafficAllocation() <= 0 {
			return apierr.InvalidArgument("LAYER_TRAFFIC_REQUIRED", "layer_traffic_allocation (1..10000 basis points) is required with layer_id").
				With("field", "experiment.layer_traffic_allocation")
		}
		if err := s.referencedLayer(ctx, projectID, e.GetLayerId()); err != nil {
			return err
		}
	}
	return s.checkEnvironments(ctx, projectID, e.GetEnvironmentKeys())
}

func checkVariations(vs []*experimentsv1.Variation) error {
	if len(vs) < minVariations || len(vs) > maxVariations {
		return apierr.InvalidArgument("INVALID_VARIATIONS", "an experiment has %d to %d variations, not %d", minVariations, maxVariations, len(vs)).
			With("field", "experiment.variations")
	}
	sum := 0
	for _, v := range vs {
		sum += int(v.GetWeight())
	}
	if sum != bucketing.MaxBuckets {
		return apierr.InvalidArgument("INVALID_WEIGHTS", "variation weights sum to %d basis points; they must sum to 10000", sum).
			With("field", "experiment.variations")
	}
	return nil
}

func canonicalConditions(e *experimentsv1.Experiment) error {
	tree, err := audience.ParseConditions([]byte(e.GetAudienceConditions()), audience.Strict)
	if err != nil {
		return apierr.InvalidArgument("INVALID_AUDIENCE_CONDITIONS", "audience_conditions: %s", err).
			With("field", "experiment.audience_conditions")
	}
	e.AudienceConditions = ""
	if tree != nil {
		e.AudienceConditions = tree.String()
	}
	return nil
}

func (s *Server) referencedFlag(ctx context.Context, projectID int64, id string) (*experimentsv1.Flag, error) {
	if id == "" {
		return nil, nil
	}
	f, err := s.store.GetFlag(ctx, numericID(id))
	if err != nil && !isNotFound(err) {
		return nil, err
	}
	if err != nil || f.GetProjectId() != fmt.Sprint(projectID) {
		return nil, apierr.InvalidArgument("UNKNOWN_FLAG", "flag %s does not exist in the project", id).With("field", "experiment.flag_id")
	}
	return f, nil
}

func (s *Server) referencedLayer(ctx context.Context, projectID int64, id string) error {
	l, err := s.store.GetLayer(ctx, numericID(id))
	if err != nil && !isNotFound(err) {
		return err
	}
	if err != nil || l.GetProjectId() != fmt.Sprint(projectID) {
		return apierr.InvalidArgument("UNKNOWN_LAYER", "layer %s does not exist in the project", id).With("field", "experiment.layer_id")
	}
	return nil
}

// checkVariationVariables: values only for variables the flag has, and
// valid for their type.
func checkVariationVariables(flag *experimentsv1.Flag, vs []*experimentsv1.Variation) error {
	for i, v := range vs {
		if err := checkVariableValues(flag, v.GetKey(), v.GetVariables(), fmt.Sprintf("experiment.variations[%d].variables", i)); err != nil {
			return err
		}
	}
	return nil
}

// checkVariableValues checks the variable values one variation (of an
// experiment or a delivery) sets.
func checkVariableValues(flag *experimentsv1.Flag, variationKey string, values map[string]string, field string) error {
	types := map[string]string{}
	for _, v := range flag.GetVariables() {
		types[v.GetKey()] = store.VariableTypeName(v.GetType())
	}
	for key, value := range values {
		typ, ok := types[key]
		if !ok {
			if flag == nil {
				return apierr.InvalidArgument("VARIABLES_WITHOUT_FLAG", "variation %q sets variables but the experiment has no flag", variationKey).With("field", field)
			}
			return apierr.InvalidArgument("UNKNOWN_VARIABLE", "flag %q has no variable %q", flag.GetKey(), key).With("field", field)
		}
		if err := datafile.CheckValue(typ, value); err != nil {
			return apierr.InvalidArgument("INVALID_VARIABLE_VALUE", "variable %q of variation %q: %s", key, variationKey, err).With("field", field)
		}
	}
	return nil
}

func (s *Server) checkEnvironments(ctx context.Context, projectID int64, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	envs, err := s.dir.Environments(ctx, projectID)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if !slices.ContainsFunc(envs, func(e environment) bool { return e.Key == k }) {
			return apierr.InvalidArgument("UNKNOWN_ENVIRONMENT", "the project has no environment %q", k).
				With("field", "experiment.environment_keys")
		}
	}
	return nil
}

func isNotFound(err error) bool {
	e, ok := apierr.As(err)
	return ok && e.Code == codes.NotFound
}
