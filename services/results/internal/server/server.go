// Package server implements the ResultsService RPCs: thin handlers that
// resolve what the request names through the catalog, hand the batch or
// the rollups to the ingest, store and analysis packages, and return.
package server

import (
	"context"
	"time"

	"github.com/liftlabs/lift/pkg/eventlog"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"github.com/liftlabs/lift/services/results/internal/catalog"
	"github.com/liftlabs/lift/services/results/internal/ingest"
	"github.com/liftlabs/lift/services/results/internal/store"
)

var _ resultsv1.ResultsServiceServer = (*Server)(nil)

// Store is what the handlers need from the database.
type Store interface {
	Ingest(ctx context.Context, b *ingest.Batch) (store.IngestResult, error)
	Rollups(ctx context.Context, projectID, experimentID int64, keys []string, w store.Window) (store.Rollups, error)
	CapPercentile(ctx context.Context, experimentID int64, key string, col store.CapColumn, p float64) (float64, bool, error)
	CappedDays(ctx context.Context, projectID, experimentID int64, key string, col store.CapColumn, cap float64, w store.Window) ([]store.CappedDay, error)
	CupedSums(ctx context.Context, projectID, experimentID int64, key string, preDays int, w store.Window) ([]store.CupedSums, error)
}

// Catalog is what the handlers need to know about other services'
// resources.
type Catalog interface {
	Experiment(ctx context.Context, id int64) (*catalog.Experiment, error)
	Project(ctx context.Context, id int64) (*identityv1.Project, error)
	Datafile(ctx context.Context, sdkKey string) (*catalog.Datafile, error)
	DatafileExperiment(d *catalog.Datafile, id int64) (*catalog.Experiment, bool)
}

// Server implements resultsv1.ResultsServiceServer.
type Server struct {
	resultsv1.UnimplementedResultsServiceServer
	store   Store
	catalog Catalog
	limits  ingest.Limits
	now     func() time.Time
	// stored is called with the project of a batch that stored new
	// events (the rollup worker's Notify).
	stored func(projectID int64)
	// log, when set, is where batches are appended (and acknowledged);
	// caughtUp then makes reads wait for the consumer (read-your-writes).
	log      *eventlog.Log
	caughtUp func(context.Context)
}

// New returns a Server; stored is called after each batch that stored new
// events.
func New(s Store, c Catalog, limits ingest.Limits, stored func(projectID int64)) *Server {
	return &Server{store: s, catalog: c, limits: limits, now: time.Now, stored: stored, caughtUp: func(context.Context) {}}
}

// WithEventLog makes the ingest RPCs append batches to l and answer once
// it has them; caughtUp (the consumer's WaitCaughtUp) runs before reads.
func (s *Server) WithEventLog(l *eventlog.Log, caughtUp func(context.Context)) *Server {
	s.log, s.caughtUp = l, caughtUp
	return s
}
