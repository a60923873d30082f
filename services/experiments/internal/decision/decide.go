package decision

import "github.com/liftlabs/lift/services/experiments/internal/bucketing"

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
)

// Decision is one experiment's answer for one user.
type Decision struct {
	ExperimentKey string
	ExperimentID  string
	// VariationKey and VariationID are empty unless Reason is Bucketed.
	VariationKey string
	VariationID  string
	Reason       Reason
}

// FlagDecision is a flag's answer for one user: the first of the flag's
// experiments that buckets the user decides it, as in the SDKs' decide.
type FlagDecision struct {
	FlagKey       string
	Enabled       bool
	ExperimentKey string
	VariationKey  string
	// Variables are the flag's variable values by key: the variation's when
	// it enables the flag, the defaults otherwise.
	Variables map[string]string
}

// ExperimentKeys lists the datafile's experiments in datafile order.
func (c *Decider) ExperimentKeys() []string {
	keys := make([]string, len(c.experiments))
	for i, e := range c.experiments {
		keys[i] = e.key
	}
	return keys
}

// FlagKeys lists the datafile's flags in datafile order.
func (c *Decider) FlagKeys() []string {
	keys := make([]string, len(c.flags))
	for i, f := range c.flags {
		keys[i] = f.key
	}
	return keys
}

// HasFlag reports whether the datafile has a flag with that key.
func (c *Decider) HasFlag(key string) bool { return c.flagsByKey[key] != nil }

// Decide decides one experiment by key for a user.
func (c *Decider) Decide(userID string, attrs map[string]any, experimentKey string) Decision {
	e := c.byKey[experimentKey]
	if e == nil {
		return Decision{ExperimentKey: experimentKey, Reason: NotRunning}
	}
	d, _ := c.decide(e, bucketing.BucketingID(userID, attrs), attrs)
	return d
}

func (c *Decider) decide(e *experiment, bucketingID string, attrs map[string]any) (Decision, *variation) {
	d := Decision{ExperimentKey: e.key, ExperimentID: e.id}
	switch {
	case !e.running:
		d.Reason = NotRunning
		return d, nil
	case !e.audience.Matches(attrs, c.audiences):
		d.Reason = NotInAudience
		return d, nil
	}
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
// such flag.
func (c *Decider) DecideFlag(userID string, attrs map[string]any, flagKey string) (fd FlagDecision, ok bool) {
	f := c.flagsByKey[flagKey]
	if f == nil {
		return FlagDecision{FlagKey: flagKey}, false
	}
	fd = FlagDecision{FlagKey: flagKey, Variables: make(map[string]string, len(f.variables))}
	var chosen *variation
	bid := bucketing.BucketingID(userID, attrs)
	for _, e := range f.experiments {
		if d, v := c.decide(e, bid, attrs); v != nil {
			fd.ExperimentKey, fd.VariationKey, fd.Enabled = d.ExperimentKey, d.VariationKey, v.featureEnabled
			chosen = v
			break
		}
	}
	for _, variable := range f.variables {
		value := variable.DefaultValue
		if chosen != nil && chosen.featureEnabled {
			if v, ok := chosen.variables[variable.ID]; ok {
				value = v
			}
		}
		fd.Variables[variable.Key] = value
	}
	return fd, true
}
