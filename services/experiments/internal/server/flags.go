package server

import (
	"context"
	"fmt"
	"github.com/liftlabs/lift/pkg/httpmeta"
	"strconv"

	"github.com/liftlabs/lift/pkg/apierr"
	"github.com/liftlabs/lift/pkg/pagetoken"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"github.com/liftlabs/lift/services/experiments/internal/datafile"
	"github.com/liftlabs/lift/services/experiments/internal/store"
)

const flagNotFound = "FLAG_NOT_FOUND"

// CreateFlag creates a flag in a project of the caller's account.
func (s *Server) CreateFlag(ctx context.Context, req *experimentsv1.CreateFlagRequest) (*experimentsv1.CreateFlagResponse, error) {
	projectID, err := s.project(ctx, req.GetProjectId())
	if err != nil {
		return nil, err
	}
	if err := checkDefaults(req.GetFlag().GetVariables()); err != nil {
		return nil, err
	}
	f, err := s.store.CreateFlag(ctx, projectID, req.GetFlag())
	if err != nil {
		return nil, err
	}
	httpmeta.Created(ctx, "/v1/flags/"+f.GetId())
	return &experimentsv1.CreateFlagResponse{Flag: f}, nil
}

// GetFlag returns one flag.
func (s *Server) GetFlag(ctx context.Context, req *experimentsv1.GetFlagRequest) (*experimentsv1.GetFlagResponse, error) {
	f, _, err := s.flag(ctx, req.GetFlagId())
	if err != nil {
		return nil, err
	}
	return &experimentsv1.GetFlagResponse{Flag: f}, nil
}

// ListFlags pages through a project's flags, oldest first.
func (s *Server) ListFlags(ctx context.Context, req *experimentsv1.ListFlagsRequest) (*experimentsv1.ListFlagsResponse, error) {
	projectID, err := s.project(ctx, req.GetProjectId())
	if err != nil {
		return nil, err
	}
	after, err := pagetoken.Decode(req.GetPageToken())
	if err != nil {
		return nil, err
	}
	size := pagetoken.Size(req.GetPageSize())
	rows, err := s.store.ListFlags(ctx, projectID, after, size+1)
	if err != nil {
		return nil, err
	}
	page, next := pagetoken.Next(rows, size, func(f *experimentsv1.Flag) int64 { return numericID(f.GetId()) })
	return &experimentsv1.ListFlagsResponse{Flags: page, NextPageToken: next}, nil
}

// UpdateFlag changes the masked fields; a stale etag is Aborted.
func (s *Server) UpdateFlag(ctx context.Context, req *experimentsv1.UpdateFlagRequest) (*experimentsv1.UpdateFlagResponse, error) {
	_, projectID, err := s.flag(ctx, req.GetFlag().GetId())
	if err != nil {
		return nil, err
	}
	in := req.GetFlag()
	paths := req.GetUpdateMask().GetPaths()
	for _, p := range paths {
		if p == "variables" {
			if err := checkDefaults(in.GetVariables()); err != nil {
				return nil, err
			}
		}
	}
	f, err := s.store.UpdateFlag(ctx, projectID, numericID(in.GetId()), in.GetEtag(), func(cur *experimentsv1.Flag) error {
		for _, p := range paths {
			switch p {
			case "name":
				cur.Name = in.GetName()
			case "description":
				cur.Description = in.GetDescription()
			case "variables":
				cur.Variables = in.GetVariables()
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &experimentsv1.UpdateFlagResponse{Flag: f}, nil
}

// DeleteFlag deletes a flag no experiment refers to.
func (s *Server) DeleteFlag(ctx context.Context, req *experimentsv1.DeleteFlagRequest) (*experimentsv1.DeleteFlagResponse, error) {
	_, projectID, err := s.flag(ctx, req.GetFlagId())
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteFlag(ctx, projectID, numericID(req.GetFlagId()), req.GetEtag()); err != nil {
		return nil, err
	}
	return &experimentsv1.DeleteFlagResponse{}, nil
}

// flag loads a flag the caller may see.
func (s *Server) flag(ctx context.Context, id string) (*experimentsv1.Flag, int64, error) {
	flagID, err := store.ParseID(id, flagNotFound)
	if err != nil {
		return nil, 0, err
	}
	f, err := s.store.GetFlag(ctx, flagID)
	if err != nil {
		return nil, 0, err
	}
	projectID, err := s.owned(ctx, f.GetProjectId(), flagNotFound)
	return f, projectID, err
}

// checkDefaults rejects a default value that does not parse as its type.
func checkDefaults(vars []*experimentsv1.FlagVariable) error {
	for i, v := range vars {
		if err := datafile.CheckValue(store.VariableTypeName(v.GetType()), v.GetDefaultValue()); err != nil {
			return apierr.InvalidArgument("INVALID_VARIABLE_VALUE", "variable %q: default value %s", v.GetKey(), err).
				With("field", fmt.Sprintf("flag.variables[%d].default_value", i))
		}
	}
	return nil
}

// numericID parses an id that passed validation (0 if it cannot exist).
func numericID(s string) int64 {
	id, _ := strconv.ParseInt(s, 10, 64)
	return id
}
