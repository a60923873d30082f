package v2

import (
	"context"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	gatewayv2 "github.com/liftlabs/lift/proto/gen/go/lift/gateway/v2"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/status"
)

// The parts of GetProjectOverview.
var (
	partProject      = part{"GetProjectOverview", "project", "identity"}
	partEnvironments = part{"GetProjectOverview", "environments", "identity"}
	partRunning      = part{"GetProjectOverview", "running experiments", "experiments"}
	partSummary      = part{"GetProjectOverview", "result summary", "results"}
)

// listPageSize is the page size used to list running experiments (the
// largest the experiments service accepts).
const listPageSize = 1000

// GetProjectOverview fetches the project, its environments and its running
// experiments at once; as soon as the experiments are listed their result
// summaries are fetched, at most MaxInFlight at a time, while the identity
// calls may still be under way. Project, environments and the list are
// required; each summary is optional.
func (s *Server) GetProjectOverview(ctx context.Context, req *gatewayv2.GetProjectOverviewRequest) (*gatewayv2.GetProjectOverviewResponse, error) {
	id := req.GetProjectId()
	out := &gatewayv2.GetProjectOverviewResponse{}
	var warnings []*gatewayv2.Warning
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		r, err := call(gctx, s, partProject, func(ctx context.Context) (*identityv1.GetProjectResponse, error) {
			return s.backends.Identity.GetProject(ctx, &identityv1.GetProjectRequest{ProjectId: id})
		})
		out.Project = r.GetProject()
		return err
	})
	g.Go(func() error {
		r, err := call(gctx, s, partEnvironments, func(ctx context.Context) (*identityv1.ListEnvironmentsResponse, error) {
			return s.backends.Identity.ListEnvironments(ctx, &identityv1.ListEnvironmentsRequest{ProjectId: id})
		})
		out.Environments = r.GetEnvironments()
		return err
	})
	g.Go(func() error {
		running, err := s.listRunning(gctx, id)
		if err != nil {
			return err
		}
		out.RunningExperiments, warnings = s.summaries(gctx, running)
		return nil
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		// The caller went away while summaries were failing for that reason.
		return nil, status.FromContextError(err).Err()
	}
	out.Warnings = warnings
	return out, nil
}

// listRunning pages through the project's running experiments; each page
// is one call with its own deadline.
func (s *Server) listRunning(ctx context.Context, projectID string) ([]*experimentsv1.Experiment, error) {
	var all []*experimentsv1.Experiment
	token := ""
	for {
		r, err := call(ctx, s, partRunning, func(ctx context.Context) (*experimentsv1.ListExperimentsResponse, error) {
			return s.backends.Experiments.ListExperiments(ctx, &experimentsv1.ListExperimentsRequest{
				ProjectId: projectID, Status: experimentsv1.ExperimentStatus_EXPERIMENT_STATUS_RUNNING,
				PageSize: listPageSize, PageToken: token,
			})
		})
		if err != nil {
			return nil, err
		}
		all = append(all, r.GetExperiments()...)
		if token = r.GetNextPageToken(); token == "" {
			return all, nil
		}
	}
}

// summaries fetches each experiment's results, at most MaxInFlight at a
// time, and sums them up; a failed fetch leaves that summary out and
// returns a warning instead. The order of the experiments is kept.
func (s *Server) summaries(ctx context.Context, running []*experimentsv1.Experiment) ([]*gatewayv2.ExperimentSummary, []*gatewayv2.Warning) {
	out := make([]*gatewayv2.ExperimentSummary, len(running))
	failed := make([]*gatewayv2.Warning, len(running))
	var g errgroup.Group
	g.SetLimit(s.opts.MaxInFlight)
	for i, e := range running {
		out[i] = &gatewayv2.ExperimentSummary{ExperimentId: e.GetId(), Key: e.GetKey(), Name: e.GetName(), StartTime: e.GetStartTime()}
		g.Go(func() error {
			r, err := call(ctx, s, partSummary, func(ctx context.Context) (*resultsv1.GetExperimentResultsResponse, error) {
				return s.backends.Results.GetExperimentResults(ctx, &resultsv1.GetExperimentResultsRequest{ExperimentId: e.GetId()})
			})
			if err != nil {
				failed[i] = warning(gatewayv2.Part_PART_RESULT_SUMMARY, e.GetId(), partSummary, err)
				return nil
			}
			out[i].Result = summarize(e, r.GetResults())
			return nil
		})
	}
	_ = g.Wait() // the goroutines never fail: failures become warnings
	var warnings []*gatewayv2.Warning
	for _, w := range failed {
		if w != nil {
			warnings = append(warnings, w)
		}
	}
	return out, warnings
}
