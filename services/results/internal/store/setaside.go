package store

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/liftlabs/lift/services/results/internal/ingest"
)

// SetAside lists the events set aside most recently, newest first, at most
// limit of them (the operator's view behind the admin listing).
func (s *Store) SetAside(ctx context.Context, limit int) ([]ingest.SetAside, error) {
	rows, err := s.pool.Query(ctx, `
SELECT project_id, uuid, visitor_id, key, occurred_at, experiment_id, variation_id, reason
FROM set_aside_events ORDER BY set_aside_at DESC, project_id, uuid LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (ingest.SetAside, error) {
		var a ingest.SetAside
		err := row.Scan(&a.ProjectID, &a.UUID, &a.VisitorID, &a.Key, &a.At, &a.ExperimentID, &a.VariationID, &a.Reason)
		return a, err
	})
}
