package server

import (
	"context"
	"errors"
	"strconv"

	"buf.build/go/protovalidate"
	"github.com/liftlabs/lift/pkg/apierr"
	"github.com/liftlabs/lift/pkg/auth"
	"github.com/liftlabs/lift/pkg/nulbyte"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"github.com/liftlabs/lift/services/results/internal/catalog"
	"github.com/liftlabs/lift/services/results/internal/ingest"
	"google.golang.org/grpc/status"
)

// IngestEvents stores a typed batch of the caller's project.
func (s *Server) IngestEvents(ctx context.Context, req *resultsv1.IngestEventsRequest) (*resultsv1.IngestEventsResponse, error) {
	counts, err := s.ingestWithToken(ctx, req, 0)
	observeIngest(ingest.CountEvents(req), counts, err)
	if err != nil {
		return nil, err
	}
	return &resultsv1.IngestEventsResponse{
		AcceptedEvents: counts.accepted, DuplicateEvents: counts.duplicates, BotEvents: counts.bots, IgnoredEvents: counts.ignored,
	}, nil
}

// IngestOptimizelyBatch stores an SDK's JSON batch, checked against the
// datafile of the SDK key when one is given, else against the experiments
// of the caller's account (an API token with the write scope).
func (s *Server) IngestOptimizelyBatch(ctx context.Context, req *resultsv1.IngestOptimizelyBatchRequest) (*resultsv1.IngestOptimizelyBatchResponse, error) {
	parsed, ignored, err := ingest.ParseOptimizely(req.GetBatch())
	if err != nil {
		observeIngest(0, counts{}, err)
		return nil, err
	}
	if err := validParsed(parsed, req.GetBatch()); err != nil {
		observeIngest(ingest.CountEvents(parsed), counts{}, err)
		return nil, err
	}
	var c counts
	if req.GetSdkKey() != "" {
		c, err = s.ingestWithSDKKey(ctx, parsed, req.GetSdkKey(), ignored)
	} else {
		c, err = s.ingestWithToken(ctx, parsed, ignored)
	}
	observeIngest(ingest.CountEvents(parsed), c, err)
	if err != nil {
		return nil, err
	}
	return &resultsv1.IngestOptimizelyBatchResponse{
		AcceptedEvents: c.accepted, DuplicateEvents: c.duplicates, BotEvents: c.bots, IgnoredEvents: c.ignored,
	}, nil
}

// validParsed holds a batch parsed from the SDK JSON body to what the
// interceptor chain holds a typed request to (the chain saw only the raw
// bytes): the declared rules, then no NUL in any string. protovalidate runs
// only when the fast pre-check ingest.PlainlyValid is not sure, and
// nulbyte's walk over every parsed string only for a body that can hold a
// NUL: on a typical SDK batch neither reflective walk runs.
func validParsed(parsed *resultsv1.IngestEventsRequest, body []byte) error {
	if !ingest.PlainlyValid(parsed) {
		if err := protovalidate.Validate(parsed); err != nil {
			return apierr.InvalidArgument("MALFORMED_BATCH", "the event batch is invalid: %v", err)
		}
	}
	if !ingest.MayHoldNUL(body) {
		return nil
	}
	if err := nulbyte.Check(parsed); err != nil {
		return apierr.InvalidArgument("MALFORMED_BATCH", "the event batch is invalid: %v", status.Convert(err).Message())
	}
	return nil
}

type counts struct{ accepted, duplicates, bots, ignored int32 }

// ingestWithToken checks the batch against the caller's account: the
// project must be theirs and every experiment an experiment of it.
func (s *Server) ingestWithToken(ctx context.Context, req *resultsv1.IngestEventsRequest, ignored int) (counts, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return counts{}, apierr.Unauthenticated("CREDENTIAL_REQUIRED",
			"send the batch with the environment's sdk_key or an API token with the write scope")
	}
	if !p.HasScope(identityv1.Scope_SCOPE_WRITE) {
		return counts{}, apierr.PermissionDenied("WRITE_SCOPE_REQUIRED", "ingesting events needs a token with the write scope")
	}
	if err := ingest.CheckSize(req, s.limits); err != nil {
		return counts{}, err
	}
	if err := ingest.CheckTimestamps(req, s.limits); err != nil {
		return counts{}, err
	}
	project, err := s.projectOf(ctx, req.GetProjectId())
	if err != nil {
		return counts{}, err
	}
	known := ingest.Known{}
	for _, id := range ingest.ExperimentIDs(req) {
		e, err := s.catalog.Experiment(ctx, id)
		if errors.Is(err, catalog.ErrUnknownExperiment) || (err == nil && e.ProjectID != project) {
			continue // Build names it in its UNKNOWN_EXPERIMENT error
		}
		if err != nil {
			return counts{}, err
		}
		known[id] = e.VariationIDs()
	}
	if s.log != nil {
		// Unknown experiments are set aside by the consumer, not refused.
		return s.appendToLog(ctx, &ingest.Envelope{Known: known, Ignored: ignored, Request: req}, "api")
	}
	return s.storeBatch(ctx, req, known, false, ignored)
}

// ingestWithSDKKey checks the batch against the environment's datafile.
func (s *Server) ingestWithSDKKey(ctx context.Context, req *resultsv1.IngestEventsRequest, sdkKey string, ignored int) (counts, error) {
	if err := ingest.CheckSize(req, s.limits); err != nil {
		return counts{}, err
	}
	d, err := s.catalog.Datafile(ctx, sdkKey)
	if err != nil {
		return counts{}, err
	}
	if req.GetProjectId() != strconv.FormatInt(d.ProjectID, 10) {
		return counts{}, apierr.InvalidArgument("PROJECT_MISMATCH",
			"the batch is for project %s but the SDK key belongs to project %d", req.GetProjectId(), d.ProjectID)
	}
	if s.log != nil {
		if err := ingest.CheckTimestamps(req, s.limits); err != nil {
			return counts{}, err
		}
		// Attributed by the consumer, against the datafile at that time.
		return s.appendToLog(ctx, &ingest.Envelope{SDKKey: sdkKey, Ignored: ignored, Request: req}, d.EnvironmentKey)
	}
	known := ingest.Known{}
	for _, id := range ingest.ExperimentIDs(req) {
		if e, ok := s.catalog.DatafileExperiment(d, id); ok {
			known[id] = e.VariationIDs()
		}
	}
	return s.storeBatch(ctx, req, known, d.BotFiltering, ignored)
}

// storeBatch builds the batch and stores it; the response is sent only after
// the commit. The rollup worker folds the new events in afterwards.
func (s *Server) storeBatch(ctx context.Context, req *resultsv1.IngestEventsRequest, known ingest.Known, botFiltering bool, ignored int) (counts, error) {
	lim := s.limits
	lim.Now = s.now
	b, err := ingest.Build(req, known, lim, botFiltering)
	if err != nil {
		return counts{}, err
	}
	res, err := s.store.Ingest(ctx, b)
	if err != nil {
		return counts{}, err
	}
	if res.Inserted > 0 {
		s.stored(b.ProjectID)
	}
	return counts{
		accepted: int32(res.Inserted), duplicates: int32(len(b.Events) - res.Inserted),
		bots: int32(b.BotEvents), ignored: int32(ignored + b.IgnoredEvents),
	}, nil
}

// projectOf parses a project id and checks the caller's account owns it
// (identity answers NOT_FOUND otherwise).
func (s *Server) projectOf(ctx context.Context, id string) (int64, error) {
	project, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return 0, apierr.InvalidArgument("INVALID_PROJECT_ID", "project_id %q is not a numeric id", id)
	}
	if _, err := s.catalog.Project(ctx, project); err != nil {
		return 0, err
	}
	return project, nil
}
