package server

import (
	"context"
	"github.com/liftlabs/lift/pkg/httpmeta"

	"github.com/liftlabs/lift/pkg/pagetoken"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"github.com/liftlabs/lift/services/experiments/internal/store"
)

const layerNotFound = "LAYER_NOT_FOUND"

// CreateLayer creates a layer in a project of the caller's account.
func (s *Server) CreateLayer(ctx context.Context, req *experimentsv1.CreateLayerRequest) (*experimentsv1.CreateLayerResponse, error) {
	projectID, err := s.project(ctx, req.GetProjectId())
	if err != nil {
		return nil, err
	}
	l, err := s.store.CreateLayer(ctx, projectID, req.GetLayer())
	if err != nil {
		return nil, err
	}
	httpmeta.Created(ctx, "/v1/layers/"+l.GetId())
	return &experimentsv1.CreateLayerResponse{Layer: l}, nil
}

// GetLayer returns one layer with its allocations.
func (s *Server) GetLayer(ctx context.Context, req *experimentsv1.GetLayerRequest) (*experimentsv1.GetLayerResponse, error) {
	l, _, err := s.layer(ctx, req.GetLayerId())
	if err != nil {
		return nil, err
	}
	return &experimentsv1.GetLayerResponse{Layer: l}, nil
}

// ListLayers pages through a project's layers, oldest first.
func (s *Server) ListLayers(ctx context.Context, req *experimentsv1.ListLayersRequest) (*experimentsv1.ListLayersResponse, error) {
	projectID, err := s.project(ctx, req.GetProjectId())
	if err != nil {
		return nil, err
	}
	after, err := pagetoken.Decode(req.GetPageToken())
	if err != nil {
		return nil, err
	}
	size := pagetoken.Size(req.GetPageSize())
	rows, err := s.store.ListLayers(ctx, projectID, after, size+1)
	if err != nil {
		return nil, err
	}
	page, next := pagetoken.Next(rows, size, func(l *experimentsv1.Layer) int64 { return numericID(l.GetId()) })
	return &experimentsv1.ListLayersResponse{Layers: page, NextPageToken: next}, nil
}

// UpdateLayer changes the masked fields; a stale etag is Aborted.
func (s *Server) UpdateLayer(ctx context.Context, req *experimentsv1.UpdateLayerRequest) (*experimentsv1.UpdateLayerResponse, error) {
	in := req.GetLayer()
	_, projectID, err := s.layer(ctx, in.GetId())
	if err != nil {
		return nil, err
	}
	l, err := s.store.UpdateLayer(ctx, projectID, numericID(in.GetId()), in.GetEtag(), func(cur *experimentsv1.Layer) {
		for _, p := range req.GetUpdateMask().GetPaths() {
			switch p {
			case "name":
				cur.Name = in.GetName()
			case "description":
				cur.Description = in.GetDescription()
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return &experimentsv1.UpdateLayerResponse{Layer: l}, nil
}

// DeleteLayer deletes a layer no experiment refers to.
func (s *Server) DeleteLayer(ctx context.Context, req *experimentsv1.DeleteLayerRequest) (*experimentsv1.DeleteLayerResponse, error) {
	_, projectID, err := s.layer(ctx, req.GetLayerId())
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteLayer(ctx, projectID, numericID(req.GetLayerId()), req.GetEtag()); err != nil {
		return nil, err
	}
	return &experimentsv1.DeleteLayerResponse{}, nil
}

// layer loads a layer the caller may see.
func (s *Server) layer(ctx context.Context, id string) (*experimentsv1.Layer, int64, error) {
	layerID, err := store.ParseID(id, layerNotFound)
	if err != nil {
		return nil, 0, err
	}
	l, err := s.store.GetLayer(ctx, layerID)
	if err != nil {
		return nil, 0, err
	}
	projectID, err := s.owned(ctx, l.GetProjectId(), layerNotFound)
	return l, projectID, err
}

// GetExperimentLayer returns the layer of an experiment the caller may see
// (none when it belongs to no layer), so the gateway can ask for it without
// first waiting for the experiment.
func (s *Server) GetExperimentLayer(ctx context.Context, req *experimentsv1.GetExperimentLayerRequest) (*experimentsv1.GetExperimentLayerResponse, error) {
	e, _, err := s.experiment(ctx, req.GetExperimentId())
	if err != nil {
		return nil, err
	}
	if e.GetLayerId() == "" {
		return &experimentsv1.GetExperimentLayerResponse{}, nil
	}
	l, _, err := s.layer(ctx, e.GetLayerId())
	if err != nil {
		return nil, err
	}
	return &experimentsv1.GetExperimentLayerResponse{Layer: l}, nil
}
