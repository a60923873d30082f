package server

import (
	"context"
	"github.com/liftlabs/lift/pkg/httpmeta"

	"github.com/liftlabs/lift/pkg/apierr"
	"github.com/liftlabs/lift/pkg/datafile/bucketing"
	"github.com/liftlabs/lift/pkg/pagetoken"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"github.com/liftlabs/lift/services/experiments/internal/directory"
	"github.com/liftlabs/lift/services/experiments/internal/lifecycle"
	"github.com/liftlabs/lift/services/experiments/internal/store"
	"google.golang.org/protobuf/proto"
)

const experimentNotFound = "EXPERIMENT_NOT_FOUND"

type environment = directory.Environment

// CreateExperiment creates a draft experiment.
func (s *Server) CreateExperiment(ctx context.Context, req *experimentsv1.CreateExperimentRequest) (*experimentsv1.CreateExperimentResponse, error) {
	projectID, err := s.project(ctx, req.GetProjectId())
	if err != nil {
		return nil, err
	}
	e := proto.CloneOf(req.GetExperiment())
	if e.TrafficAllocation == nil {
		e.TrafficAllocation = proto.Int32(bucketing.MaxBuckets)
	}
	if err := s.checkExperiment(ctx, projectID, e); err != nil {
		return nil, err
	}
	out, err := s.store.CreateExperiment(ctx, projectID, e)
	if err != nil {
		return nil, err
	}
	httpmeta.Created(ctx, "/v1/experiments/"+out.GetId())
	return &experimentsv1.CreateExperimentResponse{Experiment: out}, nil
}

// GetExperiment returns one experiment.
func (s *Server) GetExperiment(ctx context.Context, req *experimentsv1.GetExperimentRequest) (*experimentsv1.GetExperimentResponse, error) {
	e, _, err := s.experiment(ctx, req.GetExperimentId())
	if err != nil {
		return nil, err
	}
	return &experimentsv1.GetExperimentResponse{Experiment: e}, nil
}

// ListExperiments pages through a project's experiments, oldest first.
func (s *Server) ListExperiments(ctx context.Context, req *experimentsv1.ListExperimentsRequest) (*experimentsv1.ListExperimentsResponse, error) {
	projectID, err := s.project(ctx, req.GetProjectId())
	if err != nil {
		return nil, err
	}
	after, err := pagetoken.Decode(req.GetPageToken())
	if err != nil {
		return nil, err
	}
	size := pagetoken.Size(req.GetPageSize())
	rows, err := s.store.ListExperiments(ctx, projectID, req.GetStatus(), after, size+1)
	if err != nil {
		return nil, err
	}
	page, next := pagetoken.Next(rows, size, func(e *experimentsv1.Experiment) int64 { return numericID(e.GetId()) })
	return &experimentsv1.ListExperimentsResponse{Experiments: page, NextPageToken: next}, nil
}

// UpdateExperiment changes the masked fields. The merged experiment is
// validated against the version read here; if another write lands in
// between, the update is Aborted rather than applied to unchecked state.
func (s *Server) UpdateExperiment(ctx context.Context, req *experimentsv1.UpdateExperimentRequest) (*experimentsv1.UpdateExperimentResponse, error) {
	in := req.GetExperiment()
	cur, projectID, err := s.experiment(ctx, in.GetId())
	if err != nil {
		return nil, err
	}
	if err := checkStaleEtag(in.GetEtag(), cur.GetEtag()); err != nil {
		return nil, err
	}
	paths := req.GetUpdateMask().GetPaths()
	merged := proto.CloneOf(cur)
	for _, p := range paths {
		if err := lifecycle.CheckUpdate(cur.GetStatus(), p); err != nil {
			return nil, err
		}
		applyExperimentPath(merged, in, p)
	}
	if err := s.checkExperiment(ctx, projectID, merged); err != nil {
		return nil, err
	}
	out, err := s.store.UpdateExperiment(ctx, projectID, numericID(in.GetId()), in.GetEtag(), func(stored *experimentsv1.Experiment) error {
		if stored.GetEtag() != cur.GetEtag() {
			return apierr.Aborted("CONCURRENT_UPDATE", "the experiment changed while the update was checked; please retry")
		}
		for _, p := range paths {
			applyExperimentPath(stored, merged, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &experimentsv1.UpdateExperimentResponse{Experiment: out}, nil
}

// applyExperimentPath copies one masked field of src onto dst.
func applyExperimentPath(dst, src *experimentsv1.Experiment, path string) {
	switch path {
	case "name":
		dst.Name = src.GetName()
	case "description":
		dst.Description = src.GetDescription()
	case "flag_id":
		dst.FlagId = src.GetFlagId()
	case "layer_id":
		dst.LayerId = src.GetLayerId()
	case "layer_traffic_allocation":
		dst.LayerTrafficAllocation = src.GetLayerTrafficAllocation()
	case "traffic_allocation":
		dst.TrafficAllocation = proto.Int32(bucketing.MaxBuckets)
		if src.TrafficAllocation != nil {
			dst.TrafficAllocation = proto.Int32(src.GetTrafficAllocation())
		}
	case "variations":
		dst.Variations = src.GetVariations()
	case "audience_conditions":
		dst.AudienceConditions = src.GetAudienceConditions()
	case "metrics":
		dst.Metrics = src.GetMetrics()
	case "environment_keys":
		dst.EnvironmentKeys = src.GetEnvironmentKeys()
	}
}

// DeleteExperiment deletes a draft or archived experiment.
func (s *Server) DeleteExperiment(ctx context.Context, req *experimentsv1.DeleteExperimentRequest) (*experimentsv1.DeleteExperimentResponse, error) {
	_, projectID, err := s.experiment(ctx, req.GetExperimentId())
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteExperiment(ctx, projectID, numericID(req.GetExperimentId()), req.GetEtag()); err != nil {
		return nil, err
	}
	return &experimentsv1.DeleteExperimentResponse{}, nil
}

// StartExperiment starts a draft or resumes a paused experiment.
func (s *Server) StartExperiment(ctx context.Context, req *experimentsv1.StartExperimentRequest) (*experimentsv1.StartExperimentResponse, error) {
	e, err := s.transition(ctx, req.GetExperimentId(), req.GetEtag(), lifecycle.Start)
	if err != nil {
		return nil, err
	}
	return &experimentsv1.StartExperimentResponse{Experiment: e}, nil
}

// PauseExperiment pauses a running experiment.
func (s *Server) PauseExperiment(ctx context.Context, req *experimentsv1.PauseExperimentRequest) (*experimentsv1.PauseExperimentResponse, error) {
	e, err := s.transition(ctx, req.GetExperimentId(), req.GetEtag(), lifecycle.Pause)
	if err != nil {
		return nil, err
	}
	return &experimentsv1.PauseExperimentResponse{Experiment: e}, nil
}

// ConcludeExperiment concludes a running or paused experiment.
func (s *Server) ConcludeExperiment(ctx context.Context, req *experimentsv1.ConcludeExperimentRequest) (*experimentsv1.ConcludeExperimentResponse, error) {
	e, err := s.transition(ctx, req.GetExperimentId(), req.GetEtag(), lifecycle.Conclude)
	if err != nil {
		return nil, err
	}
	return &experimentsv1.ConcludeExperimentResponse{Experiment: e}, nil
}

// ArchiveExperiment archives a concluded experiment.
func (s *Server) ArchiveExperiment(ctx context.Context, req *experimentsv1.ArchiveExperimentRequest) (*experimentsv1.ArchiveExperimentResponse, error) {
	e, err := s.transition(ctx, req.GetExperimentId(), req.GetEtag(), lifecycle.Archive)
	if err != nil {
		return nil, err
	}
	return &experimentsv1.ArchiveExperimentResponse{Experiment: e}, nil
}

func (s *Server) transition(ctx context.Context, id, etag string, a lifecycle.Action) (*experimentsv1.Experiment, error) {
	_, projectID, err := s.experiment(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.store.SetStatus(ctx, projectID, numericID(id), etag, a)
}

// experiment loads an experiment the caller may see.
func (s *Server) experiment(ctx context.Context, id string) (*experimentsv1.Experiment, int64, error) {
	expID, err := store.ParseID(id, experimentNotFound)
	if err != nil {
		return nil, 0, err
	}
	e, err := s.store.GetExperiment(ctx, expID)
	if err != nil {
		return nil, 0, err
	}
	projectID, err := s.owned(ctx, e.GetProjectId(), experimentNotFound)
	return e, projectID, err
}

// checkStaleEtag fails early on an etag that is already stale; the store
// checks again under its row lock.
func checkStaleEtag(sent, current string) error {
	if sent != "" && sent != current {
		return apierr.Aborted("ETAG_MISMATCH", "the experiment changed since it was read; read it again and retry").
			With("current_etag", current)
	}
	return nil
}
