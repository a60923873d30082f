package store

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/liftlabs/lift/pkg/datafile/audience"
	"github.com/liftlabs/lift/services/experiments/internal/datafile"
)

// Only running experiments can reach a datafile, so only they are loaded.
const configExperimentsSQL = `
SELECT e.id, e.key, e.flag_id, e.layer_id, e.layer_start, e.layer_end, e.traffic_allocation,
	e.audience_conditions, e.audience_id, e.environment_keys,
	COALESCE((SELECT json_agg(json_build_object('id', v.id, 'key', v.key, 'weight', v.weight,
		'feature_enabled', v.feature_enabled, 'variables', v.variables) ORDER BY v.position)
		FROM variations v WHERE v.experiment_id = e.id), '[]'),
	ARRAY(SELECT m.event_id FROM experiment_metrics m WHERE m.experiment_id = e.id ORDER BY m.position)
FROM experiments e WHERE e.project_id = $1 AND e.status = 2 ORDER BY e.id`

const configFlagsSQL = `
SELECT f.id, f.key, f.rollout_id, f.everyone_else_id, f.off_variation_id,
	COALESCE((SELECT json_agg(json_build_object('id', v.id, 'key', v.key, 'type', v.type, 'default_value', v.default_value)
		ORDER BY v.position) FROM flag_variables v WHERE v.flag_id = f.id), '[]')
FROM flags f WHERE f.project_id = $1 ORDER BY f.id`

const configLayersSQL = `SELECT id, key FROM layers WHERE project_id = $1 ORDER BY id`

const configEventsSQL = `SELECT id, key FROM events WHERE project_id = $1 ORDER BY id`

const configAttributesSQL = `SELECT id, key FROM attributes WHERE project_id = $1 ORDER BY id`

const configAudiencesSQL = `SELECT id, key, name, conditions FROM audiences WHERE project_id = $1 ORDER BY id`

const configRulesetsSQL = `
SELECT r.flag_id, r.environment_key, r.enabled, r.allowlists, r.deliveries, r.everyone_else
FROM flag_rulesets r JOIN flags f ON f.id = r.flag_id WHERE f.project_id = $1`

// projectConfig is everything of a project that any of its datafiles shows.
type projectConfig struct {
	flags       []datafile.FlagSpec
	layers      []datafile.LayerSpec
	events      []datafile.EventSpec
	attributes  []datafile.Attribute
	audiences   []datafile.AudienceSpec
	experiments []runningExperiment
	// rulesets by flag id and environment key; a missing one is the
	// default.
	rulesets map[string]map[string]rulesetRow
}

type runningExperiment struct {
	spec         datafile.ExperimentSpec
	environments []string
}

// input is the datafile input of one environment: the project's
// configuration with the experiments enabled there marked running. The
// identity fields (account, SDK key) are left to the caller.
func (c *projectConfig) input(environmentKey string) *datafile.Input {
	in := &datafile.Input{Layers: c.layers, Events: c.events, Attributes: c.attributes, Audiences: c.audiences,
		EnvironmentKey: environmentKey}
	for _, f := range c.flags {
		r, ok := c.rulesets[f.ID][environmentKey]
		if ok {
			f.Disabled = !r.enabled
			f.Deliveries = deliverySpecs(r.deliveries)
			if r.everyoneElse != nil {
				f.EveryoneElse = &datafile.DeliverySpec{Percentage: int(r.everyoneElse.Percentage), Variation: variationSpec(r.everyoneElse.Variation)}
			}
		}
		in.Flags = append(in.Flags, f)
	}
	for _, e := range c.experiments {
		spec := e.spec
		spec.Running = slices.Contains(e.environments, environmentKey)
		spec.Allowlist = c.rulesets[spec.FlagID][environmentKey].allowlists[spec.ID]
		in.Experiments = append(in.Experiments, spec)
	}
	return in
}

func deliverySpecs(docs []deliveryDoc) []datafile.DeliverySpec {
	out := make([]datafile.DeliverySpec, 0, len(docs))
	for _, d := range docs {
		spec := datafile.DeliverySpec{ID: idString(d.ID), Key: d.Key, Percentage: int(d.Percentage), Variation: variationSpec(d.Variation)}
		for _, a := range d.AudienceIDs {
			spec.AudienceIDs = append(spec.AudienceIDs, idString(a))
		}
		out = append(out, spec)
	}
	return out
}

func variationSpec(v variationDoc) datafile.VariationSpec {
	return datafile.VariationSpec{ID: idString(v.ID), Key: v.Key, FeatureEnabled: v.FeatureEnabled, Variables: v.Variables}
}

func loadConfig(ctx context.Context, q querier, projectID int64) (*projectConfig, error) {
	c := &projectConfig{}
	var err error
	if c.flags, err = collect(ctx, q, configFlagsSQL, projectID, scanConfigFlag); err != nil {
		return nil, err
	}
	if c.layers, err = collect(ctx, q, configLayersSQL, projectID, func(r pgx.Row) (datafile.LayerSpec, error) {
		var id int64
		var l datafile.LayerSpec
		err := r.Scan(&id, &l.Key)
		l.ID = idString(id)
		return l, err
	}); err != nil {
		return nil, err
	}
	if c.events, err = collect(ctx, q, configEventsSQL, projectID, func(r pgx.Row) (datafile.EventSpec, error) {
		var id int64
		var e datafile.EventSpec
		err := r.Scan(&id, &e.Key)
		e.ID = idString(id)
		return e, err
	}); err != nil {
		return nil, err
	}
	if c.attributes, err = collect(ctx, q, configAttributesSQL, projectID, func(r pgx.Row) (datafile.Attribute, error) {
		var id int64
		var a datafile.Attribute
		err := r.Scan(&id, &a.Key)
		a.ID = idString(id)
		return a, err
	}); err != nil {
		return nil, err
	}
	if c.experiments, err = collect(ctx, q, configExperimentsSQL, projectID, scanRunningExperiment); err != nil {
		return nil, err
	}
	if c.audiences, err = collect(ctx, q, configAudiencesSQL, projectID, scanConfigAudience); err != nil {
		return nil, err
	}
	return c, loadConfigRulesets(ctx, q, c, projectID)
}

func scanConfigAudience(r pgx.Row) (datafile.AudienceSpec, error) {
	var (
		id                    int64
		a                     datafile.AudienceSpec
		key, name, conditions string
	)
	if err := r.Scan(&id, &key, &name, &conditions); err != nil {
		return a, err
	}
	a.ID, a.Name = idString(id), cmp.Or(name, key)
	tree, err := audience.ParseConditions([]byte(conditions), audience.Lenient)
	a.Conditions = tree
	return a, err
}

func loadConfigRulesets(ctx context.Context, q querier, c *projectConfig, projectID int64) error {
	rows, err := q.Query(ctx, configRulesetsSQL, projectID)
	if err != nil {
		return err
	}
	defer rows.Close()
	c.rulesets = map[string]map[string]rulesetRow{}
	for rows.Next() {
		var (
			flagID int64
			env    string
			r      rulesetRow
		)
		if err := rows.Scan(&flagID, &env, &r.enabled, &r.allowlists, &r.deliveries, &r.everyoneElse); err != nil {
			return err
		}
		byEnv := c.rulesets[idString(flagID)]
		if byEnv == nil {
			byEnv = map[string]rulesetRow{}
			c.rulesets[idString(flagID)] = byEnv
		}
		byEnv[env] = r
	}
	return rows.Err()
}

func collect[T any](ctx context.Context, q querier, sql string, projectID int64, scan func(pgx.Row) (T, error)) ([]T, error) {
	rows, err := q.Query(ctx, sql, projectID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
}

func scanConfigFlag(r pgx.Row) (datafile.FlagSpec, error) {
	var (
		f                          datafile.FlagSpec
		id, rollout, everyone, off int64
		vars                       []byte
	)
	if err := r.Scan(&id, &f.Key, &rollout, &everyone, &off, &vars); err != nil {
		return f, err
	}
	f.EveryoneElseID, f.OffVariationID = idString(everyone), idString(off)
	var rows []variableRow
	if err := json.Unmarshal(vars, &rows); err != nil {
		return f, err
	}
	f.ID, f.RolloutID = idString(id), idString(rollout)
	for _, v := range rows {
		f.Variables = append(f.Variables, datafile.FlagVariable{
			ID: idString(v.ID), Key: v.Key, Type: VariableTypeName(variableType(v.Type)), Default: v.DefaultValue,
		})
	}
	return f, nil
}

func scanRunningExperiment(r pgx.Row) (runningExperiment, error) {
	var (
		e                    runningExperiment
		id, audienceID       int64
		flagID, layerID      *int64
		layerStart, layerEnd *int
		conditions           string
		variations           []byte
		metrics              []int64
	)
	err := r.Scan(&id, &e.spec.Key, &flagID, &layerID, &layerStart, &layerEnd, &e.spec.Traffic,
		&conditions, &audienceID, &e.environments, &variations, &metrics)
	if err != nil {
		return e, err
	}
	s := &e.spec
	s.ID, s.FlagID, s.LayerID = idString(id), optionalID(flagID), optionalID(layerID)
	if layerStart != nil {
		s.LayerStart, s.LayerEnd = *layerStart, *layerEnd
	} else if layerID != nil {
		// A running experiment always holds its range; without one it
		// gets no layer buckets at all.
		s.LayerStart, s.LayerEnd = 0, 0
	}
	var vs []variationRow
	if err := json.Unmarshal(variations, &vs); err != nil {
		return e, err
	}
	for _, v := range vs {
		s.Variations = append(s.Variations, datafile.VariationSpec{
			ID: idString(v.ID), Key: v.Key, Weight: int(v.Weight), FeatureEnabled: v.FeatureEnabled, Variables: v.Variables,
		})
	}
	for _, m := range metrics {
		s.MetricEventIDs = append(s.MetricEventIDs, idString(m))
	}
	if conditions != "" {
		tree, err := audience.ParseConditions([]byte(conditions), audience.Lenient)
		if err != nil {
			return e, err
		}
		s.AudienceID, s.Conditions = idString(audienceID), tree
	}
	return e, nil
}
