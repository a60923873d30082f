package store

import (
	"context"

	"github.com/liftlabs/lift/pkg/pg"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
)

// projectUsageSQL counts a project's flags, experiments and audiences in
// one snapshot.
const projectUsageSQL = `SELECT
	(SELECT count(*) FROM flags WHERE project_id = $1),
	(SELECT count(*) FROM experiments WHERE project_id = $1),
	(SELECT count(*) FROM audiences WHERE project_id = $1)`

// ProjectUsage counts what a project still holds here; an unknown project
// holds nothing.
func (s *Store) ProjectUsage(ctx context.Context, projectID int64) (*experimentsv1.GetProjectUsageResponse, error) {
	out := &experimentsv1.GetProjectUsageResponse{}
	if err := s.pool.QueryRow(ctx, projectUsageSQL, projectID).Scan(&out.Flags, &out.Experiments, &out.Audiences); err != nil {
		return nil, pg.Translate(err, "PROJECT_NOT_FOUND")
	}
	return out, nil
}
