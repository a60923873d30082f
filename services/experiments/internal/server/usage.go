package server

import (
	"context"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"github.com/liftlabs/lift/services/experiments/internal/store"
)

// GetProjectUsage counts a project's flags, experiments and audiences for
// identity, which refuses to delete a project that still has any. Internal
// (service credential), so it needs no project access check: identity has
// done that for its own caller.
func (s *Server) GetProjectUsage(ctx context.Context, req *experimentsv1.GetProjectUsageRequest) (*experimentsv1.GetProjectUsageResponse, error) {
	id, err := store.ParseID(req.GetProjectId(), "PROJECT_NOT_FOUND")
	if err != nil {
		return nil, err
	}
	return s.store.ProjectUsage(ctx, id)
}
