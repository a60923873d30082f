package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"github.com/liftlabs/lift/pkg/apierr"
	"github.com/liftlabs/lift/pkg/eventlog"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"github.com/liftlabs/lift/services/results/internal/ingest"
)

// publishTimeout bounds the wait for the log's acknowledgement; past it the
// client is told to retry (and a batch the log did store is deduplicated
// by its message id when it comes again).
const publishTimeout = 5 * time.Second

// appendToLog appends a checked batch to the event log and returns once
// the log has stored it: that is the acknowledgement the client gets. The
// message id is a hash of the batch, so a resent batch is appended once
// within the log's duplicate window (and its events are deduplicated by
// uuid after it). A batch larger than the server's message limit is split
// by visitors.
func (s *Server) appendToLog(ctx context.Context, env *ingest.Envelope, environment string) (counts, error) {
	subject := eventlog.Subject(env.Request.GetProjectId(), environment)
	if err := s.publish(ctx, subject, env, ""); err != nil {
		return counts{}, err
	}
	return counts{accepted: int32(ingest.CountEvents(env.Request)), ignored: int32(env.Ignored)}, nil
}

func (s *Server) publish(ctx context.Context, subject string, env *ingest.Envelope, idSuffix string) error {
	header, body, err := env.Encode()
	if err != nil {
		return err
	}
	if visitors := env.Request.GetVisitors(); len(body) > s.log.MaxPayload()-len(subject)-1024 && len(visitors) > 1 {
		half := len(visitors) / 2
		for i, part := range [][]*resultsv1.Visitor{visitors[:half], visitors[half:]} {
			e := *env
			e.Request = &resultsv1.IngestEventsRequest{ProjectId: env.Request.GetProjectId(), Visitors: part}
			if i == 1 {
				e.Ignored = 0
			}
			if err := s.publish(ctx, subject, &e, idSuffix+"."+strconv.Itoa(i)); err != nil {
				return err
			}
		}
		return nil
	}
	sum := sha256.New()
	sum.Write([]byte(subject + "\x00" + env.SDKKey + "\x00"))
	sum.Write(body)
	id := hex.EncodeToString(sum.Sum(nil)[:16]) + idSuffix
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	if _, err := s.log.Publish(ctx, eventlog.Message{Subject: subject, ID: id, Header: header, Data: body}); err != nil {
		if errors.Is(err, eventlog.ErrUnavailable) {
			return apierr.Unavailable("EVENT_LOG_UNAVAILABLE", "the events could not be recorded, retry the batch")
		}
		return err
	}
	return nil
}
