package ingest

import (
	"strconv"
	"time"

	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
)

// SetAside is an impression kept out of the counts because it cannot be
// attributed to an experiment of the batch's environment, with the reason.
// It is stored for an operator to see, never silently dropped.
type SetAside struct {
	ProjectID            int64
	UUID, VisitorID, Key string
	At                   time.Time
	ExperimentID         string
	VariationID          string
	// Reason is UNKNOWN_EXPERIMENT (not an experiment of the SDK key's
	// environment, e.g. a production-only experiment named with a
	// development key), UNKNOWN_VARIATION, or the reason a whole batch
	// could not be stored.
	Reason string
}

// Attribute splits req into the part the known experiments account for
// and the impressions they do not: a snapshot whose impression names an
// experiment or variation outside known is set aside whole (Build would
// refuse the batch for it), everything else is kept. req is not changed.
func Attribute(req *resultsv1.IngestEventsRequest, known Known) (*resultsv1.IngestEventsRequest, []SetAside) {
	var aside []SetAside
	project, _ := strconv.ParseInt(req.GetProjectId(), 10, 64)
	kept := &resultsv1.IngestEventsRequest{ProjectId: req.GetProjectId(), Visitors: make([]*resultsv1.Visitor, 0, len(req.GetVisitors()))}
	for _, v := range req.GetVisitors() {
		snapshots := make([]*resultsv1.Snapshot, 0, len(v.GetSnapshots()))
		for _, s := range v.GetSnapshots() {
			if exp, variation, reason := unattributed(s, known); reason != "" {
				for _, e := range s.GetEvents() {
					aside = append(aside, SetAside{
						ProjectID: project, UUID: e.GetUuid(), VisitorID: v.GetVisitorId(), Key: e.GetKey(), At: time.UnixMilli(e.GetTimestamp()).UTC(),
						ExperimentID: exp, VariationID: variation, Reason: reason,
					})
				}
				continue
			}
			snapshots = append(snapshots, s)
		}
		if len(snapshots) > 0 {
			kept.Visitors = append(kept.Visitors, &resultsv1.Visitor{VisitorId: v.GetVisitorId(), Attributes: v.GetAttributes(), Snapshots: snapshots})
		}
	}
	return kept, aside
}

// unattributed names the first decision of an impression snapshot that
// known does not account for, and why.
func unattributed(s *resultsv1.Snapshot, known Known) (experiment, variation, reason string) {
	if !hasImpression(s) {
		return "", "", ""
	}
	for _, d := range s.GetDecisions() {
		if d.GetIsCampaignHoldback() {
			continue
		}
		exp, _ := strconv.ParseInt(d.GetExperimentId(), 10, 64)
		v, _ := strconv.ParseInt(d.GetVariationId(), 10, 64)
		variations, ok := known[exp]
		if !ok {
			return d.GetExperimentId(), d.GetVariationId(), "UNKNOWN_EXPERIMENT"
		}
		if !variations[v] {
			return d.GetExperimentId(), d.GetVariationId(), "UNKNOWN_VARIATION"
		}
	}
	return "", "", ""
}

// AllAside sets every event of req aside with reason: a batch the consumer
// cannot store at all (it never blocks the batches behind it).
func AllAside(req *resultsv1.IngestEventsRequest, reason string) []SetAside {
	var aside []SetAside
	project, _ := strconv.ParseInt(req.GetProjectId(), 10, 64)
	for _, v := range req.GetVisitors() {
		for _, s := range v.GetSnapshots() {
			for _, e := range s.GetEvents() {
				aside = append(aside, SetAside{
					ProjectID: project, UUID: e.GetUuid(), VisitorID: v.GetVisitorId(), Key: e.GetKey(), At: time.UnixMilli(e.GetTimestamp()).UTC(), Reason: reason,
				})
			}
		}
	}
	return aside
}
