package server

import (
	"time"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"google.golang.org/grpc"
)

// watchRecheck is how often a watch looks at the environment's revision
// without a local change: it bounds (with the cache's staleness bound) how
// late a revision made through another replica is pushed, and how soon a
// revoked SDK key ends its watches.
const watchRecheck = 250 * time.Millisecond

// WatchDatafile pushes each new revision of an SDK key's datafile: at once
// when this replica made the change, within watchRecheck plus the
// staleness bound otherwise. An SDK key that stops resolving ends the
// stream with its error (NOT_FOUND), so the gateway forgets the engine.
func (s *Server) WatchDatafile(req *experimentsv1.WatchDatafileRequest, stream grpc.ServerStreamingServer[experimentsv1.WatchDatafileResponse]) error {
	ctx := stream.Context()
	sent := req.GetKnownRevision()
	tick := time.NewTicker(watchRecheck)
	defer tick.Stop()
	for {
		changed := s.datafiles.Changed()
		env, err := s.dir.ResolveSDKKey(ctx, req.GetSdkKey())
		if err != nil {
			return err
		}
		e, err := s.datafiles.Get(ctx, env)
		if err != nil {
			return err
		}
		if rev := itoa(e.Revision); rev != sent {
			if err := stream.Send(&experimentsv1.WatchDatafileResponse{Datafile: e.JSON, Revision: rev}); err != nil {
				return err
			}
			sent = rev
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		case <-tick.C:
		}
	}
}
