package server_test

import (
	"context"
	"encoding/json"
	"testing"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"github.com/liftlabs/lift/services/experiments/experimentstest"
	"github.com/liftlabs/lift/services/experiments/internal/datafile"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/structpb"
)

const usCondition = `["and", {"type": "custom_attribute", "name": "country", "match": "exact", "value": "US"}]`

func (s *stack) createFlag(t testing.TB, key string) *experimentsv1.Flag {
	t.Helper()
	resp, err := s.c.CreateFlag(s.write, &experimentsv1.CreateFlagRequest{ProjectId: s.project.GetId(), Flag: &experimentsv1.Flag{
		Key: key, Variables: []*experimentsv1.FlagVariable{{Key: "color", Type: experimentsv1.VariableType_VARIABLE_TYPE_STRING, DefaultValue: "blue"}}}})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetFlag()
}

func (s *stack) createAudience(t testing.TB, key, conditions string) *experimentsv1.Audience {
	t.Helper()
	resp, err := s.c.CreateAudience(s.write, &experimentsv1.CreateAudienceRequest{ProjectId: s.project.GetId(),
		Audience: &experimentsv1.Audience{Key: key, Name: key, Conditions: conditions}})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetAudience()
}

func (s *stack) updateRuleset(t testing.TB, flagID, env string, r *experimentsv1.FlagRuleset, paths ...string) *experimentsv1.FlagRuleset {
	t.Helper()
	resp, err := s.c.UpdateFlagRuleset(s.write, &experimentsv1.UpdateFlagRulesetRequest{FlagId: flagID, EnvironmentKey: env, Ruleset: r, UpdateMask: mask(paths...)})
	if err != nil {
		t.Fatalf("update ruleset: %v", err)
	}
	return resp.GetRuleset()
}

func (s *stack) decideFlag(t testing.TB, user, country, flagKey string) *experimentsv1.FlagDecision {
	t.Helper()
	attrs := map[string]*structpb.Value{}
	if country != "" {
		attrs["country"] = structpb.NewStringValue(country)
	}
	resp, err := s.c.Decide(context.Background(), &experimentsv1.DecideRequest{SdkKey: s.envs["production"].GetSdkKey(), UserId: user, Attributes: attrs, FlagKeys: []string{flagKey}})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetFlags()[0]
}

func TestAudiences_CRUDEtagsAndOwnership(t *testing.T) {
	s := newStack(t)
	a := s.createAudience(t, "us", usCondition)
	if a.GetConditions() == usCondition || a.GetEtag() != "1" {
		t.Fatalf("conditions are stored canonically, with an etag: %v", a)
	}
	_, err := s.c.CreateAudience(s.write, &experimentsv1.CreateAudienceRequest{ProjectId: s.project.GetId(),
		Audience: &experimentsv1.Audience{Key: "bad", Conditions: `["and", {"type": "custom_attribute", "name": "x", "match": "nope", "value": 1}]`}})
	if info := wantCode(t, err, codes.InvalidArgument); info.GetReason() != "INVALID_AUDIENCE_CONDITIONS" {
		t.Errorf("reason %v", info)
	}
	up, err := s.c.UpdateAudience(s.write, &experimentsv1.UpdateAudienceRequest{Audience: &experimentsv1.Audience{Id: a.GetId(), Name: "United States", Etag: a.GetEtag()}, UpdateMask: mask("name")})
	if err != nil || up.GetAudience().GetName() != "United States" || up.GetAudience().GetConditions() != a.GetConditions() {
		t.Fatalf("update: %v %v", up, err)
	}
	_, err = s.c.UpdateAudience(s.write, &experimentsv1.UpdateAudienceRequest{Audience: &experimentsv1.Audience{Id: a.GetId(), Name: "stale", Etag: a.GetEtag()}, UpdateMask: mask("name")})
	wantCode(t, err, codes.Aborted)
	list, err := s.c.ListAudiences(s.read, &experimentsv1.ListAudiencesRequest{ProjectId: s.project.GetId()})
	if err != nil || len(list.GetAudiences()) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}

	them := experimentstest.WithToken(context.Background(), s.id.NewAccount(t).AdminToken)
	_, err = s.c.GetAudience(them, &experimentsv1.GetAudienceRequest{AudienceId: a.GetId()})
	if info := wantCode(t, err, codes.NotFound); info.GetReason() != "AUDIENCE_NOT_FOUND" {
		t.Errorf("reason %v", info)
	}
	_, err = s.c.DeleteAudience(them, &experimentsv1.DeleteAudienceRequest{AudienceId: a.GetId()})
	wantCode(t, err, codes.NotFound)

	// In use by a delivery: not deletable; once the rule is gone, it is.
	f := s.createFlag(t, "f")
	s.updateRuleset(t, f.GetId(), "production", &experimentsv1.FlagRuleset{Deliveries: []*experimentsv1.DeliveryRule{{
		Key: "us", AudienceIds: []string{a.GetId()}, Percentage: 10000, Variation: &experimentsv1.DeliveredVariation{Key: "on", FeatureEnabled: true}}}}, "deliveries")
	_, err = s.c.DeleteAudience(s.write, &experimentsv1.DeleteAudienceRequest{AudienceId: a.GetId()})
	if info := wantCode(t, err, codes.FailedPrecondition); info.GetReason() != "STILL_REFERENCED" {
		t.Errorf("reason %v", info)
	}
	s.updateRuleset(t, f.GetId(), "production", &experimentsv1.FlagRuleset{}, "deliveries")
	if _, err := s.c.DeleteAudience(s.write, &experimentsv1.DeleteAudienceRequest{AudienceId: a.GetId()}); err != nil {
		t.Fatal(err)
	}
}

func TestRuleset_DeliveriesToggleAndDatafile(t *testing.T) {
	s := newStack(t)
	f := s.createFlag(t, "checkout")
	us := s.createAudience(t, "us", usCondition)

	def, err := s.c.GetFlagRuleset(s.read, &experimentsv1.GetFlagRulesetRequest{FlagId: f.GetId(), EnvironmentKey: "production"})
	if err != nil {
		t.Fatal(err)
	}
	r := def.GetRuleset()
	if !r.GetEnabled() || len(r.GetDeliveries()) != 0 || r.GetEveryoneElse().GetVariation().GetKey() != "off" || r.GetEveryoneElse().GetPercentage() != 10000 || r.GetEtag() != "0" {
		t.Fatalf("default ruleset %v", r)
	}
	// Never configured: "off" to everyone, from the everyone-else rule.
	if d := s.decideFlag(t, "u1", "US", "checkout"); d.GetEnabled() || d.GetVariationKey() != "off" || d.GetRuleType() != experimentsv1.RuleType_RULE_TYPE_DELIVERY {
		t.Fatalf("default decision %v", d)
	}

	rev := s.datafile(t, "production").GetRevision()
	r = s.updateRuleset(t, f.GetId(), "production", &experimentsv1.FlagRuleset{Etag: r.GetEtag(), Deliveries: []*experimentsv1.DeliveryRule{{
		Key: "us_beta", AudienceIds: []string{us.GetId()}, Percentage: 5000,
		Variation: &experimentsv1.DeliveredVariation{Key: "on", FeatureEnabled: true, Variables: map[string]string{"color": "green"}},
	}}}, "deliveries")
	if r.GetDeliveries()[0].GetId() == "" || r.GetDeliveries()[0].GetVariation().GetId() == "" || r.GetEtag() != "1" {
		t.Fatalf("ids and etag assigned: %v", r)
	}
	df := s.datafile(t, "production")
	if df.GetRevision() == rev {
		t.Fatal("the delivery did not raise the revision")
	}
	d, err := datafile.Parse([]byte(df.GetDatafile()))
	if err != nil {
		t.Fatal(err)
	}
	rules := d.Rollouts[0].Experiments
	if len(rules) != 2 || rules[0].Key != "us_beta" || rules[0].TrafficAllocation[0].EndOfRange != 5000 || rules[1].Key != "default-rollout-"+f.GetId() {
		t.Fatalf("rollout %+v", rules)
	}
	if len(d.TypedAudiences) != 1 || d.TypedAudiences[0].ID != us.GetId() {
		t.Fatalf("audiences %+v", d.TypedAudiences)
	}

	on := 0
	for _, u := range users(400) {
		got := s.decideFlag(t, u, "US", "checkout")
		if got.GetEnabled() {
			on++
			if got.GetRuleKey() != "us_beta" || got.GetVariables()["color"] != "green" || got.GetExperimentKey() != "" {
				t.Fatalf("delivered %v", got)
			}
		}
		if got := s.decideFlag(t, u, "FR", "checkout"); got.GetEnabled() {
			t.Fatalf("outside the audience: %v", got)
		}
	}
	if on < 150 || on > 250 {
		t.Fatalf("%d of 400 US users got a 50%% delivery", on)
	}

	// A stale etag is refused; the kill switch turns everyone off.
	_, err = s.c.UpdateFlagRuleset(s.write, &experimentsv1.UpdateFlagRulesetRequest{FlagId: f.GetId(), EnvironmentKey: "production",
		Ruleset: &experimentsv1.FlagRuleset{Etag: "0"}, UpdateMask: mask("enabled")})
	wantCode(t, err, codes.Aborted)
	rev = s.datafile(t, "production").GetRevision()
	s.updateRuleset(t, f.GetId(), "production", &experimentsv1.FlagRuleset{Enabled: false}, "enabled")
	if s.datafile(t, "production").GetRevision() == rev {
		t.Fatal("the toggle did not raise the revision")
	}
	for _, u := range users(50) {
		if got := s.decideFlag(t, u, "US", "checkout"); got.GetEnabled() || got.GetVariationKey() != "off" {
			t.Fatalf("disabled flag: %v", got)
		}
	}
	// Other environments are untouched.
	dev, _ := datafile.Parse([]byte(s.datafile(t, "development").GetDatafile()))
	if len(dev.Rollouts[0].Experiments) != 1 {
		t.Fatalf("development rollout %+v", dev.Rollouts[0])
	}

	_, err = s.c.UpdateFlagRuleset(s.write, &experimentsv1.UpdateFlagRulesetRequest{FlagId: f.GetId(), EnvironmentKey: "production",
		Ruleset: &experimentsv1.FlagRuleset{Deliveries: []*experimentsv1.DeliveryRule{{Key: "x", AudienceIds: []string{"999999999"}, Variation: &experimentsv1.DeliveredVariation{Key: "on"}}}}, UpdateMask: mask("deliveries")})
	if info := wantCode(t, err, codes.InvalidArgument); info.GetReason() != "UNKNOWN_AUDIENCE" {
		t.Errorf("reason %v", info)
	}
	_, err = s.c.UpdateFlagRuleset(s.write, &experimentsv1.UpdateFlagRulesetRequest{FlagId: f.GetId(), EnvironmentKey: "production",
		Ruleset: &experimentsv1.FlagRuleset{Deliveries: []*experimentsv1.DeliveryRule{{Key: "x", Variation: &experimentsv1.DeliveredVariation{Key: "on", Variables: map[string]string{"size": "1"}}}}}, UpdateMask: mask("deliveries")})
	if info := wantCode(t, err, codes.InvalidArgument); info.GetReason() != "UNKNOWN_VARIABLE" {
		t.Errorf("reason %v", info)
	}
	_, err = s.c.GetFlagRuleset(s.read, &experimentsv1.GetFlagRulesetRequest{FlagId: f.GetId(), EnvironmentKey: "staging"})
	wantCode(t, err, codes.NotFound)
	them := experimentstest.WithToken(context.Background(), s.id.NewAccount(t).AdminToken)
	_, err = s.c.GetFlagRuleset(them, &experimentsv1.GetFlagRulesetRequest{FlagId: f.GetId(), EnvironmentKey: "production"})
	wantCode(t, err, codes.NotFound)
}

func TestRuleset_AllowlistAndKillSwitchCoverExperiments(t *testing.T) {
	s := newStack(t)
	f := s.createFlag(t, "checkout")
	e := s.start(t, s.createExperiment(t, "paint", func(e *experimentsv1.Experiment) {
		e.FlagId = f.GetId()
		e.AudienceConditions = usCondition
	}))
	r := s.updateRuleset(t, f.GetId(), "production", &experimentsv1.FlagRuleset{ExperimentRules: []*experimentsv1.ExperimentRule{{
		ExperimentId: e.GetId(), Allowlist: map[string]string{"qa-anna": "treatment"}}}}, "experiment_rules")
	if len(r.GetExperimentRules()) != 1 || r.GetExperimentRules()[0].GetExperimentKey() != "paint" {
		t.Fatalf("experiment rules %v", r.GetExperimentRules())
	}
	// Allowlisted whatever the audience.
	if d := s.decideFlag(t, "qa-anna", "FR", "checkout"); d.GetVariationKey() != "treatment" || d.GetRuleKey() != "paint" || d.GetRuleType() != experimentsv1.RuleType_RULE_TYPE_AB_TEST {
		t.Fatalf("allowlisted %v", d)
	}
	resp, err := s.c.Decide(context.Background(), &experimentsv1.DecideRequest{SdkKey: s.envs["production"].GetSdkKey(), UserId: "qa-anna", ExperimentKeys: []string{"paint"}})
	if err != nil || resp.GetDecisions()[0].GetReason() != experimentsv1.DecisionReason_DECISION_REASON_ALLOWLISTED {
		t.Fatalf("experiment decision %v %v", resp, err)
	}
	_, err = s.c.UpdateFlagRuleset(s.write, &experimentsv1.UpdateFlagRulesetRequest{FlagId: f.GetId(), EnvironmentKey: "production",
		Ruleset: &experimentsv1.FlagRuleset{ExperimentRules: []*experimentsv1.ExperimentRule{{ExperimentId: e.GetId(), Allowlist: map[string]string{"x": "nope"}}}}, UpdateMask: mask("experiment_rules")})
	if info := wantCode(t, err, codes.InvalidArgument); info.GetReason() != "UNKNOWN_VARIATION" {
		t.Errorf("reason %v", info)
	}

	s.updateRuleset(t, f.GetId(), "production", &experimentsv1.FlagRuleset{Enabled: false}, "enabled")
	for _, u := range append(users(50), "qa-anna") {
		if d := s.decideFlag(t, u, "US", "checkout"); d.GetEnabled() || d.GetVariationKey() != "off" || d.GetExperimentKey() != "" {
			t.Fatalf("killed flag decided by its experiment: %v", d)
		}
	}
	var d datafile.Datafile
	_ = json.Unmarshal([]byte(s.datafile(t, "production").GetDatafile()), &d)
	if len(d.Experiments) != 0 || len(d.FeatureFlags[0].ExperimentIDs) != 0 {
		t.Fatalf("a killed flag's experiment stays in the datafile: %+v", d.Experiments)
	}
}

func TestShipExperiment_ConcludesAndDelivers(t *testing.T) {
	s := newStack(t)
	f := s.createFlag(t, "checkout")
	e := s.start(t, s.createExperiment(t, "paint", func(e *experimentsv1.Experiment) {
		e.FlagId = f.GetId()
		e.Variations[1].Variables = map[string]string{"color": "red"}
	}))
	_, err := s.c.ShipExperiment(s.write, &experimentsv1.ShipExperimentRequest{ExperimentId: e.GetId(), EnvironmentKey: "production", VariationKey: "nope"})
	wantCode(t, err, codes.InvalidArgument)
	_, err = s.c.ShipExperiment(s.write, &experimentsv1.ShipExperimentRequest{ExperimentId: e.GetId(), EnvironmentKey: "production", VariationKey: "treatment", Etag: "999"})
	wantCode(t, err, codes.Aborted)
	resp, err := s.c.ShipExperiment(s.write, &experimentsv1.ShipExperimentRequest{ExperimentId: e.GetId(), EnvironmentKey: "production", VariationKey: "treatment"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetExperiment().GetStatus() != experimentsv1.ExperimentStatus_EXPERIMENT_STATUS_CONCLUDED || resp.GetRuleset().GetDeliveries()[0].GetPercentage() != 10000 {
		t.Fatalf("ship: %v", resp)
	}
	for _, u := range users(50) {
		if d := s.decideFlag(t, u, "", "checkout"); !d.GetEnabled() || d.GetVariationKey() != "treatment" || d.GetVariables()["color"] != "red" || d.GetRuleKey() != "paint" || d.GetRuleType() != experimentsv1.RuleType_RULE_TYPE_DELIVERY {
			t.Fatalf("shipped: %v", d)
		}
	}
	// Concluded: it cannot be shipped again.
	_, err = s.c.ShipExperiment(s.write, &experimentsv1.ShipExperimentRequest{ExperimentId: e.GetId(), EnvironmentKey: "production", VariationKey: "treatment"})
	wantCode(t, err, codes.FailedPrecondition)
}
