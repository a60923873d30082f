package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/liftlabs/lift/pkg/apierr"
	"github.com/liftlabs/lift/pkg/datafile/audience"
	"github.com/liftlabs/lift/pkg/pg"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"github.com/liftlabs/lift/services/experiments/internal/lifecycle"
	"google.golang.org/protobuf/proto"
)

const experimentNotFound = "EXPERIMENT_NOT_FOUND"

const experimentColumns = `e.id, e.project_id, e.key, e.name, e.description, e.status, e.flag_id, e.layer_id,
	e.layer_traffic, e.layer_start, e.layer_end, e.traffic_allocation, e.audience_conditions, e.environment_keys,
	e.version, e.create_time, e.update_time, e.start_time, e.end_time,
	COALESCE((SELECT json_agg(json_build_object('id', v.id, 'key', v.key, 'name', v.name, 'weight', v.weight,
		'baseline', v.baseline, 'feature_enabled', v.feature_enabled, 'variables', v.variables) ORDER BY v.position)
		FROM variations v WHERE v.experiment_id = e.id), '[]'),
	COALESCE((SELECT json_agg(json_build_object('event_key', ev.key, 'primary', m.is_primary, 'kind', m.kind,
		'direction', m.direction, 'role', m.role, 'cap_value', m.cap_value, 'cap_percentile', m.cap_percentile) ORDER BY m.position)
		FROM experiment_metrics m JOIN events ev ON ev.id = m.event_id WHERE m.experiment_id = e.id), '[]')`

const getExperimentSQL = `SELECT ` + experimentColumns + ` FROM experiments e WHERE e.id = $1`

const getExperimentForUpdateSQL = `SELECT ` + experimentColumns + ` FROM experiments e
WHERE e.id = $1 AND e.project_id = $2 FOR UPDATE`

// status 0 (unspecified) lists every status.
const listExperimentsSQL = `SELECT ` + experimentColumns + ` FROM experiments e
WHERE e.project_id = $1 AND ($2::smallint = 0 OR e.status = $2::smallint) AND e.id > $3 ORDER BY e.id LIMIT $4`

const insertExperimentSQL = `
INSERT INTO experiments (project_id, key, name, description, flag_id, layer_id, layer_traffic,
	traffic_allocation, audience_conditions, environment_keys)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`

const updateExperimentSQL = `
UPDATE experiments SET name = $2, description = $3, flag_id = $4, layer_id = $5, layer_traffic = $6,
	traffic_allocation = $7, audience_conditions = $8, environment_keys = $9,
	version = version + 1, update_time = now()
WHERE id = $1`

const setExperimentStatusSQL = `
UPDATE experiments SET status = $2::smallint,
	start_time = CASE WHEN $2::smallint = 2 THEN COALESCE(start_time, now()) ELSE start_time END,
	end_time = CASE WHEN $2::smallint = 4 THEN now() ELSE end_time END,
	layer_start = CASE WHEN $3::boolean THEN layer_start END,
	layer_end = CASE WHEN $3 THEN layer_end END,
	version = version + 1, update_time = now()
WHERE id = $1`

const deleteExperimentSQL = `DELETE FROM experiments WHERE id = $1`

const setLayerRangeSQL = `UPDATE experiments SET layer_start = $2, layer_end = $3 WHERE id = $1`

const layerInProjectSQL = `SELECT true FROM layers WHERE id = $1 AND project_id = $2`

// takenRangesSQL are the layer buckets other experiments hold.
const takenRangesSQL = `
SELECT layer_start, layer_end FROM experiments
WHERE layer_id = $1 AND layer_start IS NOT NULL AND id <> $2 ORDER BY layer_start`

// Variations keep their id while their key is kept.
const upsertVariationSQL = `
INSERT INTO variations (experiment_id, position, key, name, weight, baseline, feature_enabled, variables)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (experiment_id, key) DO UPDATE SET position = excluded.position, name = excluded.name,
	weight = excluded.weight, baseline = excluded.baseline, feature_enabled = excluded.feature_enabled,
	variables = excluded.variables`

const deleteOtherVariationsSQL = `DELETE FROM variations WHERE experiment_id = $1 AND NOT (key = ANY($2))`

const deleteMetricsSQL = `DELETE FROM experiment_metrics WHERE experiment_id = $1`

const eventIDsByKeySQL = `SELECT key, id FROM events WHERE project_id = $1 AND key = ANY($2)`

const insertMetricSQL = `INSERT INTO experiment_metrics (experiment_id, event_id, position, is_primary, kind, direction, role, cap_value, cap_percentile)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`

const upsertAttributesSQL = `
INSERT INTO attributes (project_id, key) SELECT $1, unnest($2::text[])
ON CONFLICT (project_id, key) DO NOTHING`

type variationRow struct {
	ID             int64             `json:"id"`
	Key            string            `json:"key"`
	Name           string            `json:"name"`
	Weight         int32             `json:"weight"`
	Baseline       bool              `json:"baseline"`
	FeatureEnabled bool              `json:"feature_enabled"`
	Variables      map[string]string `json:"variables"`
}

type metricRow struct {
	EventKey      string   `json:"event_key"`
	Primary       bool     `json:"primary"`
	Kind          int32    `json:"kind"`
	Direction     int32    `json:"direction"`
	Role          int32    `json:"role"`
	CapValue      *float64 `json:"cap_value"`
	CapPercentile *float64 `json:"cap_percentile"`
}

func (m metricRow) proto() *experimentsv1.Metric {
	out := &experimentsv1.Metric{
		EventKey: m.EventKey, Primary: m.Primary, Kind: experimentsv1.MetricKind(m.Kind),
		Direction: experimentsv1.MetricDirection(m.Direction), Role: experimentsv1.MetricRole(m.Role),
	}
	switch {
	case m.CapValue != nil:
		out.Capping = &experimentsv1.MetricCapping{Cap: &experimentsv1.MetricCapping_Value{Value: *m.CapValue}}
	case m.CapPercentile != nil:
		out.Capping = &experimentsv1.MetricCapping{Cap: &experimentsv1.MetricCapping_Percentile{Percentile: *m.CapPercentile}}
	}
	return out
}

// capColumns are a capping's two nullable columns.
func capColumns(c *experimentsv1.MetricCapping) (value, percentile *float64) {
	switch x := c.GetCap().(type) {
	case *experimentsv1.MetricCapping_Value:
		return &x.Value, nil
	case *experimentsv1.MetricCapping_Percentile:
		return nil, &x.Percentile
	}
	return nil, nil
}

func scanExperiment(row pgx.Row) (*experimentsv1.Experiment, error) {
	var (
		e                      experimentsv1.Experiment
		id, project, ver       int64
		status                 int16
		flagID, layerID        *int64
		layerTraffic, traffic  int32
		layerStart, layerEnd   *int32
		created, updated       time.Time
		started, ended         *time.Time
		variations, metricsRaw []byte
	)
	err := row.Scan(&id, &project, &e.Key, &e.Name, &e.Description, &status, &flagID, &layerID,
		&layerTraffic, &layerStart, &layerEnd, &traffic, &e.AudienceConditions, &e.EnvironmentKeys,
		&ver, &created, &updated, &started, &ended, &variations, &metricsRaw)
	if err != nil {
		return nil, err
	}
	var vs []variationRow
	if err := json.Unmarshal(variations, &vs); err != nil {
		return nil, err
	}
	for _, v := range vs {
		e.Variations = append(e.Variations, &experimentsv1.Variation{
			Id: idString(v.ID), Key: v.Key, Name: v.Name, Weight: v.Weight, Baseline: v.Baseline,
			FeatureEnabled: v.FeatureEnabled, Variables: v.Variables,
		})
	}
	var ms []metricRow
	if err := json.Unmarshal(metricsRaw, &ms); err != nil {
		return nil, err
	}
	for _, m := range ms {
		e.Metrics = append(e.Metrics, m.proto())
	}
	e.Id, e.ProjectId, e.Etag = idString(id), idString(project), idString(ver)
	e.Status = experimentsv1.ExperimentStatus(status)
	e.FlagId, e.LayerId = optionalID(flagID), optionalID(layerID)
	e.LayerTrafficAllocation, e.TrafficAllocation = layerTraffic, &traffic
	if layerStart != nil {
		e.LayerRange = &experimentsv1.LayerRange{Start: *layerStart, End: *layerEnd}
	}
	e.CreateTime, e.UpdateTime, e.StartTime, e.EndTime = ts(created), ts(updated), tsOrNil(started), tsOrNil(ended)
	return &e, nil
}

// GetExperiment returns an experiment by id, whatever its project (callers
// check).
func (s *Store) GetExperiment(ctx context.Context, id int64) (*experimentsv1.Experiment, error) {
	e, err := scanExperiment(s.pool.QueryRow(ctx, getExperimentSQL, id))
	return e, pg.Translate(err, experimentNotFound)
}

// ListExperiments pages through a project's experiments by id, optionally
// in one status.
func (s *Store) ListExperiments(ctx context.Context, projectID int64, status experimentsv1.ExperimentStatus, afterID int64, limit int) ([]*experimentsv1.Experiment, error) {
	rows, err := s.pool.Query(ctx, listExperimentsSQL, projectID, int16(status), afterID, limit)
	if err != nil {
		return nil, pg.Translate(err, experimentNotFound)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*experimentsv1.Experiment, error) { return scanExperiment(r) })
	return out, pg.Translate(err, experimentNotFound)
}

// CreateExperiment inserts a draft experiment with its variations and
// metrics, taking the first free range of its layer. The handler has
// validated it (weights, audience conditions, flag and layer in project).
func (s *Store) CreateExperiment(ctx context.Context, projectID int64, e *experimentsv1.Experiment) (*experimentsv1.Experiment, error) {
	var out *experimentsv1.Experiment
	err := s.write(ctx, projectID, func(tx pgx.Tx) error {
		flagID, layerID := mustInt(e.GetFlagId()), mustInt(e.GetLayerId())
		var id int64
		err := tx.QueryRow(ctx, insertExperimentSQL, projectID, e.GetKey(), e.GetName(), e.GetDescription(),
			nullID(flagID), nullID(layerID), e.GetLayerTrafficAllocation(), e.GetTrafficAllocation(),
			e.GetAudienceConditions(), nonNil(e.GetEnvironmentKeys())).Scan(&id)
		if err != nil {
			return err
		}
		if layerID != 0 {
			if err := assignLayerRange(ctx, tx, projectID, layerID, id, e.GetLayerTrafficAllocation()); err != nil {
				return err
			}
		}
		if err := writeVariations(ctx, tx, id, e.GetVariations()); err != nil {
			return err
		}
		if err := writeMetrics(ctx, tx, projectID, id, e.GetMetrics()); err != nil {
			return err
		}
		if err := upsertAttributes(ctx, tx, projectID, e.GetAudienceConditions()); err != nil {
			return err
		}
		out, err = scanExperiment(tx.QueryRow(ctx, getExperimentSQL, id))
		return err
	})
	return out, pg.Translate(err, experimentNotFound)
}

// UpdateExperiment applies change to the stored experiment under a row
// lock (a stale etag is Aborted) and writes what changed: a new layer or
// layer share takes a new range, variations are upserted by key.
func (s *Store) UpdateExperiment(ctx context.Context, projectID, id int64, etag string, change func(*experimentsv1.Experiment) error) (*experimentsv1.Experiment, error) {
	var out *experimentsv1.Experiment
	err := s.write(ctx, projectID, func(tx pgx.Tx) error {
		cur, err := scanExperiment(tx.QueryRow(ctx, getExperimentForUpdateSQL, id, projectID))
		if err != nil {
			return err
		}
		if err := checkEtag("experiment", etag, mustInt(cur.GetEtag())); err != nil {
			return err
		}
		old := proto.CloneOf(cur)
		if err := change(cur); err != nil {
			return err
		}
		layerID := mustInt(cur.GetLayerId())
		_, err = tx.Exec(ctx, updateExperimentSQL, id, cur.GetName(), cur.GetDescription(), nullID(mustInt(cur.GetFlagId())),
			nullID(layerID), cur.GetLayerTrafficAllocation(), cur.GetTrafficAllocation(), cur.GetAudienceConditions(),
			nonNil(cur.GetEnvironmentKeys()))
		if err != nil {
			return err
		}
		layerChanged := cur.GetLayerId() != old.GetLayerId() || cur.GetLayerTrafficAllocation() != old.GetLayerTrafficAllocation()
		if layerChanged && lifecycle.HoldsLayerRange(cur.GetStatus()) {
			if _, err := tx.Exec(ctx, setLayerRangeSQL, id, nil, nil); err != nil {
				return err
			}
			if layerID != 0 {
				if err := assignLayerRange(ctx, tx, projectID, layerID, id, cur.GetLayerTrafficAllocation()); err != nil {
					return err
				}
			}
		}
		if !variationsEqual(old.GetVariations(), cur.GetVariations()) {
			if err := writeVariations(ctx, tx, id, cur.GetVariations()); err != nil {
				return err
			}
		}
		if !metricsEqual(old.GetMetrics(), cur.GetMetrics()) {
			if err := writeMetrics(ctx, tx, projectID, id, cur.GetMetrics()); err != nil {
				return err
			}
		}
		if err := upsertAttributes(ctx, tx, projectID, cur.GetAudienceConditions()); err != nil {
			return err
		}
		out, err = scanExperiment(tx.QueryRow(ctx, getExperimentSQL, id))
		return err
	})
	return out, pg.Translate(err, experimentNotFound)
}

// SetStatus moves an experiment through its lifecycle; an illegal
// transition is FailedPrecondition naming both states. Concluding gives
// the layer range back.
func (s *Store) SetStatus(ctx context.Context, projectID, id int64, etag string, action lifecycle.Action) (*experimentsv1.Experiment, error) {
	var out *experimentsv1.Experiment
	err := s.write(ctx, projectID, func(tx pgx.Tx) error {
		cur, err := scanExperiment(tx.QueryRow(ctx, getExperimentForUpdateSQL, id, projectID))
		if err != nil {
			return err
		}
		if err := checkEtag("experiment", etag, mustInt(cur.GetEtag())); err != nil {
			return err
		}
		next, err := lifecycle.Next(cur.GetStatus(), action)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, setExperimentStatusSQL, id, int16(next), lifecycle.HoldsLayerRange(next)); err != nil {
			return err
		}
		out, err = scanExperiment(tx.QueryRow(ctx, getExperimentSQL, id))
		return err
	})
	return out, pg.Translate(err, experimentNotFound)
}

// DeleteExperiment deletes a draft or archived experiment.
func (s *Store) DeleteExperiment(ctx context.Context, projectID, id int64, etag string) error {
	err := s.write(ctx, projectID, func(tx pgx.Tx) error {
		cur, err := scanExperiment(tx.QueryRow(ctx, getExperimentForUpdateSQL, id, projectID))
		if err != nil {
			return err
		}
		if err := checkEtag("experiment", etag, mustInt(cur.GetEtag())); err != nil {
			return err
		}
		if err := lifecycle.Deletable(cur.GetStatus()); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, deleteExperimentSQL, id)
		return pg.Deleting(err)
	})
	return pg.Translate(err, experimentNotFound)
}

// assignLayerRange gives the experiment the first free range of size
// buckets in the layer. The project lock held by every write makes the
// read of taken ranges and the assignment atomic.
func assignLayerRange(ctx context.Context, tx pgx.Tx, projectID, layerID, experimentID int64, size int32) error {
	var ok bool
	if err := tx.QueryRow(ctx, layerInProjectSQL, layerID, projectID).Scan(&ok); err != nil {
		return pg.Translate(err, layerNotFound)
	}
	rows, err := tx.Query(ctx, takenRangesSQL, layerID, experimentID)
	if err != nil {
		return err
	}
	taken, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct{ Start, End int32 }])
	if err != nil {
		return err
	}
	start := int32(0)
	for _, r := range taken {
		if r.Start-start >= size {
			break
		}
		start = max(start, r.End)
	}
	if start+size > 10000 {
		return apierr.FailedPrecondition("LAYER_FULL",
			"the layer has no free range of %d buckets; conclude one of its experiments or lower layer_traffic_allocation", size).
			With("field", "experiment.layer_traffic_allocation")
	}
	_, err = tx.Exec(ctx, setLayerRangeSQL, experimentID, start, start+size)
	return err
}

func writeVariations(ctx context.Context, tx pgx.Tx, experimentID int64, vs []*experimentsv1.Variation) error {
	keys := make([]string, len(vs))
	for i, v := range vs {
		keys[i] = v.GetKey()
	}
	if _, err := tx.Exec(ctx, deleteOtherVariationsSQL, experimentID, keys); err != nil {
		return err
	}
	for i, v := range vs {
		vars := v.GetVariables()
		if vars == nil {
			vars = map[string]string{}
		}
		_, err := tx.Exec(ctx, upsertVariationSQL, experimentID, i, v.GetKey(), v.GetName(), v.GetWeight(),
			v.GetBaseline(), v.GetFeatureEnabled(), vars)
		if err != nil {
			return err
		}
	}
	return nil
}

func writeMetrics(ctx context.Context, tx pgx.Tx, projectID, experimentID int64, ms []*experimentsv1.Metric) error {
	if _, err := tx.Exec(ctx, deleteMetricsSQL, experimentID); err != nil {
		return err
	}
	if len(ms) == 0 {
		return nil
	}
	keys := make([]string, len(ms))
	for i, m := range ms {
		keys[i] = m.GetEventKey()
	}
	rows, err := tx.Query(ctx, eventIDsByKeySQL, projectID, keys)
	if err != nil {
		return err
	}
	ids := map[string]int64{}
	for rows.Next() {
		var key string
		var id int64
		if err := rows.Scan(&key, &id); err != nil {
			return err
		}
		ids[key] = id
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i, m := range ms {
		id, ok := ids[m.GetEventKey()]
		if !ok {
			return apierr.InvalidArgument("UNKNOWN_EVENT", "metric event %q does not exist in the project; create it first", m.GetEventKey()).
				With("field", "experiment.metrics")
		}
		capValue, capPercentile := capColumns(m.GetCapping())
		if _, err := tx.Exec(ctx, insertMetricSQL, experimentID, id, i, m.GetPrimary(), int16(m.GetKind()),
			int16(m.GetDirection()), int16(m.GetRole()), capValue, capPercentile); err != nil {
			return err
		}
	}
	return nil
}

// upsertAttributes records the attribute keys the audience tests, so the
// datafile lists them with stable ids.
func upsertAttributes(ctx context.Context, tx pgx.Tx, projectID int64, conditions string) error {
	tree, err := audience.ParseConditions([]byte(conditions), audience.Lenient)
	if err != nil || tree == nil {
		return err
	}
	names := tree.AttributeNames()
	if len(names) == 0 {
		return nil
	}
	_, err = tx.Exec(ctx, upsertAttributesSQL, projectID, names)
	return err
}

func variationsEqual(a, b []*experimentsv1.Variation) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := proto.CloneOf(a[i]), proto.CloneOf(b[i])
		x.Id, y.Id = "", ""
		if !proto.Equal(x, y) {
			return false
		}
	}
	return true
}

func metricsEqual(a, b []*experimentsv1.Metric) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !proto.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
