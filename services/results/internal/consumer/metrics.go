package consumer

import "github.com/prometheus/client_golang/prometheus"

// The event-log consumer's metrics: how far behind the log it is, how
// often batches come back, and what is set aside and why.
var (
	pending = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "lift_results_eventlog_pending_messages",
		Help: "Batches in the event log not yet handed to any results replica.",
	})
	ackPending = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "lift_results_eventlog_ack_pending_messages",
		Help: "Batches handed to a results replica and not yet stored.",
	})
	lagMessages = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "lift_results_eventlog_consumer_lag_messages",
		Help: "Stream sequence of the last batch appended minus the consumer's acknowledgement floor.",
	})
	redeliveries = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "lift_results_eventlog_redeliveries_total",
		Help: "Batches received again (a replica died or was too slow before acknowledging them).",
	})
	consumedBatches = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "lift_results_eventlog_consumed_batches_total",
		Help: "Batches stored and acknowledged.",
	})
	setAside = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lift_results_events_set_aside_total",
		Help: "Events kept out of the counts, by reason (UNKNOWN_EXPERIMENT, UNKNOWN_VARIATION, UNKNOWN_SDK_KEY, STORE_REFUSED, …).",
	}, []string{"reason"})
	storeRetries = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "lift_results_eventlog_store_retries_total",
		Help: "Group commits retried because the database was unavailable.",
	})
	readsNotCaughtUp = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "lift_results_reads_not_caught_up_total",
		Help: "Reads that stopped waiting for the consumer at the deadline and showed what was stored.",
	})
	groupSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "lift_results_eventlog_group_commit_seconds",
		Help:    "Time to store one group of batches.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
	})
	groupBatches = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "lift_results_eventlog_group_batches",
		Help:    "Batches stored per transaction.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 10),
	})
)

func init() {
	prometheus.MustRegister(pending, ackPending, lagMessages, redeliveries, consumedBatches, setAside,
		storeRetries, readsNotCaughtUp, groupSeconds, groupBatches)
	for _, r := range []string{"UNKNOWN_EXPERIMENT", "UNKNOWN_VARIATION", "UNKNOWN_SDK_KEY", "STORE_REFUSED"} {
		setAside.WithLabelValues(r)
	}
}
