package server

import (
	"context"
	"errors"

	"github.com/liftlabs/lift/pkg/apierr"
	"github.com/liftlabs/lift/pkg/datafile/audience"
	"github.com/liftlabs/lift/pkg/httpmeta"
	"github.com/liftlabs/lift/pkg/pagetoken"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"github.com/liftlabs/lift/services/experiments/internal/store"
)

const audienceNotFound = "AUDIENCE_NOT_FOUND"

// CreateAudience creates a reusable audience in a project of the caller's
// account.
func (s *Server) CreateAudience(ctx context.Context, req *experimentsv1.CreateAudienceRequest) (*experimentsv1.CreateAudienceResponse, error) {
	projectID, err := s.project(ctx, req.GetProjectId())
	if err != nil {
		return nil, err
	}
	in := req.GetAudience()
	if in.Conditions, err = audienceConditions(in.GetConditions()); err != nil {
		return nil, err
	}
	a, err := s.store.CreateAudience(ctx, projectID, in)
	if err != nil {
		return nil, err
	}
	httpmeta.Created(ctx, "/v1/audiences/"+a.GetId())
	return &experimentsv1.CreateAudienceResponse{Audience: a}, nil
}

// GetAudience returns one audience.
func (s *Server) GetAudience(ctx context.Context, req *experimentsv1.GetAudienceRequest) (*experimentsv1.GetAudienceResponse, error) {
	a, _, err := s.audience(ctx, req.GetAudienceId())
	if err != nil {
		return nil, err
	}
	return &experimentsv1.GetAudienceResponse{Audience: a}, nil
}

// ListAudiences pages through a project's audiences, oldest first.
func (s *Server) ListAudiences(ctx context.Context, req *experimentsv1.ListAudiencesRequest) (*experimentsv1.ListAudiencesResponse, error) {
	projectID, err := s.project(ctx, req.GetProjectId())
	if err != nil {
		return nil, err
	}
	after, err := pagetoken.Decode(req.GetPageToken())
	if err != nil {
		return nil, err
	}
	size := pagetoken.Size(req.GetPageSize())
	rows, err := s.store.ListAudiences(ctx, projectID, after, size+1)
	if err != nil {
		return nil, err
	}
	page, next := pagetoken.Next(rows, size, func(a *experimentsv1.Audience) int64 { return numericID(a.GetId()) })
	return &experimentsv1.ListAudiencesResponse{Audiences: page, NextPageToken: next}, nil
}

// UpdateAudience changes the masked fields; a stale etag is Aborted.
func (s *Server) UpdateAudience(ctx context.Context, req *experimentsv1.UpdateAudienceRequest) (*experimentsv1.UpdateAudienceResponse, error) {
	in := req.GetAudience()
	_, projectID, err := s.audience(ctx, in.GetId())
	if err != nil {
		return nil, err
	}
	paths := req.GetUpdateMask().GetPaths()
	conditions := ""
	for _, p := range paths {
		if p == "conditions" {
			if conditions, err = audienceConditions(in.GetConditions()); err != nil {
				return nil, err
			}
		}
	}
	a, err := s.store.UpdateAudience(ctx, projectID, numericID(in.GetId()), in.GetEtag(), func(cur *experimentsv1.Audience) {
		for _, p := range paths {
			switch p {
			case "name":
				cur.Name = in.GetName()
			case "description":
				cur.Description = in.GetDescription()
			case "conditions":
				cur.Conditions = conditions
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return &experimentsv1.UpdateAudienceResponse{Audience: a}, nil
}

// DeleteAudience deletes an audience no delivery rule uses.
func (s *Server) DeleteAudience(ctx context.Context, req *experimentsv1.DeleteAudienceRequest) (*experimentsv1.DeleteAudienceResponse, error) {
	_, projectID, err := s.audience(ctx, req.GetAudienceId())
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteAudience(ctx, projectID, numericID(req.GetAudienceId()), req.GetEtag()); err != nil {
		return nil, err
	}
	return &experimentsv1.DeleteAudienceResponse{}, nil
}

// audience loads an audience the caller may see.
func (s *Server) audience(ctx context.Context, id string) (*experimentsv1.Audience, int64, error) {
	audienceID, err := store.ParseID(id, audienceNotFound)
	if err != nil {
		return nil, 0, err
	}
	a, err := s.store.GetAudience(ctx, audienceID)
	if err != nil {
		return nil, 0, err
	}
	projectID, err := s.owned(ctx, a.GetProjectId(), audienceNotFound)
	return a, projectID, err
}

// audienceConditions parses a condition tree strictly and returns its
// canonical form; an audience must have conditions.
func audienceConditions(raw string) (string, error) {
	tree, err := audience.ParseConditions([]byte(raw), audience.Strict)
	if err == nil && tree == nil {
		err = errEmptyConditions
	}
	if err != nil {
		return "", apierr.InvalidArgument("INVALID_AUDIENCE_CONDITIONS", "conditions: %s", err).With("field", "audience.conditions")
	}
	return tree.String(), nil
}

var errEmptyConditions = errors.New("an audience needs at least one condition")
