package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/liftlabs/lift/pkg/apierr"
	"github.com/liftlabs/lift/pkg/datafile/bucketing"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
)

// everyoneElsePrefix starts the datafile key of every everyone-else rule;
// a delivery may not take such a key.
const everyoneElsePrefix = "default-rollout-"

// GetFlagRuleset returns a flag's ruleset in one of its project's
// environments.
func (s *Server) GetFlagRuleset(ctx context.Context, req *experimentsv1.GetFlagRulesetRequest) (*experimentsv1.GetFlagRulesetResponse, error) {
	_, projectID, err := s.flag(ctx, req.GetFlagId())
	if err != nil {
		return nil, err
	}
	if _, err := s.dir.Environment(ctx, projectID, req.GetEnvironmentKey()); err != nil {
		return nil, err
	}
	r, err := s.store.GetRuleset(ctx, projectID, numericID(req.GetFlagId()), req.GetEnvironmentKey())
	if err != nil {
		return nil, err
	}
	return &experimentsv1.GetFlagRulesetResponse{Ruleset: r}, nil
}

// UpdateFlagRuleset changes the masked fields of a flag's ruleset; a stale
// etag is Aborted.
func (s *Server) UpdateFlagRuleset(ctx context.Context, req *experimentsv1.UpdateFlagRulesetRequest) (*experimentsv1.UpdateFlagRulesetResponse, error) {
	flag, projectID, err := s.flag(ctx, req.GetFlagId())
	if err != nil {
		return nil, err
	}
	if _, err := s.dir.Environment(ctx, projectID, req.GetEnvironmentKey()); err != nil {
		return nil, err
	}
	in := req.GetRuleset()
	paths := req.GetUpdateMask().GetPaths()
	for _, p := range paths {
		switch p {
		case "deliveries":
			if err := checkDeliveries(flag, in.GetDeliveries()); err != nil {
				return nil, err
			}
		case "everyone_else":
			if err := checkEveryoneElse(flag, in.GetEveryoneElse()); err != nil {
				return nil, err
			}
		}
	}
	r, err := s.store.UpdateRuleset(ctx, projectID, numericID(req.GetFlagId()), req.GetEnvironmentKey(), in.GetEtag(), func(cur *experimentsv1.FlagRuleset) error {
		for _, p := range paths {
			switch p {
			case "enabled":
				cur.Enabled = in.GetEnabled()
			case "experiment_rules":
				cur.ExperimentRules = in.GetExperimentRules()
			case "deliveries":
				cur.Deliveries = in.GetDeliveries()
			case "everyone_else":
				cur.EveryoneElse = in.GetEveryoneElse()
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &experimentsv1.UpdateFlagRulesetResponse{Ruleset: r}, nil
}

// ShipExperiment concludes an experiment and delivers its winner.
func (s *Server) ShipExperiment(ctx context.Context, req *experimentsv1.ShipExperimentRequest) (*experimentsv1.ShipExperimentResponse, error) {
	e, projectID, err := s.experiment(ctx, req.GetExperimentId())
	if err != nil {
		return nil, err
	}
	if err := checkStaleEtag(req.GetEtag(), e.GetEtag()); err != nil {
		return nil, err
	}
	if _, err := s.dir.Environment(ctx, projectID, req.GetEnvironmentKey()); err != nil {
		return nil, err
	}
	percentage := req.GetPercentage()
	if percentage == 0 {
		percentage = bucketing.MaxBuckets
	}
	exp, r, err := s.store.ShipExperiment(ctx, projectID, numericID(req.GetExperimentId()), req.GetEnvironmentKey(),
		req.GetVariationKey(), percentage, req.GetEtag())
	if err != nil {
		return nil, err
	}
	return &experimentsv1.ShipExperimentResponse{Experiment: exp, Ruleset: r}, nil
}

func checkDeliveries(flag *experimentsv1.Flag, rules []*experimentsv1.DeliveryRule) error {
	for i, r := range rules {
		field := fmt.Sprintf("ruleset.deliveries[%d]", i)
		if strings.HasPrefix(r.GetKey(), everyoneElsePrefix) {
			return apierr.InvalidArgument("RESERVED_RULE_KEY", "delivery keys starting with %q are reserved for the everyone-else rule", everyoneElsePrefix).
				With("field", field+".key")
		}
		if err := checkVariableValues(flag, r.GetVariation().GetKey(), r.GetVariation().GetVariables(), field+".variation.variables"); err != nil {
			return err
		}
	}
	return nil
}

func checkEveryoneElse(flag *experimentsv1.Flag, r *experimentsv1.EveryoneElseRule) error {
	if r == nil {
		return nil
	}
	if r.GetVariation() == nil {
		return apierr.InvalidArgument("VARIATION_REQUIRED", "the everyone-else rule needs a variation").With("field", "ruleset.everyone_else.variation")
	}
	return checkVariableValues(flag, r.GetVariation().GetKey(), r.GetVariation().GetVariables(), "ruleset.everyone_else.variation.variables")
}
