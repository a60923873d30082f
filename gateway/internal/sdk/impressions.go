package sdk

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"github.com/optimizely/go-sdk/v2/pkg/event"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Impression dispatch: the decide endpoint's impressions are recorded
// before it answers, never queued in memory past the answer. An impression
// joins the batch being gathered for its SDK key, and its decide waits
// until that batch is recorded: sent to results as an Optimizely event
// batch, which results appends to the event log and acknowledges once the
// log has it (see the README's event path). Batching concurrent decides
// costs each at most impressionGather; a failed send is retried while
// results or the log is unavailable, for up to about impressionRetryFor.
// What can be lost: an impression whose batch still failed then (logged,
// and counted in lift_gateway_impressions_lost_total); the decision itself
// is answered either way, as Agent does. Nothing is dropped for load: a
// burst makes decides wait, not impressions disappear.
const (
	impressionBatch     = 500
	impressionGather    = 2 * time.Millisecond
	impressionAttempts  = 5
	impressionBackoff   = 100 * time.Millisecond // doubled per retry: ≈ 1.5 s in all
	impressionCallLimit = 10 * time.Second
)

var impressionsLost = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "lift_gateway_impressions_lost_total",
	Help: "Decide impressions not recorded: results or the event log stayed unavailable through the retries.",
})

func init() { prometheus.MustRegister(impressionsLost) }

// Impressions records decide's impressions with results.
type Impressions struct {
	client resultsv1.ResultsServiceClient
	logger *slog.Logger

	mu       sync.Mutex
	gather   map[string]*impressionBatchInFlight // by SDK key
	inflight sync.WaitGroup
}

// impressionBatchInFlight is the batch one SDK key's impressions are
// gathered into; done closes once it is recorded (or given up on).
type impressionBatchInFlight struct {
	sdkKey string
	is     []impression
	sent   bool
	done   chan struct{}
}

// impression is one visitor entry of an Optimizely event batch: one
// decision and its campaign_activated event.
type impression struct {
	sdkKey, accountID, projectID string
	visitor                      event.Visitor
}

// NewImpressions returns the sink; Close waits for batches being sent.
func NewImpressions(client resultsv1.ResultsServiceClient, logger *slog.Logger) *Impressions {
	return &Impressions{client: client, logger: logger, gather: map[string]*impressionBatchInFlight{}}
}

// add records one decide's impressions (all of one SDK key), returning
// once their batch is recorded.
func (im *Impressions) add(is ...impression) {
	im.mu.Lock()
	b := im.gather[is[0].sdkKey]
	if b == nil {
		b = &impressionBatchInFlight{sdkKey: is[0].sdkKey, done: make(chan struct{})}
		im.gather[is[0].sdkKey] = b
		im.inflight.Add(1)
		time.AfterFunc(impressionGather, func() { im.flush(b) })
	}
	b.is = append(b.is, is...)
	full := len(b.is) >= impressionBatch
	im.mu.Unlock()
	if full {
		im.flush(b)
	}
	<-b.done
}

// flush sends b unless it has been sent already.
func (im *Impressions) flush(b *impressionBatchInFlight) {
	im.mu.Lock()
	if b.sent {
		im.mu.Unlock()
		return
	}
	b.sent = true
	if im.gather[b.sdkKey] == b {
		delete(im.gather, b.sdkKey)
	}
	im.mu.Unlock()
	defer im.inflight.Done()
	defer close(b.done)
	im.send(b.sdkKey, b.is)
}

// Close waits, at most until ctx ends, for the batches being recorded
// (their decides are still waiting for them).
func (im *Impressions) Close(ctx context.Context) error {
	done := make(chan struct{})
	go func() { im.inflight.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// send posts one batch, retrying while results or its log is unavailable.
func (im *Impressions) send(sdkKey string, is []impression) {
	b := event.Batch{
		AccountID: is[0].accountID, ProjectID: is[0].projectID,
		ClientName: "lift-gateway", ClientVersion: "1", EnrichDecisions: true,
	}
	for _, i := range is {
		b.Visitors = append(b.Visitors, i.visitor)
	}
	body, err := json.Marshal(b)
	if err != nil {
		im.lost(is, 0, err)
		return
	}
	wait := impressionBackoff
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), impressionCallLimit)
		_, err = im.client.IngestOptimizelyBatch(ctx, &resultsv1.IngestOptimizelyBatchRequest{Batch: body, SdkKey: sdkKey})
		cancel()
		if err == nil {
			return
		}
		switch status.Code(err) {
		case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted:
			if attempt < impressionAttempts {
				time.Sleep(wait)
				wait *= 2
				continue
			}
		}
		im.lost(is, attempt, err)
		return
	}
}

func (im *Impressions) lost(is []impression, attempts int, err error) {
	impressionsLost.Add(float64(len(is)))
	im.logger.Error("impressions not recorded", "impressions", len(is), "attempts", attempts, "error", err.Error())
}
