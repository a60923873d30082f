package ingest

import (
	"strconv"
	"time"

	"github.com/liftlabs/lift/pkg/apierr"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
)

// Limits bound what one batch may hold.
type Limits struct {
	// MaxEvents is the most events a batch may hold.
	MaxEvents int
	// MaxFutureSkew is how far in the future an event's timestamp may be
	// (clocks of devices are off by a little, never by hours).
	MaxFutureSkew time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Known says which variations each experiment has: the experiments a
// batch's exposures may name.
type Known map[int64]map[int64]bool

// ExperimentIDs lists the experiments the exposures of req name, so the
// caller can look them up before Build.
func ExperimentIDs(req *resultsv1.IngestEventsRequest) []int64 {
	seen := map[int64]bool{}
	var ids []int64
	for _, v := range req.GetVisitors() {
		for _, s := range v.GetSnapshots() {
			if !hasImpression(s) {
				continue
			}
			for _, d := range s.GetDecisions() {
				id, err := strconv.ParseInt(d.GetExperimentId(), 10, 64)
				if err == nil && !d.GetIsCampaignHoldback() && !seen[id] {
					seen[id] = true
					ids = append(ids, id)
				}
			}
		}
	}
	return ids
}

func hasImpression(s *resultsv1.Snapshot) bool {
	for _, e := range s.GetEvents() {
		if e.GetKey() == ImpressionKey {
			return true
		}
	}
	return false
}

// CountEvents is the number of events in req.
func CountEvents(req *resultsv1.IngestEventsRequest) int {
	n := 0
	for _, v := range req.GetVisitors() {
		for _, s := range v.GetSnapshots() {
			n += len(s.GetEvents())
		}
	}
	return n
}

// CheckSize rejects a batch with more events than the limit, before any
// lookup is spent on it.
func CheckSize(req *resultsv1.IngestEventsRequest, lim Limits) error {
	if n := CountEvents(req); n > lim.MaxEvents {
		return apierr.InvalidArgument("BATCH_TOO_LARGE", "the batch holds %d events, at most %d are accepted per batch: split it", n, lim.MaxEvents).
			With("events", strconv.Itoa(n)).With("max_events", strconv.Itoa(lim.MaxEvents))
	}
	return nil
}

// Build validates req (already checked field by field by protovalidate)
// against the limits and the known experiments and returns the rows to
// store. Any problem rejects the whole batch with an error naming the
// offending visitor, event or decision. botFiltering forces bot filtering
// on (the datafile says so) for visitors that do not carry
// $opt_bot_filtering themselves.
func Build(req *resultsv1.IngestEventsRequest, known Known, lim Limits, botFiltering bool) (*Batch, error) {
	if err := CheckSize(req, lim); err != nil {
		return nil, err
	}
	project, err := strconv.ParseInt(req.GetProjectId(), 10, 64)
	if err != nil {
		return nil, apierr.InvalidArgument("INVALID_PROJECT_ID", "project_id %q is not a numeric id", req.GetProjectId())
	}
	if err := CheckTimestamps(req, lim); err != nil {
		return nil, err
	}
	b := &Batch{ProjectID: project}
	seen := map[string]bool{}
	for vi, v := range req.GetVisitors() {
		if isBot(v.GetAttributes(), botFiltering) {
			for _, s := range v.GetSnapshots() {
				b.BotEvents += len(s.GetEvents())
			}
			continue
		}
		for _, s := range v.GetSnapshots() {
			exposures, err := snapshotExposures(s, known, vi)
			if err != nil {
				return nil, err
			}
			for _, e := range s.GetEvents() {
				at := time.UnixMilli(e.GetTimestamp()).UTC()
				if seen[e.GetUuid()] {
					continue // the same event twice in one batch is stored once
				}
				seen[e.GetUuid()] = true
				b.Events = append(b.Events, Event{
					UUID: e.GetUuid(), VisitorID: v.GetVisitorId(), Key: e.GetKey(), At: at,
					Revenue: optionalInt(e.Revenue), Value: optionalFloat(e.Value),
				})
				if e.GetKey() == ImpressionKey {
					for _, x := range exposures {
						x.EventUUID = e.GetUuid()
						b.Exposures = append(b.Exposures, x)
					}
				}
			}
		}
	}
	return b, nil
}

// CheckTimestamps rejects a batch holding an event dated further in the
// future than the limit allows. It is checked before a batch is
// acknowledged, so that the event log never holds a batch the consumer
// would refuse (time only makes the check easier to pass later).
func CheckTimestamps(req *resultsv1.IngestEventsRequest, lim Limits) error {
	now := time.Now
	if lim.Now != nil {
		now = lim.Now
	}
	latest := now().Add(lim.MaxFutureSkew).UnixMilli()
	for vi, v := range req.GetVisitors() {
		for _, s := range v.GetSnapshots() {
			for _, e := range s.GetEvents() {
				if e.GetTimestamp() > latest {
					at := time.UnixMilli(e.GetTimestamp()).UTC()
					return apierr.InvalidArgument("TIMESTAMP_IN_FUTURE",
						"event %q of visitor %d has timestamp %d (%s), more than %s ahead of the server's clock",
						e.GetUuid(), vi, e.GetTimestamp(), at.Format(time.RFC3339), lim.MaxFutureSkew).With("uuid", e.GetUuid())
				}
			}
		}
	}
	return nil
}

// snapshotExposures checks an impression snapshot's decisions against the
// known experiments. Decisions of snapshots without an impression, and
// holdbacks, record no exposure and are not checked.
func snapshotExposures(s *resultsv1.Snapshot, known Known, visitor int) ([]Exposure, error) {
	if !hasImpression(s) {
		return nil, nil
	}
	var out []Exposure
	for _, d := range s.GetDecisions() {
		if d.GetIsCampaignHoldback() {
			continue
		}
		exp, _ := strconv.ParseInt(d.GetExperimentId(), 10, 64)
		variation, _ := strconv.ParseInt(d.GetVariationId(), 10, 64)
		variations, ok := known[exp]
		if !ok {
			return nil, apierr.InvalidArgument("UNKNOWN_EXPERIMENT",
				"visitor %d: decision names experiment %s, which is not an experiment of this project", visitor, d.GetExperimentId()).
				With("experiment_id", d.GetExperimentId())
		}
		if !variations[variation] {
			return nil, apierr.InvalidArgument("UNKNOWN_VARIATION",
				"visitor %d: decision names variation %s, which is not a variation of experiment %s", visitor, d.GetVariationId(), d.GetExperimentId()).
				With("experiment_id", d.GetExperimentId()).With("variation_id", d.GetVariationId())
		}
		out = append(out, Exposure{ExperimentID: exp, VariationID: variation})
	}
	return out, nil
}

func optionalInt(p *int64) *int64 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func optionalFloat(p *float64) *float64 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
