// Package decision answers Decide from a compiled datafile: the same
// document the SDKs download, evaluated the way they evaluate it (audience,
// then exclusion group, then traffic allocation).
package decision

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/liftlabs/lift/services/experiments/internal/audience"
	"github.com/liftlabs/lift/services/experiments/internal/bucketing"
	"github.com/liftlabs/lift/services/experiments/internal/datafile"
)

// Decider decides for one datafile. It is immutable and safe for
// concurrent use.
type Decider struct {
	experiments []*experiment
	byKey       map[string]*experiment
	flags       []*flag
	flagsByKey  map[string]*flag
	audiences   map[string]*audience.Node
}

type experiment struct {
	id, key  string
	running  bool
	group    *bucketing.Group
	bucket   bucketing.Experiment
	byID     map[string]*variation
	audience *audience.Node
}

type variation struct {
	id, key        string
	featureEnabled bool
	// variables: variable id → value.
	variables map[string]string
}

type flag struct {
	id, key     string
	experiments []*experiment
	variables   []datafile.Variable
}

// Compile prepares a datafile for deciding. Audience trees are parsed
// leniently, as the SDKs read them.
func Compile(d *datafile.Datafile) (*Decider, error) {
	c := &Decider{byKey: map[string]*experiment{}, flagsByKey: map[string]*flag{}, audiences: map[string]*audience.Node{}}
	if err := c.compileAudiences(d); err != nil {
		return nil, err
	}
	byID := map[string]*experiment{}
	add := func(x datafile.Experiment, g *bucketing.Group) error {
		e, err := compileExperiment(x, g)
		if err != nil {
			return err
		}
		c.experiments = append(c.experiments, e)
		c.byKey[e.key] = e
		byID[e.id] = e
		return nil
	}
	for _, x := range d.Experiments {
		if err := add(x, nil); err != nil {
			return nil, err
		}
	}
	for _, g := range d.Groups {
		group := &bucketing.Group{ID: g.ID, Traffic: ranges(g.TrafficAllocation)}
		if g.Policy != "random" {
			// Overlapping groups do not exclude: bucket as if ungrouped.
			group = nil
		}
		for _, x := range g.Experiments {
			if err := add(x, group); err != nil {
				return nil, err
			}
		}
	}
	for _, f := range d.FeatureFlags {
		fl := &flag{id: f.ID, key: f.Key, variables: f.Variables}
		for _, id := range f.ExperimentIDs {
			if e := byID[id]; e != nil {
				fl.experiments = append(fl.experiments, e)
			}
		}
		c.flags = append(c.flags, fl)
		c.flagsByKey[fl.key] = fl
	}
	return c, nil
}

// compileAudiences reads typedAudiences first: they take precedence over a
// legacy audience with the same id, as in every SDK.
func (c *Decider) compileAudiences(d *datafile.Datafile) error {
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

func compileExperiment(x datafile.Experiment, g *bucketing.Group) (*experiment, error) {
	e := &experiment{
		id: x.ID, key: x.Key, running: x.Status == "Running", group: g,
		bucket: bucketing.Experiment{ID: x.ID, Traffic: ranges(x.TrafficAllocation)},
		byID:   map[string]*variation{},
	}
	for _, v := range x.Variations {
		vars := make(map[string]string, len(v.Variables))
		for _, vv := range v.Variables {
			vars[vv.ID] = vv.Value
		}
		e.byID[v.ID] = &variation{id: v.ID, key: v.Key, featureEnabled: v.FeatureEnabled, variables: vars}
	}
	// audienceConditions wins when present; otherwise the audience ids are
	// OR-ed, as the SDKs do.
	conds := bytes.TrimSpace(x.AudienceConditions)
	if len(conds) == 0 || bytes.Equal(conds, []byte("null")) {
		ids := make([]any, 0, len(x.AudienceIDs)+1)
		ids = append(ids, "or")
		for _, id := range x.AudienceIDs {
			ids = append(ids, id)
		}
		if len(x.AudienceIDs) == 0 {
			return e, nil
		}
		tree, err := audience.ParseAudienceConditionsValue(ids, audience.Lenient)
		if err != nil {
			return nil, fmt.Errorf("experiment %s: %w", x.ID, err)
		}
		e.audience = tree
		return e, nil
	}
	if bytes.Equal(conds, []byte("[]")) {
		return e, nil
	}
	tree, err := audience.ParseAudienceConditions(conds, audience.Lenient)
	if err != nil {
		return nil, fmt.Errorf("experiment %s: %w", x.ID, err)
	}
	e.audience = tree
	return e, nil
}

func ranges(ta []datafile.TrafficAllocation) []bucketing.Range {
	out := make([]bucketing.Range, len(ta))
	for i, r := range ta {
		out[i] = bucketing.Range{EntityID: r.EntityID, EndOfRange: r.EndOfRange}
	}
	return out
}
