package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/liftlabs/lift/pkg/pg"
	"github.com/liftlabs/lift/services/experiments/internal/datafile"
)

const projectRevisionsSQL = `
SELECT environment_id, environment_key, content_hash FROM datafile_revisions WHERE project_id = $1`

// Revision times are whole seconds and strictly increasing, so HTTP's
// second-resolution Last-Modified / If-Modified-Since (which the Optimizely
// SDKs poll with) tells every revision apart.
const bumpRevisionSQL = `
UPDATE datafile_revisions SET revision = revision + 1, content_hash = $2,
	update_time = GREATEST(date_trunc('second', now()), update_time + interval '1 second')
WHERE environment_id = $1`

const getRevisionSQL = `SELECT revision, update_time FROM datafile_revisions WHERE environment_id = $1`

const insertRevisionSQL = `
INSERT INTO datafile_revisions (environment_id, project_id, environment_key, revision, content_hash, update_time)
VALUES ($1, $2, $3, 1, $4, date_trunc('second', now())) ON CONFLICT (environment_id) DO NOTHING`

// refreshRevisions re-hashes the datafile of every served environment of
// the project and raises the revision of those whose content changed. It
// runs inside the write's transaction, under the project lock.
func refreshRevisions(ctx context.Context, tx pgx.Tx, projectID int64) ([]int64, error) {
	type env struct {
		id   int64
		key  string
		hash string
	}
	rows, err := tx.Query(ctx, projectRevisionsSQL, projectID)
	if err != nil {
		return nil, err
	}
	envs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (env, error) {
		var e env
		err := r.Scan(&e.id, &e.key, &e.hash)
		return e, err
	})
	if err != nil || len(envs) == 0 {
		return nil, err
	}
	cfg, err := loadConfig(ctx, tx, projectID)
	if err != nil {
		return nil, err
	}
	var bumped []int64
	for _, e := range envs {
		hash, err := datafile.ContentHash(cfg.input(e.key))
		if err != nil {
			return nil, err
		}
		if hash == e.hash {
			continue
		}
		if _, err := tx.Exec(ctx, bumpRevisionSQL, e.id, hash); err != nil {
			return nil, err
		}
		bumped = append(bumped, e.id)
	}
	return bumped, nil
}

// Revision is a datafile revision and when it was made.
type Revision struct {
	Number int64
	Time   time.Time
}

// Snapshot is an environment's datafile input at one revision.
type Snapshot struct {
	Revision Revision
	Input    *datafile.Input
}

// CurrentRevision returns an environment's datafile revision, starting it
// at 1 on first use.
func (s *Store) CurrentRevision(ctx context.Context, projectID, environmentID int64, environmentKey string) (Revision, error) {
	var r Revision
	err := s.pool.QueryRow(ctx, getRevisionSQL, environmentID).Scan(&r.Number, &r.Time)
	if err == pgx.ErrNoRows {
		if err := s.startRevision(ctx, projectID, environmentID, environmentKey); err != nil {
			return r, err
		}
		err = s.pool.QueryRow(ctx, getRevisionSQL, environmentID).Scan(&r.Number, &r.Time)
	}
	return r, pg.Translate(err, "DATAFILE_NOT_FOUND")
}

// startRevision records revision 1 with the current content hash, under
// the project lock so that no concurrent write is missed.
func (s *Store) startRevision(ctx context.Context, projectID, environmentID int64, environmentKey string) error {
	return pg.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockProjectSQL, projectID); err != nil {
			return err
		}
		cfg, err := loadConfig(ctx, tx, projectID)
		if err != nil {
			return err
		}
		hash, err := datafile.ContentHash(cfg.input(environmentKey))
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, insertRevisionSQL, environmentID, projectID, environmentKey, hash)
		return err
	})
}

// Snapshot reads an environment's revision and the configuration it was
// made from in one consistent (repeatable read) view, so a datafile is
// never labelled with a revision its content does not belong to.
func (s *Store) Snapshot(ctx context.Context, projectID, environmentID int64, environmentKey string) (*Snapshot, error) {
	if _, err := s.CurrentRevision(ctx, projectID, environmentID, environmentKey); err != nil {
		return nil, err
	}
	var snap Snapshot
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, getRevisionSQL, environmentID).Scan(&snap.Revision.Number, &snap.Revision.Time); err != nil {
			return err
		}
		cfg, err := loadConfig(ctx, tx, projectID)
		if err != nil {
			return err
		}
		snap.Input = cfg.input(environmentKey)
		snap.Input.Revision = snap.Revision.Number
		return nil
	})
	return &snap, pg.Translate(err, "DATAFILE_NOT_FOUND")
}
