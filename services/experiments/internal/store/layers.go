package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/liftlabs/lift/pkg/datafile/bucketing"
	"github.com/liftlabs/lift/pkg/pg"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
)

const layerNotFound = "LAYER_NOT_FOUND"

const layerColumns = `l.id, l.project_id, l.key, l.name, l.description, l.version, l.create_time, l.update_time,
	COALESCE((SELECT json_agg(json_build_object('id', e.id, 'key', e.key, 'start', e.layer_start, 'end', e.layer_end)
		ORDER BY e.layer_start) FROM experiments e WHERE e.layer_id = l.id AND e.layer_start IS NOT NULL), '[]')`

const getLayerSQL = `SELECT ` + layerColumns + ` FROM layers l WHERE l.id = $1`

const getLayerForUpdateSQL = `SELECT ` + layerColumns + ` FROM layers l WHERE l.id = $1 AND l.project_id = $2 FOR UPDATE`

const listLayersSQL = `SELECT ` + layerColumns + ` FROM layers l WHERE l.project_id = $1 AND l.id > $2 ORDER BY l.id LIMIT $3`

const insertLayerSQL = `INSERT INTO layers (project_id, key, name, description) VALUES ($1, $2, $3, $4) RETURNING id`

const updateLayerSQL = `UPDATE layers SET name = $2, description = $3, version = version + 1, update_time = now() WHERE id = $1`

const deleteLayerSQL = `DELETE FROM layers WHERE id = $1`

type allocationRow struct {
	ID    int64  `json:"id"`
	Key   string `json:"key"`
	Start int32  `json:"start"`
	End   int32  `json:"end"`
}

func scanLayer(row pgx.Row) (*experimentsv1.Layer, error) {
	var (
		l                experimentsv1.Layer
		id, project, ver int64
		created, updated time.Time
		allocs           []byte
	)
	if err := row.Scan(&id, &project, &l.Key, &l.Name, &l.Description, &ver, &created, &updated, &allocs); err != nil {
		return nil, err
	}
	var rows []allocationRow
	if err := json.Unmarshal(allocs, &rows); err != nil {
		return nil, err
	}
	l.FreeTraffic = bucketing.MaxBuckets
	for _, r := range rows {
		l.Allocations = append(l.Allocations, &experimentsv1.LayerAllocation{
			ExperimentId: idString(r.ID), ExperimentKey: r.Key, Start: r.Start, End: r.End,
		})
		l.FreeTraffic -= r.End - r.Start
	}
	l.Id, l.ProjectId, l.Etag = idString(id), idString(project), idString(ver)
	l.CreateTime, l.UpdateTime = ts(created), ts(updated)
	return &l, nil
}

// GetLayer returns a layer by id, whatever its project (callers check).
func (s *Store) GetLayer(ctx context.Context, id int64) (*experimentsv1.Layer, error) {
	l, err := scanLayer(s.pool.QueryRow(ctx, getLayerSQL, id))
	return l, pg.Translate(err, layerNotFound)
}

// ListLayers pages through a project's layers by id.
func (s *Store) ListLayers(ctx context.Context, projectID, afterID int64, limit int) ([]*experimentsv1.Layer, error) {
	rows, err := s.pool.Query(ctx, listLayersSQL, projectID, afterID, limit)
	if err != nil {
		return nil, pg.Translate(err, layerNotFound)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*experimentsv1.Layer, error) { return scanLayer(r) })
	return out, pg.Translate(err, layerNotFound)
}

// CreateLayer inserts a layer.
func (s *Store) CreateLayer(ctx context.Context, projectID int64, l *experimentsv1.Layer) (*experimentsv1.Layer, error) {
	var out *experimentsv1.Layer
	err := s.write(ctx, projectID, func(tx pgx.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, insertLayerSQL, projectID, l.GetKey(), l.GetName(), l.GetDescription()).Scan(&id); err != nil {
			return err
		}
		var err error
		out, err = scanLayer(tx.QueryRow(ctx, getLayerSQL, id))
		return err
	})
	return out, pg.Translate(err, layerNotFound)
}

// UpdateLayer applies change under a row lock; a stale etag is Aborted.
func (s *Store) UpdateLayer(ctx context.Context, projectID, id int64, etag string, change func(*experimentsv1.Layer)) (*experimentsv1.Layer, error) {
	var out *experimentsv1.Layer
	err := s.write(ctx, projectID, func(tx pgx.Tx) error {
		cur, err := scanLayer(tx.QueryRow(ctx, getLayerForUpdateSQL, id, projectID))
		if err != nil {
			return err
		}
		if err := checkEtag("layer", etag, mustInt(cur.GetEtag())); err != nil {
			return err
		}
		change(cur)
		if _, err := tx.Exec(ctx, updateLayerSQL, id, cur.GetName(), cur.GetDescription()); err != nil {
			return err
		}
		out, err = scanLayer(tx.QueryRow(ctx, getLayerSQL, id))
		return err
	})
	return out, pg.Translate(err, layerNotFound)
}

// DeleteLayer deletes a layer no experiment refers to.
func (s *Store) DeleteLayer(ctx context.Context, projectID, id int64, etag string) error {
	err := s.write(ctx, projectID, func(tx pgx.Tx) error {
		cur, err := scanLayer(tx.QueryRow(ctx, getLayerForUpdateSQL, id, projectID))
		if err != nil {
			return err
		}
		if err := checkEtag("layer", etag, mustInt(cur.GetEtag())); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, deleteLayerSQL, id)
		return pg.Deleting(err)
	})
	return pg.Translate(err, layerNotFound)
}
