package server

import (
	"context"
	"github.com/liftlabs/lift/pkg/httpmeta"

	"github.com/liftlabs/lift/pkg/pagetoken"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"github.com/liftlabs/lift/services/experiments/internal/store"
)

const eventNotFound = "EVENT_NOT_FOUND"

// CreateEvent creates an event in a project of the caller's account.
func (s *Server) CreateEvent(ctx context.Context, req *experimentsv1.CreateEventRequest) (*experimentsv1.CreateEventResponse, error) {
	projectID, err := s.project(ctx, req.GetProjectId())
	if err != nil {
		return nil, err
	}
	l, err := s.store.CreateEvent(ctx, projectID, req.GetEvent())
	if err != nil {
		return nil, err
	}
	httpmeta.Created(ctx, "/v1/events/"+l.GetId())
	return &experimentsv1.CreateEventResponse{Event: l}, nil
}

// GetEvent returns one event by id.
func (s *Server) GetEvent(ctx context.Context, req *experimentsv1.GetEventRequest) (*experimentsv1.GetEventResponse, error) {
	l, _, err := s.event(ctx, req.GetEventId())
	if err != nil {
		return nil, err
	}
	return &experimentsv1.GetEventResponse{Event: l}, nil
}

// ListEvents pages through a project's events, oldest first.
func (s *Server) ListEvents(ctx context.Context, req *experimentsv1.ListEventsRequest) (*experimentsv1.ListEventsResponse, error) {
	projectID, err := s.project(ctx, req.GetProjectId())
	if err != nil {
		return nil, err
	}
	after, err := pagetoken.Decode(req.GetPageToken())
	if err != nil {
		return nil, err
	}
	size := pagetoken.Size(req.GetPageSize())
	rows, err := s.store.ListEvents(ctx, projectID, after, size+1)
	if err != nil {
		return nil, err
	}
	page, next := pagetoken.Next(rows, size, func(l *experimentsv1.Event) int64 { return numericID(l.GetId()) })
	return &experimentsv1.ListEventsResponse{Events: page, NextPageToken: next}, nil
}

// UpdateEvent changes the masked fields; a stale etag is Aborted.
func (s *Server) UpdateEvent(ctx context.Context, req *experimentsv1.UpdateEventRequest) (*experimentsv1.UpdateEventResponse, error) {
	in := req.GetEvent()
	_, projectID, err := s.event(ctx, in.GetId())
	if err != nil {
		return nil, err
	}
	l, err := s.store.UpdateEvent(ctx, projectID, numericID(in.GetId()), in.GetEtag(), func(cur *experimentsv1.Event) {
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
	return &experimentsv1.UpdateEventResponse{Event: l}, nil
}

// DeleteEvent deletes an event no experiment measures.
func (s *Server) DeleteEvent(ctx context.Context, req *experimentsv1.DeleteEventRequest) (*experimentsv1.DeleteEventResponse, error) {
	_, projectID, err := s.event(ctx, req.GetEventId())
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteEvent(ctx, projectID, numericID(req.GetEventId()), req.GetEtag()); err != nil {
		return nil, err
	}
	return &experimentsv1.DeleteEventResponse{}, nil
}

// event loads an event the caller may see.
func (s *Server) event(ctx context.Context, id string) (*experimentsv1.Event, int64, error) {
	eventID, err := store.ParseID(id, eventNotFound)
	if err != nil {
		return nil, 0, err
	}
	l, err := s.store.GetEvent(ctx, eventID)
	if err != nil {
		return nil, 0, err
	}
	projectID, err := s.owned(ctx, l.GetProjectId(), eventNotFound)
	return l, projectID, err
}
