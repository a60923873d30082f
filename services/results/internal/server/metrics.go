package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The ingestion counters: what happened to the events clients sent. An
// acknowledged batch's events are accepted (new), duplicate (a resent
// batch), bot (filtered) or ignored (not counted, e.g. an unknown event
// type); a batch that fails is rejected (the client must fix it) or failed
// (storage trouble: the client retries it).
var (
	ingestedEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lift_results_ingested_events_total",
		Help: "Events received, by outcome: accepted, duplicate, bot, ignored, rejected, failed.",
	}, []string{"outcome"})
	ingestedBatches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lift_results_ingested_batches_total",
		Help: "Event batches received, by outcome: accepted, rejected, failed.",
	}, []string{"outcome"})
)

func init() {
	prometheus.MustRegister(ingestedEvents, ingestedBatches)
	// Export every outcome from the start, so a rate over them is defined
	// before the first failure.
	for _, o := range []string{"accepted", "duplicate", "bot", "ignored", "rejected", "failed"} {
		ingestedEvents.WithLabelValues(o)
	}
	for _, o := range []string{"accepted", "rejected", "failed"} {
		ingestedBatches.WithLabelValues(o)
	}
}

// observeIngest counts one batch of events (0 when it could not be parsed)
// with the outcome of its ingestion.
func observeIngest(events int, c counts, err error) {
	if err == nil {
		ingestedBatches.WithLabelValues("accepted").Inc()
		ingestedEvents.WithLabelValues("accepted").Add(float64(c.accepted))
		ingestedEvents.WithLabelValues("duplicate").Add(float64(c.duplicates))
		ingestedEvents.WithLabelValues("bot").Add(float64(c.bots))
		ingestedEvents.WithLabelValues("ignored").Add(float64(c.ignored))
		return
	}
	outcome := "rejected"
	switch status.Code(err) {
	case codes.Unavailable, codes.Internal, codes.Unknown, codes.DeadlineExceeded, codes.Canceled, codes.Aborted, codes.ResourceExhausted:
		outcome = "failed"
	}
	ingestedBatches.WithLabelValues(outcome).Inc()
	ingestedEvents.WithLabelValues(outcome).Add(float64(events))
}
