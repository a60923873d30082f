package datafile

import "github.com/liftlabs/lift/pkg/datafile/bucketing"

// Reason says why a user got, or did not get, a variation.
type Reason int

const (
	// Bucketed: the user is in the variation.
	Bucketed Reason = iota + 1
	// NotRunning: no running experiment with that key in the datafile.
	NotRunning
	// NotInAudience: the user's attributes do not match the audience
	// (an unknown result counts as no match).
	NotInAudience
	// NotInLayer: the user's layer bucket belongs to another experiment.
	NotInLayer
	// NotInTraffic: the user falls outside the experiment's traffic
	// allocation.
	NotInTraffic
	// Forced: the experiment's forcedVariations (whitelist) name the user.
	Forced
	// ForcedByRequest: a ForcedDecision of the request names the variation.
	ForcedByRequest
)

// Rule types of a flag decision, as impression events and Agent name them.
const (
	RuleFeatureTest = "feature-test"
	RuleRollout     = "rollout"
)

// Decision is one experiment's answer for one user.
type Decision struct {
	ExperimentKey string
	ExperimentID  string
	// LayerID is the experiment's layerId: impressions carry it as the
	// campaign id.
	LayerID string
	// VariationKey and VariationID are empty unless Reason is Bucketed,
	// Forced or ForcedByRequest.
	VariationKey string
	VariationID  string
	Reason       Reason
}

// InVariation reports whether the decision put the user in a variation.
func (d Decision) InVariation() bool { return d.VariationID != "" }

// FlagDecision is a flag's answer for one user, as the SDKs' decide gives
// it: the first of the flag's experiments that puts the user in a
// variation, else the first rollout rule that does.
type FlagDecision struct {
	FlagKey string
	Enabled bool
	// RuleType is RuleFeatureTest, RuleRollout, or "" when no rule
	// decided (a flag-level forced decision included: Rule then has only
	// the variation). The rule's experiment and variation are in Rule.
	RuleType string
	Rule     Decision
	// Reasons say which forced decisions were found or ignored; nil
	// without forced decisions.
	Reasons []string
	// Variables are the flag's variables and Values their values for this
	// user, index for index: the variation's when it enables the flag, the
	// defaults otherwise; Typed are the same values as the SDKs type them
	// (bool, int, float64, string, map[string]any for json). All three are
	// shared and must not be modified.
	Variables []FlagVariable
	Values    []string
	Typed     []any
}

func (fd *FlagDecision) setValues(v values) { fd.Values, fd.Typed = v.text, v.typed }

// ExperimentKey is the key of the rule that decided (Agent's ruleKey).
func (fd *FlagDecision) ExperimentKey() string { return fd.Rule.ExperimentKey }

// VariationKey is the variation the user got, or "".
func (fd *FlagDecision) VariationKey() string { return fd.Rule.VariationKey }

// Value is the value of the variable named key, and whether the flag has it.
func (fd *FlagDecision) Value(key string) (string, bool) {
	for i, v := range fd.Variables {
		if v.Key == key {
			return fd.Values[i], true
		}
	}
	return "", false
}

// ExperimentKeys lists the datafile's experiments in datafile order. The
// slice is shared: do not modify it.
func (c *Engine) ExperimentKeys() []string { return c.experimentKeys }

// FlagKeys lists the datafile's flags in datafile order. The slice is
// shared: do not modify it.
func (c *Engine) FlagKeys() []string { return c.flagKeys }

// HasFlag reports whether the datafile has a flag with that key.
func (c *Engine) HasFlag(key string) bool { return c.flagsByKey[key] != nil }

// FlagExperimentKeys lists the experiments that may decide a flag, in the
// order they are tried.
func (c *Engine) FlagExperimentKeys(flagKey string) []string {
	f := c.flagsByKey[flagKey]
	if f == nil {
		return nil
	}
	keys := make([]string, len(f.experiments))
	for i, e := range f.experiments {
		keys[i] = e.key
	}
	return keys
}

// AttributeID is the id of the datafile attribute with that key.
func (c *Engine) AttributeID(key string) (string, bool) {
	id, ok := c.attributes[key]
	return id, ok
}

// Decide decides one experiment by key for a user.
func (c *Engine) Decide(userID string, attrs map[string]any, experimentKey string) Decision {
	e := c.byKey[experimentKey]
	if e == nil {
		return Decision{ExperimentKey: experimentKey, Reason: NotRunning}
	}
	d, _ := c.decide(e, userID, bucketing.BucketingID(userID, attrs), attrs)
	return d
}

// decide is the SDKs' experiment decision: whitelist, status, audience,
// exclusion group, traffic allocation.
func (c *Engine) decide(e *experiment, userID, bucketingID string, attrs map[string]any) (Decision, *variation) {
	d := Decision{ExperimentKey: e.key, ExperimentID: e.id, LayerID: e.layerID}
	if v := e.forced[userID]; v != nil {
		d.VariationKey, d.VariationID, d.Reason = v.key, v.id, Forced
		return d, v
	}
	switch {
	case !e.running:
		d.Reason = NotRunning
		return d, nil
	case !e.audience.Matches(attrs, c.audiences):
		d.Reason = NotInAudience
		return d, nil
	}
	return c.bucket(d, e, bucketingID)
}

func (c *Engine) bucket(d Decision, e *experiment, bucketingID string) (Decision, *variation) {
	id, outcome := bucketing.Decide(bucketingID, &e.bucket, e.group)
	switch outcome {
	case bucketing.NotInGroupSlot:
		d.Reason = NotInLayer
		return d, nil
	case bucketing.NotInTraffic:
		d.Reason = NotInTraffic
		return d, nil
	}
	v := e.byID[id]
	if v == nil {
		// A range naming a variation the experiment lacks: the SDKs give
		// no variation.
		d.Reason = NotInTraffic
		return d, nil
	}
	d.VariationKey, d.VariationID, d.Reason = v.key, v.id, Bucketed
	return d, v
}

// DecideFlag decides a flag by key; ok is false when the datafile has no
// such flag. It allocates nothing.
func (c *Engine) DecideFlag(userID string, attrs map[string]any, flagKey string) (fd FlagDecision, ok bool) {
	return c.DecideFlagForced(userID, attrs, flagKey, nil)
}

// DecideFlagForced is DecideFlag with the request's forced decisions
// (see ForcedDecision and IndexForced), evaluated where go-sdk evaluates
// them.
func (c *Engine) DecideFlagForced(userID string, attrs map[string]any, flagKey string, forced ForcedDecisions) (fd FlagDecision, ok bool) {
	f := c.flagsByKey[flagKey]
	if f == nil {
		return FlagDecision{FlagKey: flagKey}, false
	}
	fd = FlagDecision{FlagKey: flagKey, Variables: f.variables}
	fd.setValues(f.defaults)
	if len(forced) > 0 {
		if v := f.forcedVariation(&fd, forced, userID, ""); v != nil {
			fd.Rule, fd.Enabled = Decision{VariationKey: v.key, VariationID: v.id, Reason: ForcedByRequest}, v.featureEnabled
			fd.setValues(f.valuesOf[v])
			return fd, true
		}
	}
	bid := bucketing.BucketingID(userID, attrs)
	for _, e := range f.experiments {
		d, v := c.forcedRule(&fd, f, e, forced, userID)
		if v == nil {
			d, v = c.decide(e, userID, bid, attrs)
		}
		if v != nil {
			fd.RuleType, fd.Rule, fd.Enabled = RuleFeatureTest, d, v.featureEnabled
			fd.setValues(f.valuesOf[v])
			return fd, true
		}
	}
	if d, v := c.rollout(&fd, f, forced, userID, bid, attrs); v != nil {
		fd.RuleType, fd.Rule, fd.Enabled = RuleRollout, d, v.featureEnabled
		fd.setValues(f.valuesOf[v])
	}
	return fd, true
}

// forcedRule is the rule's decision when a forced decision names it and a
// variation of the flag.
func (c *Engine) forcedRule(fd *FlagDecision, f *flag, e *experiment, forced ForcedDecisions, userID string) (Decision, *variation) {
	if len(forced) == 0 {
		return Decision{}, nil
	}
	v := f.forcedVariation(fd, forced, userID, e.key)
	if v == nil {
		return Decision{}, nil
	}
	return Decision{
		ExperimentKey: e.key, ExperimentID: e.id, LayerID: e.layerID,
		VariationKey: v.key, VariationID: v.id, Reason: ForcedByRequest,
	}, v
}

// rollout is the SDKs' rollout decision: the targeted rules in order, a
// user outside a rule's audience trying the next, a user in its audience
// but outside its traffic going straight to the last rule ("everyone
// else"). Rollout rules have no status and no whitelist; a forced
// decision on a rule decides it before its audience and traffic.
func (c *Engine) rollout(fd *FlagDecision, f *flag, forced ForcedDecisions, userID, bucketingID string, attrs map[string]any) (Decision, *variation) {
	n := len(f.rollout)
	if n == 0 {
		return Decision{}, nil
	}
	for _, e := range f.rollout[:n-1] {
		if d, v := c.forcedRule(fd, f, e, forced, userID); v != nil {
			return d, v
		}
		if !e.audience.Matches(attrs, c.audiences) {
			continue
		}
		d, v := c.bucket(Decision{ExperimentKey: e.key, ExperimentID: e.id, LayerID: e.layerID}, e, bucketingID)
		if v != nil {
			return d, v
		}
		break
	}
	e := f.rollout[n-1]
	if d, v := c.forcedRule(fd, f, e, forced, userID); v != nil {
		return d, v
	}
	if !e.audience.Matches(attrs, c.audiences) {
		return Decision{}, nil
	}
	return c.bucket(Decision{ExperimentKey: e.key, ExperimentID: e.id, LayerID: e.layerID}, e, bucketingID)
}
