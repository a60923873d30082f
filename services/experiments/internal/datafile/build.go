package datafile

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/liftlabs/lift/pkg/datafile/bucketing"
)

// statusRunning is the only experiment status Lift emits: anything else is
// left out of the datafile (go-sdk v2.3.1 does not read the status at all).
const statusRunning = "Running"

// emptyList is audienceConditions for "everyone".
var emptyList = json.RawMessage(`[]`)

// Build turns an Input into the datafile. It fails on inconsistent input
// (dangling references, weights not summing to 10000, overlapping layer
// ranges), which the store's constraints and the API's validation rule out.
func Build(in *Input) (*Datafile, error) {
	d := &Datafile{
		Version:           Version,
		AccountID:         in.AccountID,
		ProjectID:         in.ProjectID,
		Revision:          strconv.FormatInt(in.Revision, 10),
		SDKKey:            in.SDKKey,
		EnvironmentKey:    in.EnvironmentKey,
		AnonymizeIP:       in.AnonymizeIP,
		BotFiltering:      in.BotFiltering,
		SendFlagDecisions: true,
		Attributes:        []Attribute{},
		Audiences:         []Audience{},
		TypedAudiences:    []Audience{},
		Events:            []Event{},
		Experiments:       []Experiment{},
		Groups:            []Group{},
		FeatureFlags:      []FeatureFlag{},
		Rollouts:          []Rollout{},
		Integrations:      []Integration{},
		Variables:         []string{},
	}
	b := builder{in: in, d: d, flags: map[string]*FlagSpec{}, layers: map[string]*LayerSpec{}, events: map[string]bool{}}
	if err := b.index(); err != nil {
		return nil, err
	}
	running := make([]*ExperimentSpec, 0, len(in.Experiments))
	for i := range in.Experiments {
		// A disabled flag takes its experiments out with it: its kill
		// switch covers experiments too.
		if f := b.flags[in.Experiments[i].FlagID]; f != nil && f.Disabled {
			continue
		}
		if in.Experiments[i].Running {
			running = append(running, &in.Experiments[i])
		}
	}
	slices.SortFunc(running, func(a, b *ExperimentSpec) int { return compareIDs(a.ID, b.ID) })

	groups := map[string]*Group{}
	for _, e := range running {
		x, err := b.experiment(e)
		if err != nil {
			return nil, err
		}
		if e.LayerID == "" {
			d.Experiments = append(d.Experiments, x)
			continue
		}
		g := groups[e.LayerID]
		if g == nil {
			g = &Group{ID: e.LayerID, Policy: "random"}
			groups[e.LayerID] = g
		}
		g.Experiments = append(g.Experiments, x)
	}
	if err := b.groups(running, groups); err != nil {
		return nil, err
	}
	if err := b.flagsAndRollouts(running); err != nil {
		return nil, err
	}
	b.writeEvents(running)
	if err := b.audiences(); err != nil {
		return nil, err
	}
	for _, a := range sortedByID(in.Attributes, func(a Attribute) string { return a.ID }) {
		d.Attributes = append(d.Attributes, a)
	}
	return d, nil
}

// ContentHash identifies the datafile's content apart from its revision:
// equal hashes mean an SDK would behave identically.
func ContentHash(in *Input) (string, error) {
	copied := *in
	copied.Revision = 0
	d, err := Build(&copied)
	if err != nil {
		return "", err
	}
	raw, err := d.Marshal()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:]), nil
}

type builder struct {
	in     *Input
	d      *Datafile
	flags  map[string]*FlagSpec
	layers map[string]*LayerSpec
	events map[string]bool
	// audienceIDs are the reusable audiences rules may name.
	audienceIDs map[string]bool
}

func (b *builder) index() error {
	keys := map[string]bool{}
	for i := range b.in.Flags {
		f := &b.in.Flags[i]
		if b.flags[f.ID] != nil || keys[f.Key] {
			return fmt.Errorf("flag %s (%q): duplicate id or key", f.ID, f.Key)
		}
		b.flags[f.ID], keys[f.Key] = f, true
	}
	for i := range b.in.Layers {
		b.layers[b.in.Layers[i].ID] = &b.in.Layers[i]
	}
	for _, e := range b.in.Events {
		b.events[e.ID] = true
	}
	b.audienceIDs = map[string]bool{}
	for _, a := range b.in.Audiences {
		b.audienceIDs[a.ID] = true
	}
	return nil
}

func (b *builder) experiment(e *ExperimentSpec) (Experiment, error) {
	x := Experiment{
		ID: e.ID, Key: e.Key, Status: statusRunning,
		// Each experiment is its own campaign: impression events carry
		// layerId as campaign_id.
		LayerID:            e.ID,
		AudienceIDs:        []string{},
		AudienceConditions: emptyList,
		ForcedVariations:   map[string]string{},
		TrafficAllocation:  []TrafficAllocation{},
		Variations:         []Variation{},
	}
	if e.Traffic < 0 || e.Traffic > bucketing.MaxBuckets {
		return x, fmt.Errorf("experiment %s: traffic %d outside 0..10000", e.ID, e.Traffic)
	}
	var flag *FlagSpec
	if e.FlagID != "" {
		if flag = b.flags[e.FlagID]; flag == nil {
			return x, fmt.Errorf("experiment %s: unknown flag %s", e.ID, e.FlagID)
		}
	}
	sum := 0
	for _, v := range e.Variations {
		if v.Weight < 0 {
			return x, fmt.Errorf("experiment %s: negative weight", e.ID)
		}
		sum += v.Weight
		// Cumulative ends scaled by the traffic share: monotone, and the
		// last one is exactly the traffic allocation.
		x.TrafficAllocation = append(x.TrafficAllocation, TrafficAllocation{
			EntityID: v.ID, EndOfRange: sum * e.Traffic / bucketing.MaxBuckets,
		})
		vv, err := variationVariables(flag, v)
		if err != nil {
			return x, fmt.Errorf("experiment %s: %w", e.ID, err)
		}
		x.Variations = append(x.Variations, Variation{ID: v.ID, Key: v.Key, FeatureEnabled: v.FeatureEnabled, Variables: vv})
	}
	if sum != bucketing.MaxBuckets {
		return x, fmt.Errorf("experiment %s: weights sum to %d, not 10000", e.ID, sum)
	}
	if e.Conditions != nil {
		tree, err := e.Conditions.MarshalJSON()
		if err != nil {
			return x, err
		}
		b.addAudience(e.AudienceID, e.Key+" audience", tree)
		x.AudienceIDs = []string{e.AudienceID}
		x.AudienceConditions, _ = json.Marshal([]string{"or", e.AudienceID})
	}
	for user, key := range e.Allowlist {
		for _, v := range e.Variations {
			if v.Key == key {
				x.ForcedVariations[user] = key
			}
		}
	}
	return x, nil
}

// addAudience lists an audience in typedAudiences (the tree) and in
// audiences (the same tree as a string, the form older SDKs read).
func (b *builder) addAudience(id, name string, tree json.RawMessage) {
	legacy, _ := json.Marshal(string(tree))
	b.d.TypedAudiences = append(b.d.TypedAudiences, Audience{ID: id, Name: name, Conditions: tree})
	b.d.Audiences = append(b.d.Audiences, Audience{ID: id, Name: name, Conditions: legacy})
}

// audiences lists the project's reusable audiences after the experiments'
// own ones.
func (b *builder) audiences() error {
	for _, a := range sortedByID(b.in.Audiences, func(a AudienceSpec) string { return a.ID }) {
		if a.Conditions == nil {
			return fmt.Errorf("audience %s: no conditions", a.ID)
		}
		tree, err := a.Conditions.MarshalJSON()
		if err != nil {
			return err
		}
		b.addAudience(a.ID, a.Name, tree)
	}
	return nil
}

// variationVariables lists every variable of the flag with the variation's
// value or the default, so a variation is self-contained.
func variationVariables(flag *FlagSpec, v VariationSpec) ([]VariationVariable, error) {
	out := []VariationVariable{}
	if flag == nil {
		if len(v.Variables) > 0 {
			return nil, fmt.Errorf("variation %s sets variables but the experiment has no flag", v.Key)
		}
		return out, nil
	}
	known := 0
	for _, fv := range flag.Variables {
		value, ok := v.Variables[fv.Key]
		if ok {
			known++
		} else {
			value = fv.Default
		}
		out = append(out, VariationVariable{ID: fv.ID, Value: value})
	}
	if known != len(v.Variables) {
		return nil, fmt.Errorf("variation %s sets a variable flag %s does not have", v.Key, flag.Key)
	}
	return out, nil
}

// groups writes each layer's traffic allocation: every running experiment's
// range, gaps (free buckets and non-running experiments) as "".
func (b *builder) groups(running []*ExperimentSpec, groups map[string]*Group) error {
	byLayer := map[string][]*ExperimentSpec{}
	for _, e := range running {
		if e.LayerID != "" {
			if b.layers[e.LayerID] == nil {
				return fmt.Errorf("experiment %s: unknown layer %s", e.ID, e.LayerID)
			}
			byLayer[e.LayerID] = append(byLayer[e.LayerID], e)
		}
	}
	ids := make([]string, 0, len(groups))
	for id := range groups {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, compareIDs)
	for _, id := range ids {
		g := groups[id]
		exps := byLayer[id]
		slices.SortFunc(exps, func(a, b *ExperimentSpec) int { return cmp.Compare(a.LayerStart, b.LayerStart) })
		end := 0
		g.TrafficAllocation = []TrafficAllocation{}
		for _, e := range exps {
			if e.LayerStart < end || e.LayerEnd < e.LayerStart || e.LayerEnd > bucketing.MaxBuckets {
				return fmt.Errorf("layer %s: range [%d,%d) of experiment %s overlaps or is out of bounds", id, e.LayerStart, e.LayerEnd, e.ID)
			}
			if e.LayerStart > end {
				g.TrafficAllocation = append(g.TrafficAllocation, TrafficAllocation{EntityID: "", EndOfRange: e.LayerStart})
			}
			g.TrafficAllocation = append(g.TrafficAllocation, TrafficAllocation{EntityID: e.ID, EndOfRange: e.LayerEnd})
			end = e.LayerEnd
		}
		b.d.Groups = append(b.d.Groups, *g)
	}
	return nil
}

func (b *builder) flagsAndRollouts(running []*ExperimentSpec) error {
	for _, f := range sortedByID(b.in.Flags, func(f FlagSpec) string { return f.ID }) {
		ff := FeatureFlag{ID: f.ID, Key: f.Key, RolloutID: f.RolloutID, ExperimentIDs: []string{}, Variables: []Variable{}}
		// Experiments decide a flag in id (creation) order: the first that
		// buckets the user wins.
		for _, e := range running {
			if e.FlagID == f.ID {
				ff.ExperimentIDs = append(ff.ExperimentIDs, e.ID)
			}
		}
		for _, v := range f.Variables {
			ff.Variables = append(ff.Variables, datafileVariable(v))
		}
		b.d.FeatureFlags = append(b.d.FeatureFlags, ff)
		if f.RolloutID == "" {
			continue
		}
		rules, err := b.rolloutRules(&f)
		if err != nil {
			return fmt.Errorf("flag %s: %w", f.ID, err)
		}
		b.d.Rollouts = append(b.d.Rollouts, Rollout{ID: f.RolloutID, Experiments: rules})
	}
	return nil
}

// rolloutRules writes a flag's deliveries as Optimizely does: each rule an
// experiment with one variation at its percentage, the everyone-else rule
// last. A disabled flag keeps only the everyone-else rule, serving "off"
// to everyone.
func (b *builder) rolloutRules(f *FlagSpec) ([]Experiment, error) {
	rules := []Experiment{}
	if f.EveryoneElseID == "" {
		return rules, nil
	}
	if !f.Disabled {
		for i := range f.Deliveries {
			r, err := b.rolloutRule(f, &f.Deliveries[i])
			if err != nil {
				return nil, err
			}
			rules = append(rules, r)
		}
	}
	last := DeliverySpec{Percentage: bucketing.MaxBuckets, Variation: VariationSpec{ID: f.OffVariationID, Key: OffVariationKey}}
	if f.EveryoneElse != nil && !f.Disabled {
		last = *f.EveryoneElse
		last.AudienceIDs = nil
	}
	last.ID, last.Key = f.EveryoneElseID, EveryoneElseKey(f.ID)
	r, err := b.rolloutRule(f, &last)
	if err != nil {
		return nil, err
	}
	return append(rules, r), nil
}

func (b *builder) rolloutRule(f *FlagSpec, r *DeliverySpec) (Experiment, error) {
	x := Experiment{
		ID: r.ID, Key: r.Key, Status: statusRunning, LayerID: r.ID,
		AudienceIDs: []string{}, AudienceConditions: emptyList, ForcedVariations: map[string]string{},
	}
	if r.Percentage < 0 || r.Percentage > bucketing.MaxBuckets {
		return x, fmt.Errorf("rule %s: percentage %d outside 0..10000", r.Key, r.Percentage)
	}
	// A delivered value of a variable the flag no longer has is dropped:
	// flag updates do not have to look into every environment's rules.
	v := r.Variation
	v.Variables = maps.Clone(v.Variables)
	maps.DeleteFunc(v.Variables, func(key, _ string) bool {
		return !slices.ContainsFunc(f.Variables, func(fv FlagVariable) bool { return fv.Key == key })
	})
	vv, err := variationVariables(f, v)
	if err != nil {
		return x, fmt.Errorf("rule %s: %w", r.Key, err)
	}
	x.Variations = []Variation{{ID: v.ID, Key: v.Key, FeatureEnabled: v.FeatureEnabled, Variables: vv}}
	x.TrafficAllocation = []TrafficAllocation{{EntityID: v.ID, EndOfRange: r.Percentage}}
	for _, id := range r.AudienceIDs {
		if !b.audienceIDs[id] {
			return x, fmt.Errorf("rule %s: unknown audience %s", r.Key, id)
		}
	}
	if len(r.AudienceIDs) > 0 {
		x.AudienceIDs = slices.Clone(r.AudienceIDs)
		x.AudienceConditions, _ = json.Marshal(append([]string{"or"}, r.AudienceIDs...))
	}
	return x, nil
}

// datafileVariable writes a variable as the datafile types it: JSON
// variables are strings with subType "json".
func datafileVariable(v FlagVariable) Variable {
	out := Variable{ID: v.ID, Key: v.Key, Type: v.Type, DefaultValue: v.Default}
	if v.Type == TypeJSON {
		out.Type, out.SubType = TypeString, TypeJSON
	}
	return out
}

func (b *builder) writeEvents(running []*ExperimentSpec) {
	for _, e := range sortedByID(b.in.Events, func(e EventSpec) string { return e.ID }) {
		ev := Event{ID: e.ID, Key: e.Key, ExperimentIDs: []string{}}
		for _, x := range running {
			if slices.Contains(x.MetricEventIDs, e.ID) {
				ev.ExperimentIDs = append(ev.ExperimentIDs, x.ID)
			}
		}
		b.d.Events = append(b.d.Events, ev)
	}
}

// compareIDs orders numeric-string ids numerically (shorter is smaller).
func compareIDs(a, b string) int {
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return cmp.Compare(a, b)
}

func sortedByID[T any](items []T, id func(T) string) []T {
	out := slices.Clone(items)
	slices.SortStableFunc(out, func(a, b T) int { return compareIDs(id(a), id(b)) })
	return out
}
