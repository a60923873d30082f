// Package ingest turns event batches (typed requests or Optimizely SDK
// JSON) into the rows the store writes: it validates them against limits
// and the experiments' configuration, drops bots and rollout impressions,
// and never touches the database itself.
package ingest

import "time"

// ImpressionKey is the event key of impressions: the event that records a
// decision as an exposure.
const ImpressionKey = "campaign_activated"

// Event is one event to store.
type Event struct {
	UUID      string
	VisitorID string
	Key       string
	At        time.Time
	// Revenue in cents and Value are nil when the event carries none.
	Revenue *int64
	Value   *float64
}

// Exposure is a decision recorded by an impression event: it counts only if
// that event is new (not a duplicate).
type Exposure struct {
	EventUUID    string
	ExperimentID int64
	VariationID  int64
}

// Batch is what one request stores, all or nothing.
type Batch struct {
	ProjectID int64
	Events    []Event
	Exposures []Exposure
	// BotEvents were dropped by bot filtering; IgnoredEvents are rollout
	// impressions (no experiment to analyse).
	BotEvents     int
	IgnoredEvents int
}
