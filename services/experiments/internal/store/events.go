package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/liftlabs/lift/pkg/pg"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
)

const eventNotFound = "EVENT_NOT_FOUND"

const eventColumns = `id, project_id, key, name, description, version, create_time, update_time`

const getEventSQL = `SELECT ` + eventColumns + ` FROM events WHERE id = $1`

const getEventForUpdateSQL = `SELECT ` + eventColumns + ` FROM events WHERE id = $1 AND project_id = $2 FOR UPDATE`

const listEventsSQL = `SELECT ` + eventColumns + ` FROM events WHERE project_id = $1 AND id > $2 ORDER BY id LIMIT $3`

const insertEventSQL = `INSERT INTO events (project_id, key, name, description) VALUES ($1, $2, $3, $4) RETURNING ` + eventColumns

const updateEventSQL = `
UPDATE events SET name = $2, description = $3, version = version + 1, update_time = now()
WHERE id = $1 RETURNING ` + eventColumns

const deleteEventSQL = `DELETE FROM events WHERE id = $1`

func scanEvent(row pgx.Row) (*experimentsv1.Event, error) {
	var (
		e                experimentsv1.Event
		id, project, ver int64
		created, updated time.Time
	)
	if err := row.Scan(&id, &project, &e.Key, &e.Name, &e.Description, &ver, &created, &updated); err != nil {
		return nil, err
	}
	e.Id, e.ProjectId, e.Etag = idString(id), idString(project), idString(ver)
	e.CreateTime, e.UpdateTime = ts(created), ts(updated)
	return &e, nil
}

// GetEvent returns an event by id, whatever its project (callers check).
func (s *Store) GetEvent(ctx context.Context, id int64) (*experimentsv1.Event, error) {
	e, err := scanEvent(s.pool.QueryRow(ctx, getEventSQL, id))
	return e, pg.Translate(err, eventNotFound)
}

// ListEvents pages through a project's events by id.
func (s *Store) ListEvents(ctx context.Context, projectID, afterID int64, limit int) ([]*experimentsv1.Event, error) {
	rows, err := s.pool.Query(ctx, listEventsSQL, projectID, afterID, limit)
	if err != nil {
		return nil, pg.Translate(err, eventNotFound)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*experimentsv1.Event, error) { return scanEvent(r) })
	return out, pg.Translate(err, eventNotFound)
}

// CreateEvent inserts an event.
func (s *Store) CreateEvent(ctx context.Context, projectID int64, e *experimentsv1.Event) (*experimentsv1.Event, error) {
	var out *experimentsv1.Event
	err := s.write(ctx, projectID, func(tx pgx.Tx) error {
		var err error
		out, err = scanEvent(tx.QueryRow(ctx, insertEventSQL, projectID, e.GetKey(), e.GetName(), e.GetDescription()))
		return err
	})
	return out, pg.Translate(err, eventNotFound)
}

// UpdateEvent applies change under a row lock; a stale etag is Aborted.
func (s *Store) UpdateEvent(ctx context.Context, projectID, id int64, etag string, change func(*experimentsv1.Event)) (*experimentsv1.Event, error) {
	var out *experimentsv1.Event
	err := s.write(ctx, projectID, func(tx pgx.Tx) error {
		cur, err := scanEvent(tx.QueryRow(ctx, getEventForUpdateSQL, id, projectID))
		if err != nil {
			return err
		}
		if err := checkEtag("event", etag, mustInt(cur.GetEtag())); err != nil {
			return err
		}
		change(cur)
		out, err = scanEvent(tx.QueryRow(ctx, updateEventSQL, id, cur.GetName(), cur.GetDescription()))
		return err
	})
	return out, pg.Translate(err, eventNotFound)
}

// DeleteEvent deletes an event no experiment measures.
func (s *Store) DeleteEvent(ctx context.Context, projectID, id int64, etag string) error {
	err := s.write(ctx, projectID, func(tx pgx.Tx) error {
		cur, err := scanEvent(tx.QueryRow(ctx, getEventForUpdateSQL, id, projectID))
		if err != nil {
			return err
		}
		if err := checkEtag("event", etag, mustInt(cur.GetEtag())); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, deleteEventSQL, id)
		return pg.Deleting(err)
	})
	return pg.Translate(err, eventNotFound)
}
