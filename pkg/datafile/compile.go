package datafile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/liftlabs/lift/pkg/datafile/audience"
	"github.com/liftlabs/lift/pkg/datafile/bucketing"
)

// Engine decides for one datafile revision. It is immutable and safe for
// concurrent use; compile it once per revision, never per request.
type Engine struct {
	// Revision, AccountID and ProjectID are the datafile's, as impression
	// events carry them.
	Revision  string
	AccountID string
	ProjectID string
	// BotFiltering and SendFlagDecisions are the datafile's switches.
	BotFiltering      bool
	SendFlagDecisions bool

	experiments    []*experiment
	experimentKeys []string
	byKey          map[string]*experiment
	flags          []*flag
	flagKeys       []string
	flagsByKey     map[string]*flag
	audiences      map[string]*audience.Node
	attributes     map[string]string // attribute key → id
}

type experiment struct {
	id, key, layerID string
	running          bool
	group            *bucketing.Group
	bucket           bucketing.Experiment
	byID             map[string]*variation
	// variations are byID's in datafile order.
	variations []*variation
	// forced maps a user id to its whitelisted variation (forcedVariations).
	forced   map[string]*variation
	audience *audience.Node
}

type variation struct {
	id, key        string
	featureEnabled bool
	// values are the variation's variable values by variable id.
	values map[string]string
}

type flag struct {
	id, key     string
	experiments []*experiment
	// rollout are the flag's delivery rules in order; the last is
	// "everyone else".
	rollout   []*experiment
	variables []FlagVariable
	defaults  values
	// valuesOf caches, per variation that can decide the flag, its values
	// aligned with variables (defaults when the variation disables the
	// flag), so a decision allocates nothing for variables.
	valuesOf map[*variation]values
	// byVariationKey is the first variation with each key among the
	// flag's experiments then rollout rules, in datafile order: the
	// variations a forced decision may name (go-sdk's flag variations).
	byVariationKey map[string]*variation
}

// values are a flag's variable values for one variation, as text and as
// the SDKs type them.
type values struct {
	text  []string
	typed []any
}

func newValues(vars []FlagVariable, text []string) values {
	v := values{text: text, typed: make([]any, len(text))}
	for i, t := range text {
		v.typed[i] = typedValue(t, vars[i].Type)
	}
	return v
}

// typedValue converts a variable's text to its JSON type as go-sdk does
// (bool, int, float64, a decoded JSON object); a value that does not parse
// stays text.
func typedValue(v, typ string) any {
	switch typ {
	case "boolean":
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
	case "integer":
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	case "double":
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	case "json":
		var m map[string]any
		if err := json.Unmarshal([]byte(v), &m); err == nil {
			return m
		}
	}
	return v
}

// FlagVariable is a flag's variable as the SDKs type it: Type is boolean,
// integer, double, string or json (a string with subType json).
type FlagVariable struct {
	ID, Key, Type string
}

// Load parses and compiles a datafile.
func Load(raw []byte) (*Engine, error) {
	d, err := Parse(raw)
	if err != nil {
		return nil, err
	}
	return Compile(d)
}

// Compile prepares a datafile for deciding. Audience trees are parsed
// leniently, as the SDKs read them.
func Compile(d *Datafile) (*Engine, error) {
	c := &Engine{
		Revision: d.Revision, AccountID: d.AccountID, ProjectID: d.ProjectID,
		BotFiltering: d.BotFiltering, SendFlagDecisions: d.SendFlagDecisions,
		byKey: map[string]*experiment{}, flagsByKey: map[string]*flag{},
		audiences: map[string]*audience.Node{}, attributes: make(map[string]string, len(d.Attributes)),
	}
	for _, a := range d.Attributes {
		c.attributes[a.Key] = a.ID
	}
	if err := c.compileAudiences(d); err != nil {
		return nil, err
	}
	byID := map[string]*experiment{}
	add := func(x *Experiment, g *bucketing.Group) error {
		e, err := compileExperiment(x, g)
		if err != nil {
			return err
		}
		c.experiments = append(c.experiments, e)
		c.experimentKeys = append(c.experimentKeys, e.key)
		c.byKey[e.key] = e
		byID[e.id] = e
		return nil
	}
	for i := range d.Experiments {
		if err := add(&d.Experiments[i], nil); err != nil {
			return nil, err
		}
	}
	for _, g := range d.Groups {
		group := &bucketing.Group{ID: g.ID, Traffic: ranges(g.TrafficAllocation)}
		if g.Policy != "random" {
			// Overlapping groups do not exclude: bucket as if ungrouped.
			group = nil
		}
		for i := range g.Experiments {
			if err := add(&g.Experiments[i], group); err != nil {
				return nil, err
			}
		}
	}
	rollouts := map[string][]*experiment{}
	for _, r := range d.Rollouts {
		rules := make([]*experiment, 0, len(r.Experiments))
		for i := range r.Experiments {
			e, err := compileExperiment(&r.Experiments[i], nil)
			if err != nil {
				return nil, fmt.Errorf("rollout %s: %w", r.ID, err)
			}
			rules = append(rules, e)
		}
		rollouts[r.ID] = rules
	}
	for _, f := range d.FeatureFlags {
		c.addFlag(f, byID, rollouts[f.RolloutID])
	}
	return c, nil
}

func (c *Engine) addFlag(f FeatureFlag, byID map[string]*experiment, rollout []*experiment) {
	fl := &flag{id: f.ID, key: f.Key, rollout: rollout, valuesOf: map[*variation]values{}, byVariationKey: map[string]*variation{}}
	for _, id := range f.ExperimentIDs {
		if e := byID[id]; e != nil {
			fl.experiments = append(fl.experiments, e)
		}
	}
	var defaults []string
	for _, v := range f.Variables {
		t := v.Type
		if t == "string" && v.SubType == "json" {
			t = "json" // how v4 datafiles spell a JSON variable
		}
		fl.variables = append(fl.variables, FlagVariable{ID: v.ID, Key: v.Key, Type: t})
		defaults = append(defaults, v.DefaultValue)
	}
	fl.defaults = newValues(fl.variables, defaults)
	for _, rules := range [][]*experiment{fl.experiments, fl.rollout} {
		for _, e := range rules {
			for _, v := range e.variations {
				if _, seen := fl.byVariationKey[v.key]; !seen {
					fl.byVariationKey[v.key] = v
				}
				if !v.featureEnabled {
					fl.valuesOf[v] = fl.defaults
					continue
				}
				text := make([]string, len(fl.variables))
				for i, fv := range fl.variables {
					value, ok := v.values[fv.ID]
					if !ok {
						value = fl.defaults.text[i]
					}
					text[i] = value
				}
				fl.valuesOf[v] = newValues(fl.variables, text)
			}
		}
	}
	c.flags = append(c.flags, fl)
	c.flagKeys = append(c.flagKeys, fl.key)
	c.flagsByKey[fl.key] = fl
}

// compileAudiences reads typedAudiences first: they take precedence over a
// legacy audience with the same id, as in every SDK.
func (c *Engine) compileAudiences(d *Datafile) error {
	for _, a := range d.TypedAudiences {
		if _, dup := c.audiences[a.ID]; dup {
			continue
		}
		tree, err := audience.ParseConditions(a.Conditions, audience.Lenient)
		if err != nil {
			return fmt.Errorf("typed audience %s: %w", a.ID, err)
		}
		c.audiences[a.ID] = tree
	}
	for _, a := range d.Audiences {
		if _, dup := c.audiences[a.ID]; dup {
			continue
		}
		var s string
		if err := json.Unmarshal(a.Conditions, &s); err != nil {
			return fmt.Errorf("audience %s: conditions are not a JSON string", a.ID)
		}
		tree, err := audience.ParseConditions([]byte(s), audience.Lenient)
		if err != nil {
			return fmt.Errorf("audience %s: %w", a.ID, err)
		}
		c.audiences[a.ID] = tree
	}
	return nil
}

func compileExperiment(x *Experiment, g *bucketing.Group) (*experiment, error) {
	e := &experiment{
		id: x.ID, key: x.Key, layerID: x.LayerID, running: x.Status == "Running", group: g,
		bucket: bucketing.Experiment{ID: x.ID, Traffic: ranges(x.TrafficAllocation)},
		byID:   map[string]*variation{},
	}
	byKey := map[string]*variation{}
	for _, v := range x.Variations {
		vars := make(map[string]string, len(v.Variables))
		for _, vv := range v.Variables {
			vars[vv.ID] = vv.Value
		}
		cv := &variation{id: v.ID, key: v.Key, featureEnabled: v.FeatureEnabled, values: vars}
		e.byID[v.ID] = cv
		e.variations = append(e.variations, cv)
		byKey[v.Key] = cv
	}
	for user, key := range x.ForcedVariations {
		// A whitelist entry naming no variation of the experiment is
		// ignored, as the SDKs ignore it.
		if v := byKey[key]; v != nil {
			if e.forced == nil {
				e.forced = map[string]*variation{}
			}
			e.forced[user] = v
		}
	}
	tree, err := audienceTree(x)
	if err != nil {
		return nil, fmt.Errorf("experiment %s: %w", x.ID, err)
	}
	e.audience = tree
	return e, nil
}

// audienceTree is the experiment's audience condition: audienceConditions
// when present, otherwise its audience ids OR-ed, as the SDKs do; nil
// means everyone.
func audienceTree(x *Experiment) (*audience.Node, error) {
	conds := bytes.TrimSpace(x.AudienceConditions)
	if len(conds) == 0 || bytes.Equal(conds, []byte("null")) {
		if len(x.AudienceIDs) == 0 {
			return nil, nil
		}
		ids := make([]any, 0, len(x.AudienceIDs)+1)
		ids = append(ids, "or")
		for _, id := range x.AudienceIDs {
			ids = append(ids, id)
		}
		return audience.ParseAudienceConditionsValue(ids, audience.Lenient)
	}
	if bytes.Equal(conds, []byte("[]")) {
		return nil, nil
	}
	return audience.ParseAudienceConditions(conds, audience.Lenient)
}

func ranges(ta []TrafficAllocation) []bucketing.Range {
	out := make([]bucketing.Range, len(ta))
	for i, r := range ta {
		out[i] = bucketing.Range{EntityID: r.EntityID, EndOfRange: r.EndOfRange}
	}
	return out
}
