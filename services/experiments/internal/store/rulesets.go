package store

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/liftlabs/lift/pkg/apierr"
	"github.com/liftlabs/lift/pkg/datafile/bucketing"
	"github.com/liftlabs/lift/pkg/pg"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"github.com/liftlabs/lift/services/experiments/internal/datafile"
	"github.com/liftlabs/lift/services/experiments/internal/lifecycle"
)

const getRulesetSQL = `
SELECT enabled, allowlists, deliveries, everyone_else, version, update_time
FROM flag_rulesets WHERE flag_id = $1 AND environment_key = $2`

const getRulesetForUpdateSQL = getRulesetSQL + ` FOR UPDATE`

const flagRuleIDsSQL = `SELECT off_variation_id FROM flags WHERE id = $1 AND project_id = $2`

const lockFlagRuleIDsSQL = flagRuleIDsSQL + ` FOR UPDATE`

// The A/B tests of a flag in an environment: its experiments enabled there
// that may still run, with their variation keys.
const experimentRulesSQL = `
SELECT e.id, e.key, e.status, ARRAY(SELECT v.key FROM variations v WHERE v.experiment_id = e.id ORDER BY v.position)
FROM experiments e WHERE e.flag_id = $1 AND $2 = ANY(e.environment_keys) AND e.status IN (1, 2, 3) ORDER BY e.id`

const upsertRulesetSQL = `
INSERT INTO flag_rulesets (flag_id, environment_key, enabled, allowlists, deliveries, everyone_else)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (flag_id, environment_key) DO UPDATE SET enabled = excluded.enabled, allowlists = excluded.allowlists,
	deliveries = excluded.deliveries, everyone_else = excluded.everyone_else,
	version = flag_rulesets.version + 1, update_time = now()`

const deleteRulesetAudiencesSQL = `DELETE FROM ruleset_audiences WHERE flag_id = $1 AND environment_key = $2`

const insertRulesetAudiencesSQL = `
INSERT INTO ruleset_audiences (flag_id, environment_key, audience_id) SELECT $1, $2, unnest($3::bigint[])`

const audiencesInProjectSQL = `SELECT id FROM audiences WHERE project_id = $1 AND id = ANY($2)`

const nextIDSQL = `SELECT nextval('object_ids')`

// variationDoc, deliveryDoc and everyoneElseDoc are the stored (jsonb)
// forms of a ruleset's rules.
type variationDoc struct {
	ID             int64             `json:"id"`
	Key            string            `json:"key"`
	FeatureEnabled bool              `json:"feature_enabled"`
	Variables      map[string]string `json:"variables,omitempty"`
}

type deliveryDoc struct {
	ID          int64        `json:"id"`
	Key         string       `json:"key"`
	AudienceIDs []int64      `json:"audience_ids"`
	Percentage  int32        `json:"percentage"`
	Variation   variationDoc `json:"variation"`
}

type everyoneElseDoc struct {
	Percentage int32        `json:"percentage"`
	Variation  variationDoc `json:"variation"`
}

// rulesetRow is a flag_rulesets row, or the default when there is none
// (version 0).
type rulesetRow struct {
	enabled      bool
	allowlists   map[string]map[string]string
	deliveries   []deliveryDoc
	everyoneElse *everyoneElseDoc
	version      int64
	updated      *time.Time
}

type experimentRule struct {
	id         int64
	key        string
	status     int16
	variations []string
}

// loadRuleset reads a ruleset, under a row lock when lock is set.
func loadRuleset(ctx context.Context, q querier, flagID int64, env string, lock bool) (rulesetRow, error) {
	r := rulesetRow{enabled: true, allowlists: map[string]map[string]string{}}
	var updated time.Time
	var row pgx.Row
	if lock {
		row = q.QueryRow(ctx, getRulesetForUpdateSQL, flagID, env)
	} else {
		row = q.QueryRow(ctx, getRulesetSQL, flagID, env)
	}
	err := row.Scan(&r.enabled, &r.allowlists, &r.deliveries, &r.everyoneElse, &r.version, &updated)
	if err == pgx.ErrNoRows {
		return r, nil
	}
	r.updated = &updated
	return r, err
}

func loadExperimentRules(ctx context.Context, q querier, flagID int64, env string) ([]experimentRule, error) {
	rows, err := q.Query(ctx, experimentRulesSQL, flagID, env)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (experimentRule, error) {
		var e experimentRule
		err := r.Scan(&e.id, &e.key, &e.status, &e.variations)
		return e, err
	})
}

// GetRuleset returns a flag's ruleset in an environment (the default when
// it was never written). The caller checks the flag's project.
func (s *Store) GetRuleset(ctx context.Context, projectID, flagID int64, env string) (*experimentsv1.FlagRuleset, error) {
	var out *experimentsv1.FlagRuleset
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		out, err = readRuleset(ctx, tx, projectID, flagID, env, false)
		return err
	})
	return out, pg.Translate(err, flagNotFound)
}

// readRuleset reads a ruleset as the API shows it; lock takes the flag's
// and the ruleset's row locks.
func readRuleset(ctx context.Context, q querier, projectID, flagID int64, env string, lock bool) (*experimentsv1.FlagRuleset, error) {
	var offID int64
	var flagRow pgx.Row
	if lock {
		flagRow = q.QueryRow(ctx, lockFlagRuleIDsSQL, flagID, projectID)
	} else {
		flagRow = q.QueryRow(ctx, flagRuleIDsSQL, flagID, projectID)
	}
	if err := flagRow.Scan(&offID); err != nil {
		return nil, err
	}
	row, err := loadRuleset(ctx, q, flagID, env, lock)
	if err != nil {
		return nil, err
	}
	exps, err := loadExperimentRules(ctx, q, flagID, env)
	if err != nil {
		return nil, err
	}
	return rulesetProto(flagID, env, offID, row, exps), nil
}

func rulesetProto(flagID int64, env string, offID int64, r rulesetRow, exps []experimentRule) *experimentsv1.FlagRuleset {
	out := &experimentsv1.FlagRuleset{
		FlagId: idString(flagID), EnvironmentKey: env, Enabled: r.enabled, Etag: idString(r.version),
		ExperimentRules: []*experimentsv1.ExperimentRule{}, Deliveries: []*experimentsv1.DeliveryRule{},
	}
	if r.updated != nil {
		out.UpdateTime = ts(*r.updated)
	}
	for _, e := range exps {
		out.ExperimentRules = append(out.ExperimentRules, &experimentsv1.ExperimentRule{
			ExperimentId: idString(e.id), ExperimentKey: e.key, Status: experimentsv1.ExperimentStatus(e.status),
			Allowlist: r.allowlists[idString(e.id)],
		})
	}
	for _, d := range r.deliveries {
		rule := &experimentsv1.DeliveryRule{Id: idString(d.ID), Key: d.Key, Percentage: d.Percentage, Variation: variationProto(d.Variation), AudienceIds: []string{}}
		for _, a := range d.AudienceIDs {
			rule.AudienceIds = append(rule.AudienceIds, idString(a))
		}
		out.Deliveries = append(out.Deliveries, rule)
	}
	ee := everyoneElseDoc{Percentage: bucketing.MaxBuckets, Variation: variationDoc{ID: offID, Key: datafile.OffVariationKey}}
	if r.everyoneElse != nil {
		ee = *r.everyoneElse
	}
	out.EveryoneElse = &experimentsv1.EveryoneElseRule{Percentage: ee.Percentage, Variation: variationProto(ee.Variation)}
	return out
}

func variationProto(v variationDoc) *experimentsv1.DeliveredVariation {
	return &experimentsv1.DeliveredVariation{Id: idString(v.ID), Key: v.Key, FeatureEnabled: v.FeatureEnabled, Variables: v.Variables}
}

// UpdateRuleset applies change to a flag's ruleset in an environment under
// the flag's row lock; a stale etag is Aborted. Rules keep their ids by
// key; audiences must be the project's, allowlists must name the flag's
// experiments and their variations.
func (s *Store) UpdateRuleset(ctx context.Context, projectID, flagID int64, env, etag string, change func(*experimentsv1.FlagRuleset) error) (*experimentsv1.FlagRuleset, error) {
	var out *experimentsv1.FlagRuleset
	err := s.write(ctx, projectID, func(tx pgx.Tx) error {
		var err error
		out, err = updateRuleset(ctx, tx, projectID, flagID, env, etag, change)
		return err
	})
	return out, pg.Translate(err, flagNotFound)
}

func updateRuleset(ctx context.Context, tx pgx.Tx, projectID, flagID int64, env, etag string, change func(*experimentsv1.FlagRuleset) error) (*experimentsv1.FlagRuleset, error) {
	cur, err := readRuleset(ctx, tx, projectID, flagID, env, true)
	if err != nil {
		return nil, err
	}
	if err := checkEtag("ruleset", etag, mustInt(cur.GetEtag())); err != nil {
		return nil, err
	}
	old, err := loadRuleset(ctx, tx, flagID, env, false)
	if err != nil {
		return nil, err
	}
	if err := change(cur); err != nil {
		return nil, err
	}
	exps, err := loadExperimentRules(ctx, tx, flagID, env)
	if err != nil {
		return nil, err
	}
	next := rulesetRow{enabled: cur.GetEnabled(), allowlists: map[string]map[string]string{}}
	if next.allowlists, err = allowlists(cur.GetExperimentRules(), exps); err != nil {
		return nil, err
	}
	ids := idAllocator{ctx: ctx, tx: tx}
	var audienceIDs []int64
	for i, d := range cur.GetDeliveries() {
		doc := deliveryDoc{Key: d.GetKey(), Percentage: d.GetPercentage(), AudienceIDs: []int64{}}
		prev := slices.IndexFunc(old.deliveries, func(o deliveryDoc) bool { return o.Key == d.GetKey() })
		var prevVariation *variationDoc
		if prev >= 0 {
			doc.ID, prevVariation = old.deliveries[prev].ID, &old.deliveries[prev].Variation
		} else if doc.ID, err = ids.next(); err != nil {
			return nil, err
		}
		if doc.Variation, err = ids.variation(d.GetVariation(), prevVariation); err != nil {
			return nil, err
		}
		for _, a := range d.GetAudienceIds() {
			id, _ := strconv.ParseInt(a, 10, 64)
			doc.AudienceIDs = append(doc.AudienceIDs, id)
			if !slices.Contains(audienceIDs, id) {
				audienceIDs = append(audienceIDs, id)
			}
		}
		if err := checkAudiences(ctx, tx, projectID, doc.AudienceIDs, i); err != nil {
			return nil, err
		}
		next.deliveries = append(next.deliveries, doc)
	}
	if ee := cur.GetEveryoneElse(); ee != nil && ee.GetVariation() != nil {
		var prev *variationDoc
		if old.everyoneElse != nil {
			prev = &old.everyoneElse.Variation
		}
		v, err := ids.variation(ee.GetVariation(), prev)
		if err != nil {
			return nil, err
		}
		next.everyoneElse = &everyoneElseDoc{Percentage: ee.GetPercentage(), Variation: v}
	}
	allow, _ := json.Marshal(next.allowlists)
	deliveries, _ := json.Marshal(nonNilDeliveries(next.deliveries))
	var everyone []byte
	if next.everyoneElse != nil {
		everyone, _ = json.Marshal(next.everyoneElse)
	}
	if _, err := tx.Exec(ctx, upsertRulesetSQL, flagID, env, next.enabled, allow, deliveries, everyone); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, deleteRulesetAudiencesSQL, flagID, env); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, insertRulesetAudiencesSQL, flagID, env, audienceIDs); err != nil {
		return nil, err
	}
	return readRuleset(ctx, tx, projectID, flagID, env, false)
}

// allowlists keeps the allowlists of the listed experiments, which must
// be A/B tests of the flag in the environment, naming their variations.
func allowlists(rules []*experimentsv1.ExperimentRule, exps []experimentRule) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for i, r := range rules {
		j := slices.IndexFunc(exps, func(e experimentRule) bool { return idString(e.id) == r.GetExperimentId() })
		field := "ruleset.experiment_rules[" + strconv.Itoa(i) + "]"
		if j < 0 {
			return nil, apierr.InvalidArgument("UNKNOWN_EXPERIMENT_RULE",
				"experiment %s is not an A/B test of the flag in this environment (it must name the flag, list the environment and not be concluded)", r.GetExperimentId()).
				With("field", field+".experiment_id")
		}
		for user, key := range r.GetAllowlist() {
			if !slices.Contains(exps[j].variations, key) {
				return nil, apierr.InvalidArgument("UNKNOWN_VARIATION", "experiment %q has no variation %q (allowlisted user %q)", exps[j].key, key, user).
					With("field", field+".allowlist")
			}
		}
		if len(r.GetAllowlist()) > 0 {
			out[r.GetExperimentId()] = r.GetAllowlist()
		}
	}
	return out, nil
}

func checkAudiences(ctx context.Context, tx pgx.Tx, projectID int64, ids []int64, rule int) error {
	if len(ids) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, audiencesInProjectSQL, projectID, ids)
	if err != nil {
		return err
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	for _, id := range ids {
		if !slices.Contains(found, id) {
			return apierr.InvalidArgument("UNKNOWN_AUDIENCE", "audience %d does not exist in the project", id).
				With("field", "ruleset.deliveries["+strconv.Itoa(rule)+"].audience_ids")
		}
	}
	return nil
}

// idAllocator draws datafile ids from the database's sequence.
type idAllocator struct {
	ctx context.Context
	tx  pgx.Tx
}

func (a idAllocator) next() (int64, error) {
	var id int64
	err := a.tx.QueryRow(a.ctx, nextIDSQL).Scan(&id)
	return id, err
}

// variation keeps the previous id while the key is kept.
func (a idAllocator) variation(v *experimentsv1.DeliveredVariation, prev *variationDoc) (variationDoc, error) {
	doc := variationDoc{Key: v.GetKey(), FeatureEnabled: v.GetFeatureEnabled(), Variables: v.GetVariables()}
	if prev != nil && prev.Key == v.GetKey() {
		doc.ID = prev.ID
		return doc, nil
	}
	var err error
	doc.ID, err = a.next()
	return doc, err
}

func nonNilDeliveries(d []deliveryDoc) []deliveryDoc {
	if d == nil {
		return []deliveryDoc{}
	}
	return d
}

// ShipExperiment concludes a running or paused experiment and makes the
// chosen variation the first delivery of its flag in env (a rule keyed by
// the experiment, replacing an earlier one of the same key), in one
// transaction. The experiment's allowlist in env is dropped with it.
func (s *Store) ShipExperiment(ctx context.Context, projectID, id int64, env, variationKey string, percentage int32, etag string) (*experimentsv1.Experiment, *experimentsv1.FlagRuleset, error) {
	var (
		exp     *experimentsv1.Experiment
		ruleset *experimentsv1.FlagRuleset
	)
	err := s.write(ctx, projectID, func(tx pgx.Tx) error {
		cur, err := scanExperiment(tx.QueryRow(ctx, getExperimentForUpdateSQL, id, projectID))
		if err != nil {
			return err
		}
		if err := checkEtag("experiment", etag, mustInt(cur.GetEtag())); err != nil {
			return err
		}
		if cur.GetFlagId() == "" {
			return apierr.FailedPrecondition("NO_FLAG", "experiment %q decides no flag: there is nothing to deliver", cur.GetKey())
		}
		i := slices.IndexFunc(cur.GetVariations(), func(v *experimentsv1.Variation) bool { return v.GetKey() == variationKey })
		if i < 0 {
			return apierr.InvalidArgument("UNKNOWN_VARIATION", "experiment %q has no variation %q", cur.GetKey(), variationKey).With("field", "variation_key")
		}
		winner := cur.GetVariations()[i]
		next, err := lifecycle.Next(cur.GetStatus(), lifecycle.Conclude)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, setExperimentStatusSQL, id, int16(next), lifecycle.HoldsLayerRange(next)); err != nil {
			return err
		}
		flagID := mustInt(cur.GetFlagId())
		ruleset, err = updateRuleset(ctx, tx, projectID, flagID, env, "", func(r *experimentsv1.FlagRuleset) error {
			r.ExperimentRules = slices.DeleteFunc(r.ExperimentRules, func(e *experimentsv1.ExperimentRule) bool {
				return e.GetExperimentId() == cur.GetId() || len(e.GetAllowlist()) == 0
			})
			r.Deliveries = slices.DeleteFunc(r.Deliveries, func(d *experimentsv1.DeliveryRule) bool { return d.GetKey() == cur.GetKey() })
			r.Deliveries = append([]*experimentsv1.DeliveryRule{{
				Key: cur.GetKey(), Percentage: percentage, AudienceIds: []string{},
				Variation: &experimentsv1.DeliveredVariation{Key: winner.GetKey(), FeatureEnabled: winner.GetFeatureEnabled(), Variables: winner.GetVariables()},
			}}, r.Deliveries...)
			return nil
		})
		if err != nil {
			return err
		}
		exp, err = scanExperiment(tx.QueryRow(ctx, getExperimentSQL, id))
		return err
	})
	return exp, ruleset, pg.Translate(err, experimentNotFound)
}
