package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/liftlabs/lift/pkg/pg"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
)

const audienceNotFound = "AUDIENCE_NOT_FOUND"

const audienceColumns = `id, project_id, key, name, description, conditions, version, create_time, update_time`

const getAudienceSQL = `SELECT ` + audienceColumns + ` FROM audiences WHERE id = $1`

const getAudienceForUpdateSQL = `SELECT ` + audienceColumns + ` FROM audiences WHERE id = $1 AND project_id = $2 FOR UPDATE`

const listAudiencesSQL = `SELECT ` + audienceColumns + ` FROM audiences WHERE project_id = $1 AND id > $2 ORDER BY id LIMIT $3`

const insertAudienceSQL = `
INSERT INTO audiences (project_id, key, name, description, conditions) VALUES ($1, $2, $3, $4, $5)
RETURNING ` + audienceColumns

const updateAudienceSQL = `
UPDATE audiences SET name = $2, description = $3, conditions = $4, version = version + 1, update_time = now()
WHERE id = $1 RETURNING ` + audienceColumns

// A rule's reference (ruleset_audiences) makes the delete fail with
// STILL_REFERENCED.
const deleteAudienceSQL = `DELETE FROM audiences WHERE id = $1`

func scanAudience(row pgx.Row) (*experimentsv1.Audience, error) {
	var (
		a                experimentsv1.Audience
		id, project, ver int64
		created, updated time.Time
	)
	if err := row.Scan(&id, &project, &a.Key, &a.Name, &a.Description, &a.Conditions, &ver, &created, &updated); err != nil {
		return nil, err
	}
	a.Id, a.ProjectId, a.Etag = idString(id), idString(project), idString(ver)
	a.CreateTime, a.UpdateTime = ts(created), ts(updated)
	return &a, nil
}

// GetAudience returns an audience by id, whatever its project (callers
// check).
func (s *Store) GetAudience(ctx context.Context, id int64) (*experimentsv1.Audience, error) {
	a, err := scanAudience(s.pool.QueryRow(ctx, getAudienceSQL, id))
	return a, pg.Translate(err, audienceNotFound)
}

// ListAudiences pages through a project's audiences by id.
func (s *Store) ListAudiences(ctx context.Context, projectID, afterID int64, limit int) ([]*experimentsv1.Audience, error) {
	rows, err := s.pool.Query(ctx, listAudiencesSQL, projectID, afterID, limit)
	if err != nil {
		return nil, pg.Translate(err, audienceNotFound)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*experimentsv1.Audience, error) { return scanAudience(r) })
	return out, pg.Translate(err, audienceNotFound)
}

// CreateAudience inserts an audience whose conditions are canonical, and
// registers the attributes they name.
func (s *Store) CreateAudience(ctx context.Context, projectID int64, a *experimentsv1.Audience) (*experimentsv1.Audience, error) {
	var out *experimentsv1.Audience
	err := s.write(ctx, projectID, func(tx pgx.Tx) error {
		if err := upsertAttributes(ctx, tx, projectID, a.GetConditions()); err != nil {
			return err
		}
		var err error
		out, err = scanAudience(tx.QueryRow(ctx, insertAudienceSQL, projectID, a.GetKey(), a.GetName(), a.GetDescription(), a.GetConditions()))
		return err
	})
	return out, pg.Translate(err, audienceNotFound)
}

// UpdateAudience applies change under a row lock; a stale etag is Aborted.
// Every datafile listing the audience gets a new revision.
func (s *Store) UpdateAudience(ctx context.Context, projectID, id int64, etag string, change func(*experimentsv1.Audience)) (*experimentsv1.Audience, error) {
	var out *experimentsv1.Audience
	err := s.write(ctx, projectID, func(tx pgx.Tx) error {
		cur, err := scanAudience(tx.QueryRow(ctx, getAudienceForUpdateSQL, id, projectID))
		if err != nil {
			return err
		}
		if err := checkEtag("audience", etag, mustInt(cur.GetEtag())); err != nil {
			return err
		}
		change(cur)
		if err := upsertAttributes(ctx, tx, projectID, cur.GetConditions()); err != nil {
			return err
		}
		out, err = scanAudience(tx.QueryRow(ctx, updateAudienceSQL, id, cur.GetName(), cur.GetDescription(), cur.GetConditions()))
		return err
	})
	return out, pg.Translate(err, audienceNotFound)
}

// DeleteAudience deletes an audience no delivery rule uses.
func (s *Store) DeleteAudience(ctx context.Context, projectID, id int64, etag string) error {
	err := s.write(ctx, projectID, func(tx pgx.Tx) error {
		cur, err := scanAudience(tx.QueryRow(ctx, getAudienceForUpdateSQL, id, projectID))
		if err != nil {
			return err
		}
		if err := checkEtag("audience", etag, mustInt(cur.GetEtag())); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, deleteAudienceSQL, id)
		return pg.Deleting(err)
	})
	return pg.Translate(err, audienceNotFound)
}
