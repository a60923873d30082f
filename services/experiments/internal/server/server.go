// Package server implements the ExperimentsService RPCs: thin handlers that
// check the caller may see the project (through identity), validate what
// protovalidate cannot, call the store and return its result.
package server

import (
	"context"
	"strconv"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"github.com/liftlabs/lift/services/experiments/internal/delivery"
	"github.com/liftlabs/lift/services/experiments/internal/directory"
	"github.com/liftlabs/lift/services/experiments/internal/lifecycle"
	"github.com/liftlabs/lift/services/experiments/internal/store"
)

var _ experimentsv1.ExperimentsServiceServer = (*Server)(nil)

// Store is what the handlers need from the database.
type Store interface {
	ProjectUsage(ctx context.Context, projectID int64) (*experimentsv1.GetProjectUsageResponse, error)

	GetFlag(ctx context.Context, id int64) (*experimentsv1.Flag, error)
	ListFlags(ctx context.Context, projectID, afterID int64, limit int) ([]*experimentsv1.Flag, error)
	CreateFlag(ctx context.Context, projectID int64, f *experimentsv1.Flag) (*experimentsv1.Flag, error)
	UpdateFlag(ctx context.Context, projectID, id int64, etag string, change func(*experimentsv1.Flag) error) (*experimentsv1.Flag, error)
	DeleteFlag(ctx context.Context, projectID, id int64, etag string) error

	GetExperiment(ctx context.Context, id int64) (*experimentsv1.Experiment, error)
	ListExperiments(ctx context.Context, projectID int64, status experimentsv1.ExperimentStatus, afterID int64, limit int) ([]*experimentsv1.Experiment, error)
	CreateExperiment(ctx context.Context, projectID int64, e *experimentsv1.Experiment) (*experimentsv1.Experiment, error)
	UpdateExperiment(ctx context.Context, projectID, id int64, etag string, change func(*experimentsv1.Experiment) error) (*experimentsv1.Experiment, error)
	SetStatus(ctx context.Context, projectID, id int64, etag string, action lifecycle.Action) (*experimentsv1.Experiment, error)
	DeleteExperiment(ctx context.Context, projectID, id int64, etag string) error

	GetLayer(ctx context.Context, id int64) (*experimentsv1.Layer, error)
	ListLayers(ctx context.Context, projectID, afterID int64, limit int) ([]*experimentsv1.Layer, error)
	CreateLayer(ctx context.Context, projectID int64, l *experimentsv1.Layer) (*experimentsv1.Layer, error)
	UpdateLayer(ctx context.Context, projectID, id int64, etag string, change func(*experimentsv1.Layer)) (*experimentsv1.Layer, error)
	DeleteLayer(ctx context.Context, projectID, id int64, etag string) error

	GetEvent(ctx context.Context, id int64) (*experimentsv1.Event, error)
	ListEvents(ctx context.Context, projectID, afterID int64, limit int) ([]*experimentsv1.Event, error)
	CreateEvent(ctx context.Context, projectID int64, e *experimentsv1.Event) (*experimentsv1.Event, error)
	UpdateEvent(ctx context.Context, projectID, id int64, etag string, change func(*experimentsv1.Event)) (*experimentsv1.Event, error)
	DeleteEvent(ctx context.Context, projectID, id int64, etag string) error

	GetAudience(ctx context.Context, id int64) (*experimentsv1.Audience, error)
	ListAudiences(ctx context.Context, projectID, afterID int64, limit int) ([]*experimentsv1.Audience, error)
	CreateAudience(ctx context.Context, projectID int64, a *experimentsv1.Audience) (*experimentsv1.Audience, error)
	UpdateAudience(ctx context.Context, projectID, id int64, etag string, change func(*experimentsv1.Audience)) (*experimentsv1.Audience, error)
	DeleteAudience(ctx context.Context, projectID, id int64, etag string) error

	GetRuleset(ctx context.Context, projectID, flagID int64, env string) (*experimentsv1.FlagRuleset, error)
	UpdateRuleset(ctx context.Context, projectID, flagID int64, env, etag string, change func(*experimentsv1.FlagRuleset) error) (*experimentsv1.FlagRuleset, error)
	ShipExperiment(ctx context.Context, projectID, id int64, env, variationKey string, percentage int32, etag string) (*experimentsv1.Experiment, *experimentsv1.FlagRuleset, error)
}

// Directory is what the handlers ask identity.
type Directory interface {
	CheckProject(ctx context.Context, projectID int64, notFoundReason string) error
	Environments(ctx context.Context, projectID int64) ([]directory.Environment, error)
	Environment(ctx context.Context, projectID int64, key string) (directory.Environment, error)
	ResolveSDKKey(ctx context.Context, sdkKey string) (directory.Environment, error)
}

// Datafiles returns an environment's current built datafile.
type Datafiles interface {
	Get(ctx context.Context, env directory.Environment) (*delivery.Entry, error)
	// Changed is closed when this replica next changes a datafile.
	Changed() <-chan struct{}
}

// Server implements experimentsv1.ExperimentsServiceServer.
type Server struct {
	experimentsv1.UnimplementedExperimentsServiceServer
	store     Store
	dir       Directory
	datafiles Datafiles
}

// New returns a Server.
func New(s Store, dir Directory, datafiles Datafiles) *Server {
	return &Server{store: s, dir: dir, datafiles: datafiles}
}

// project parses a project id from a request and checks the caller's
// account owns it.
func (s *Server) project(ctx context.Context, id string) (int64, error) {
	projectID, err := store.ParseID(id, "PROJECT_NOT_FOUND")
	if err != nil {
		return 0, err
	}
	return projectID, s.dir.CheckProject(ctx, projectID, "PROJECT_NOT_FOUND")
}

// owned checks the caller may see a resource of projectID; a resource of
// another account's project is reported as notFoundReason, like one that
// does not exist.
func (s *Server) owned(ctx context.Context, projectID, notFoundReason string) (int64, error) {
	id, err := strconv.ParseInt(projectID, 10, 64)
	if err != nil {
		return 0, err
	}
	return id, s.dir.CheckProject(ctx, id, notFoundReason)
}
