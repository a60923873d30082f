package server

import (
	"context"
	"strings"

	"github.com/liftlabs/lift/pkg/apierr"
	"github.com/liftlabs/lift/pkg/auth"
	v4 "github.com/liftlabs/lift/pkg/datafile"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"github.com/liftlabs/lift/services/experiments/internal/delivery"
	"github.com/liftlabs/lift/services/experiments/internal/store"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// GetDatafile returns the datafile of an SDK key's environment, or
// not_modified when the caller's ETag is current. The SDK key is the
// credential, as for Optimizely's CDN.
func (s *Server) GetDatafile(ctx context.Context, req *experimentsv1.GetDatafileRequest) (*experimentsv1.GetDatafileResponse, error) {
	env, err := s.dir.ResolveSDKKey(ctx, req.GetSdkKey())
	if err != nil {
		return nil, err
	}
	e, err := s.datafiles.Get(ctx, env)
	if err != nil {
		return nil, err
	}
	resp := &experimentsv1.GetDatafileResponse{
		Revision:      itoa(e.Revision),
		Etag:          e.ETag,
		LastModified:  timestamppb.New(e.LastModified),
		EnvironmentId: itoa(env.ID),
		ProjectId:     itoa(env.ProjectID),
	}
	if etagMatches(req.GetIfNoneMatch(), e.ETag) {
		resp.NotModified = true
		return resp, nil
	}
	resp.Datafile = e.JSON
	return resp, nil
}

// etagMatches applies If-None-Match: a list of tags, weak comparison, "*".
func etagMatches(header, etag string) bool {
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || (tag != "" && tag == etag) {
			return true
		}
	}
	return false
}

// Decide answers from the environment's compiled datafile, so a decision
// equals what an SDK holding that datafile decides.
func (s *Server) Decide(ctx context.Context, req *experimentsv1.DecideRequest) (*experimentsv1.DecideResponse, error) {
	e, err := s.decider(ctx, req)
	if err != nil {
		return nil, err
	}
	attrs := make(map[string]any, len(req.GetAttributes()))
	for k, v := range req.GetAttributes() {
		attrs[k] = v.AsInterface()
	}
	expKeys, flagKeys := req.GetExperimentKeys(), req.GetFlagKeys()
	if len(expKeys) == 0 && len(flagKeys) == 0 {
		expKeys, flagKeys = e.Engine.ExperimentKeys(), e.Engine.FlagKeys()
	}
	resp := &experimentsv1.DecideResponse{Revision: itoa(e.Revision)}
	for _, key := range flagKeys {
		if !e.Engine.HasFlag(key) {
			return nil, apierr.NotFound("FLAG_NOT_FOUND", "the environment's datafile has no flag %q", key).With("flag_key", key)
		}
	}
	for _, key := range expKeys {
		d := e.Engine.Decide(req.GetUserId(), attrs, key)
		resp.Decisions = append(resp.Decisions, &experimentsv1.ExperimentDecision{
			ExperimentKey: d.ExperimentKey, ExperimentId: d.ExperimentID,
			VariationKey: d.VariationKey, VariationId: d.VariationID, Reason: reasons[d.Reason],
		})
	}
	for _, key := range flagKeys {
		fd, _ := e.Engine.DecideFlag(req.GetUserId(), attrs, key)
		experimentKey := "" // a delivery is no experiment
		if fd.RuleType == v4.RuleFeatureTest {
			experimentKey = fd.ExperimentKey()
		}
		vars := make(map[string]string, len(fd.Variables))
		for i, v := range fd.Variables {
			vars[v.Key] = fd.Values[i]
		}
		resp.Flags = append(resp.Flags, &experimentsv1.FlagDecision{
			FlagKey: fd.FlagKey, Enabled: fd.Enabled, ExperimentKey: experimentKey,
			VariationKey: fd.VariationKey(), Variables: vars,
			RuleKey: fd.ExperimentKey(), RuleType: ruleTypes[fd.RuleType],
		})
	}
	return resp, nil
}

// decider finds the environment: by SDK key (no token needed), or by
// project and environment key for a caller with the read scope.
func (s *Server) decider(ctx context.Context, req *experimentsv1.DecideRequest) (*delivery.Entry, error) {
	if req.GetSdkKey() != "" {
		env, err := s.dir.ResolveSDKKey(ctx, req.GetSdkKey())
		if err != nil {
			return nil, err
		}
		return s.datafiles.Get(ctx, env)
	}
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	if !p.HasScope(identityv1.Scope_SCOPE_READ) {
		return nil, apierr.PermissionDenied("INSUFFICIENT_SCOPE", "Decide by project needs a token with the read scope")
	}
	projectID, err := store.ParseID(req.GetProjectId(), "PROJECT_NOT_FOUND")
	if err != nil {
		return nil, err
	}
	if err := s.dir.CheckProject(ctx, projectID, "PROJECT_NOT_FOUND"); err != nil {
		return nil, err
	}
	env, err := s.dir.Environment(ctx, projectID, req.GetEnvironmentKey())
	if err != nil {
		return nil, err
	}
	return s.datafiles.Get(ctx, env)
}

var reasons = map[v4.Reason]experimentsv1.DecisionReason{
	v4.Bucketed:      experimentsv1.DecisionReason_DECISION_REASON_BUCKETED,
	v4.Forced:        experimentsv1.DecisionReason_DECISION_REASON_ALLOWLISTED,
	v4.NotRunning:    experimentsv1.DecisionReason_DECISION_REASON_NOT_RUNNING,
	v4.NotInAudience: experimentsv1.DecisionReason_DECISION_REASON_NOT_IN_AUDIENCE,
	v4.NotInLayer:    experimentsv1.DecisionReason_DECISION_REASON_NOT_IN_LAYER,
	v4.NotInTraffic:  experimentsv1.DecisionReason_DECISION_REASON_NOT_IN_TRAFFIC,
}

var ruleTypes = map[string]experimentsv1.RuleType{
	"":                 experimentsv1.RuleType_RULE_TYPE_UNSPECIFIED,
	v4.RuleFeatureTest: experimentsv1.RuleType_RULE_TYPE_AB_TEST,
	v4.RuleRollout:     experimentsv1.RuleType_RULE_TYPE_DELIVERY,
}

func itoa(n int64) string { return store.FormatID(n) }
