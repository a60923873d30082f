package ingest

import resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"

// messages hands out the proto messages and lists of one parsed SDK batch
// from a few arrays sized by counting the batch first, instead of one
// allocation per message and per list: a 1000-event batch is some 3,500
// messages, and allocating and then collecting them one by one was a third
// of parsing it. All of them live exactly as long as the request.
type messages struct {
	visitors  []resultsv1.Visitor
	snapshots []resultsv1.Snapshot
	events    []resultsv1.SnapshotEvent
	decisions []resultsv1.Decision

	visitorPtrs  []*resultsv1.Visitor
	snapshotPtrs []*resultsv1.Snapshot
	eventPtrs    []*resultsv1.SnapshotEvent
	decisionPtrs []*resultsv1.Decision
}

// newMessages makes room for every message b could turn into; dropped
// decisions, events and snapshots leave their room unused.
func newMessages(b *sdkBatch) *messages {
	var snapshots, events, decisions int
	for _, v := range b.Visitors {
		snapshots += len(v.Snapshots)
		for _, s := range v.Snapshots {
			events += len(s.Events)
			decisions += len(s.Decisions)
		}
	}
	return &messages{
		visitors: make([]resultsv1.Visitor, len(b.Visitors)), snapshots: make([]resultsv1.Snapshot, snapshots),
		events: make([]resultsv1.SnapshotEvent, events), decisions: make([]resultsv1.Decision, decisions),
		visitorPtrs: make([]*resultsv1.Visitor, len(b.Visitors)), snapshotPtrs: make([]*resultsv1.Snapshot, snapshots),
		eventPtrs: make([]*resultsv1.SnapshotEvent, events), decisionPtrs: make([]*resultsv1.Decision, decisions),
	}
}

// next takes the first unused element of *pool.
func next[T any](pool *[]T) *T {
	t := &(*pool)[0]
	*pool = (*pool)[1:]
	return t
}

// list takes room for n elements of *pool as an empty slice to append to;
// its capacity is n, so appending beyond that copies instead of writing
// over the next list. No room is nil, as an unset repeated field is.
func list[T any](pool *[]T, n int) []T {
	if n == 0 {
		return nil
	}
	l := (*pool)[:0:n]
	*pool = (*pool)[n:]
	return l
}
