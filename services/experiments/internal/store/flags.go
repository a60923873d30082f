package store

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/liftlabs/lift/pkg/apierr"
	"github.com/liftlabs/lift/pkg/pg"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"github.com/liftlabs/lift/services/experiments/internal/datafile"
)

const flagNotFound = "FLAG_NOT_FOUND"

const flagColumns = `f.id, f.project_id, f.key, f.name, f.description, f.version, f.create_time, f.update_time,
	COALESCE((SELECT json_agg(json_build_object('id', v.id, 'key', v.key, 'type', v.type, 'default_value', v.default_value)
		ORDER BY v.position) FROM flag_variables v WHERE v.flag_id = f.id), '[]')`

const getFlagSQL = `SELECT ` + flagColumns + ` FROM flags f WHERE f.id = $1`

// The row lock makes read-check-write of an update atomic.
const getFlagForUpdateSQL = `SELECT ` + flagColumns + ` FROM flags f WHERE f.id = $1 AND f.project_id = $2 FOR UPDATE`

const listFlagsSQL = `SELECT ` + flagColumns + ` FROM flags f WHERE f.project_id = $1 AND f.id > $2 ORDER BY f.id LIMIT $3`

const insertFlagSQL = `INSERT INTO flags (project_id, key, name, description) VALUES ($1, $2, $3, $4) RETURNING id`

const updateFlagSQL = `
UPDATE flags SET name = $2, description = $3, version = version + 1, update_time = now()
WHERE id = $1`

const deleteFlagSQL = `DELETE FROM flags WHERE id = $1`

// Variables keep their id while their key is kept.
const upsertFlagVariableSQL = `
INSERT INTO flag_variables (flag_id, position, key, type, default_value) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (flag_id, key) DO UPDATE SET position = excluded.position, type = excluded.type, default_value = excluded.default_value`

const deleteOtherFlagVariablesSQL = `DELETE FROM flag_variables WHERE flag_id = $1 AND NOT (key = ANY($2))`

// flagVariableUsesSQL lists the variable values set by variations of the
// flag's experiments that may still run.
const flagVariableUsesSQL = `
SELECT e.key, v.key, v.variables FROM variations v JOIN experiments e ON e.id = v.experiment_id
WHERE e.flag_id = $1 AND e.status IN (1, 2, 3)`

type variableRow struct {
	ID           int64  `json:"id"`
	Key          string `json:"key"`
	Type         int32  `json:"type"`
	DefaultValue string `json:"default_value"`
}

func scanFlag(row pgx.Row) (*experimentsv1.Flag, error) {
	var (
		f                experimentsv1.Flag
		id, project, ver int64
		created, updated time.Time
		vars             []byte
	)
	if err := row.Scan(&id, &project, &f.Key, &f.Name, &f.Description, &ver, &created, &updated, &vars); err != nil {
		return nil, err
	}
	var rows []variableRow
	if err := json.Unmarshal(vars, &rows); err != nil {
		return nil, err
	}
	for _, r := range rows {
		f.Variables = append(f.Variables, &experimentsv1.FlagVariable{
			Id: idString(r.ID), Key: r.Key, Type: experimentsv1.VariableType(r.Type), DefaultValue: r.DefaultValue,
		})
	}
	f.Id, f.ProjectId, f.Etag = idString(id), idString(project), idString(ver)
	f.CreateTime, f.UpdateTime = ts(created), ts(updated)
	return &f, nil
}

// VariableTypeName is the datafile name of a variable type.
func VariableTypeName(t experimentsv1.VariableType) string {
	switch t {
	case experimentsv1.VariableType_VARIABLE_TYPE_BOOLEAN:
		return datafile.TypeBoolean
	case experimentsv1.VariableType_VARIABLE_TYPE_INTEGER:
		return datafile.TypeInteger
	case experimentsv1.VariableType_VARIABLE_TYPE_DOUBLE:
		return datafile.TypeDouble
	case experimentsv1.VariableType_VARIABLE_TYPE_JSON:
		return datafile.TypeJSON
	}
	return datafile.TypeString
}

// GetFlag returns a flag by id, whatever its project (callers check).
func (s *Store) GetFlag(ctx context.Context, id int64) (*experimentsv1.Flag, error) {
	f, err := scanFlag(s.pool.QueryRow(ctx, getFlagSQL, id))
	return f, pg.Translate(err, flagNotFound)
}

// ListFlags pages through a project's flags by id.
func (s *Store) ListFlags(ctx context.Context, projectID, afterID int64, limit int) ([]*experimentsv1.Flag, error) {
	rows, err := s.pool.Query(ctx, listFlagsSQL, projectID, afterID, limit)
	if err != nil {
		return nil, pg.Translate(err, flagNotFound)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*experimentsv1.Flag, error) { return scanFlag(r) })
	return out, pg.Translate(err, flagNotFound)
}

// CreateFlag inserts a flag with its variables.
func (s *Store) CreateFlag(ctx context.Context, projectID int64, f *experimentsv1.Flag) (*experimentsv1.Flag, error) {
	var out *experimentsv1.Flag
	err := s.write(ctx, projectID, func(tx pgx.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, insertFlagSQL, projectID, f.GetKey(), f.GetName(), f.GetDescription()).Scan(&id); err != nil {
			return err
		}
		if err := writeFlagVariables(ctx, tx, id, f.GetVariables()); err != nil {
			return err
		}
		var err error
		out, err = scanFlag(tx.QueryRow(ctx, getFlagSQL, id))
		return err
	})
	return out, pg.Translate(err, flagNotFound)
}

// UpdateFlag applies change to the stored flag under a row lock; a stale
// etag is Aborted. Variables still used by experiments that may run must
// stay and keep their values valid.
func (s *Store) UpdateFlag(ctx context.Context, projectID, id int64, etag string, change func(*experimentsv1.Flag) error) (*experimentsv1.Flag, error) {
	var out *experimentsv1.Flag
	err := s.write(ctx, projectID, func(tx pgx.Tx) error {
		cur, err := scanFlag(tx.QueryRow(ctx, getFlagForUpdateSQL, id, projectID))
		if err != nil {
			return err
		}
		if err := checkEtag("flag", etag, mustInt(cur.GetEtag())); err != nil {
			return err
		}
		if err := change(cur); err != nil {
			return err
		}
		if err := checkVariableUses(ctx, tx, id, cur.GetVariables()); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, updateFlagSQL, id, cur.GetName(), cur.GetDescription()); err != nil {
			return err
		}
		if err := writeFlagVariables(ctx, tx, id, cur.GetVariables()); err != nil {
			return err
		}
		out, err = scanFlag(tx.QueryRow(ctx, getFlagSQL, id))
		return err
	})
	return out, pg.Translate(err, flagNotFound)
}

// DeleteFlag deletes a flag no experiment refers to.
func (s *Store) DeleteFlag(ctx context.Context, projectID, id int64, etag string) error {
	err := s.write(ctx, projectID, func(tx pgx.Tx) error {
		cur, err := scanFlag(tx.QueryRow(ctx, getFlagForUpdateSQL, id, projectID))
		if err != nil {
			return err
		}
		if err := checkEtag("flag", etag, mustInt(cur.GetEtag())); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, deleteFlagSQL, id)
		return pg.Deleting(err)
	})
	return pg.Translate(err, flagNotFound)
}

func writeFlagVariables(ctx context.Context, tx pgx.Tx, flagID int64, vars []*experimentsv1.FlagVariable) error {
	keys := make([]string, len(vars))
	for i, v := range vars {
		keys[i] = v.GetKey()
	}
	if _, err := tx.Exec(ctx, deleteOtherFlagVariablesSQL, flagID, keys); err != nil {
		return err
	}
	for i, v := range vars {
		if _, err := tx.Exec(ctx, upsertFlagVariableSQL, flagID, i, v.GetKey(), int16(v.GetType()), v.GetDefaultValue()); err != nil {
			return err
		}
	}
	return nil
}

func checkVariableUses(ctx context.Context, tx pgx.Tx, flagID int64, vars []*experimentsv1.FlagVariable) error {
	types := map[string]string{}
	for _, v := range vars {
		types[v.GetKey()] = VariableTypeName(v.GetType())
	}
	rows, err := tx.Query(ctx, flagVariableUsesSQL, flagID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var exp, variation string
		var values map[string]string
		if err := rows.Scan(&exp, &variation, &values); err != nil {
			return err
		}
		for key, value := range values {
			typ, ok := types[key]
			if !ok {
				return apierr.FailedPrecondition("VARIABLE_IN_USE",
					"variable %q is set by variation %q of experiment %q", key, variation, exp).With("field", "flag.variables")
			}
			if err := datafile.CheckValue(typ, value); err != nil {
				return apierr.FailedPrecondition("VARIABLE_IN_USE",
					"variation %q of experiment %q sets %s to %s", variation, exp, key, err).With("field", "flag.variables")
			}
		}
	}
	return rows.Err()
}

// mustInt parses an etag the store itself produced.
func mustInt(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func variableType(t int32) experimentsv1.VariableType { return experimentsv1.VariableType(t) }
