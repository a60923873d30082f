package store

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/liftlabs/lift/pkg/apierr"
	"github.com/liftlabs/lift/pkg/pg"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
)

const projectColumns = `id, account_id, name, description, confidence_level, stats_method,
	false_discovery_rate_control, default_metric_keys, version, create_time, update_time`

const insertProjectSQL = `
INSERT INTO projects (account_id, name, description, confidence_level, stats_method,
	false_discovery_rate_control, default_metric_keys)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING ` + projectColumns

const getProjectSQL = `SELECT ` + projectColumns + ` FROM projects WHERE id = $1 AND account_id = $2`

// The row lock makes read-check-write of an update atomic: a concurrent
// update waits and then sees the new version, so its etag check fails.
const getProjectForUpdateSQL = getProjectSQL + ` FOR UPDATE`

const listProjectsSQL = `
SELECT ` + projectColumns + ` FROM projects
WHERE account_id = $1 AND id > $2
ORDER BY id
LIMIT $3`

const updateProjectSQL = `
UPDATE projects
SET name = $3, description = $4, confidence_level = $5, stats_method = $6,
	false_discovery_rate_control = $7, default_metric_keys = $8,
	version = version + 1, update_time = now()
WHERE id = $1 AND account_id = $2
RETURNING ` + projectColumns

const deleteProjectSQL = `DELETE FROM projects WHERE id = $1 AND account_id = $2`

const projectNotFound = "PROJECT_NOT_FOUND"

func scanProject(row pgx.Row) (*identityv1.Project, error) {
	var (
		p                identityv1.Project
		s                identityv1.ProjectSettings
		id, account, ver int64
		method           int16
		created, updated time.Time
	)
	err := row.Scan(&id, &account, &p.Name, &p.Description, &s.ConfidenceLevel, &method,
		&s.FalseDiscoveryRateControl, &s.DefaultMetricKeys, &ver, &created, &updated)
	if err != nil {
		return nil, err
	}
	s.StatsMethod = identityv1.StatsMethod(method)
	p.Id, p.AccountId, p.Settings = idString(id), idString(account), &s
	p.Etag = strconv.FormatInt(ver, 10)
	p.CreateTime, p.UpdateTime = ts(created), ts(updated)
	return &p, nil
}

// CreateProject inserts p and its environments in one transaction: either
// all rows exist afterwards or none.
func (s *Store) CreateProject(ctx context.Context, accountID int64, p *identityv1.Project, envs []*identityv1.Environment) (*identityv1.Project, error) {
	var out *identityv1.Project
	err := pg.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		set := p.GetSettings()
		var err error
		out, err = scanProject(tx.QueryRow(ctx, insertProjectSQL, accountID, p.GetName(), p.GetDescription(),
			set.GetConfidenceLevel(), int16(set.GetStatsMethod()), set.GetFalseDiscoveryRateControl(), metricKeys(set)))
		if err != nil {
			return err
		}
		projectID, _ := strconv.ParseInt(out.Id, 10, 64)
		for _, e := range envs {
			if _, err := insertEnvironment(ctx, tx, projectID, accountID, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, translateEnv(err)
	}
	return out, nil
}

// GetProject returns a project of the account.
func (s *Store) GetProject(ctx context.Context, accountID, id int64) (*identityv1.Project, error) {
	p, err := scanProject(s.pool.QueryRow(ctx, getProjectSQL, id, accountID))
	return p, pg.Translate(err, projectNotFound)
}

// ListProjects returns up to limit projects of the account with ids above
// afterID, oldest first.
func (s *Store) ListProjects(ctx context.Context, accountID, afterID int64, limit int) ([]*identityv1.Project, error) {
	rows, err := s.pool.Query(ctx, listProjectsSQL, accountID, afterID, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*identityv1.Project, error) { return scanProject(r) })
}

// UpdateProject locks the project, checks etag (when not empty) against
// the stored version, lets change modify it and writes it back.
func (s *Store) UpdateProject(ctx context.Context, accountID, id int64, etag string, change func(*identityv1.Project)) (*identityv1.Project, error) {
	var out *identityv1.Project
	err := pg.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		cur, err := scanProject(tx.QueryRow(ctx, getProjectForUpdateSQL, id, accountID))
		if err != nil {
			return err
		}
		if etag != "" && etag != cur.Etag {
			return apierr.Aborted("ETAG_MISMATCH", "the project was changed since it was read; read it again").With("etag", cur.Etag)
		}
		change(cur)
		set := cur.GetSettings()
		out, err = scanProject(tx.QueryRow(ctx, updateProjectSQL, id, accountID, cur.GetName(), cur.GetDescription(),
			set.GetConfidenceLevel(), int16(set.GetStatsMethod()), set.GetFalseDiscoveryRateControl(), metricKeys(set)))
		return err
	})
	return out, pg.Translate(err, projectNotFound)
}

// DeleteProject deletes a project of the account and, by cascade, its
// environments.
func (s *Store) DeleteProject(ctx context.Context, accountID, id int64) error {
	tag, err := s.pool.Exec(ctx, deleteProjectSQL, id, accountID)
	if err != nil {
		return pg.Translate(pg.Deleting(err), projectNotFound)
	}
	if tag.RowsAffected() == 0 {
		return apierr.NotFound(projectNotFound, "project not found")
	}
	return nil
}

// metricKeys never returns nil: the column is NOT NULL.
func metricKeys(s *identityv1.ProjectSettings) []string {
	if k := s.GetDefaultMetricKeys(); k != nil {
		return k
	}
	return []string{}
}
