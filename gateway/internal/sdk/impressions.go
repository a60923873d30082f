package sdk

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"github.com/optimizely/go-sdk/v2/pkg/event"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Impression dispatch: the decide endpoint answers at once and hands its
// impressions to a queue; one goroutine sends them to results as
// Optimizely event batches (the SDKs' own format, checked against the SDK
// key's datafile), per SDK key, when a batch is full or a second has passed.
// A failed send is retried with backoff while results is unavailable, and
// every impression has a fixed uuid, so a retried batch is counted once.
// Close sends what is queued. What is lost: impressions queued when the
// process dies without Close (at most about a second's worth), and those
// refused because the queue is full or results stayed down through the
// retries (both logged with counts). The same trade-off the SDKs' own event
// processors make.
const (
	impressionQueue     = 10_000
	impressionBatch     = 500
	impressionFlush     = time.Second
	impressionAttempts  = 6
	impressionBackoff   = 200 * time.Millisecond
	impressionCallLimit = 10 * time.Second
)

// Impressions sends decide's impressions to results in the background.
type Impressions struct {
	client resultsv1.ResultsServiceClient
	logger *slog.Logger
	queue  chan impression

	mu      sync.RWMutex // guards closed against sends on the closed queue
	closed  bool
	dropped atomic.Int64
	done    chan struct{}
}

// impression is one visitor entry of an Optimizely event batch: one
// decision and its campaign_activated event.
type impression struct {
	sdkKey, accountID, projectID string
	visitor                      event.Visitor
}

// NewImpressions starts the dispatcher; Close stops it.
func NewImpressions(client resultsv1.ResultsServiceClient, logger *slog.Logger) *Impressions {
	im := &Impressions{client: client, logger: logger, queue: make(chan impression, impressionQueue), done: make(chan struct{})}
	go im.run()
	return im
}

// add queues an impression without ever blocking the decision.
func (im *Impressions) add(i impression) {
	im.mu.RLock()
	defer im.mu.RUnlock()
	if im.closed {
		return
	}
	select {
	case im.queue <- i:
	default:
		if n := im.dropped.Add(1); n == 1 || n%1000 == 0 {
			im.logger.Warn("impression queue full; impressions dropped", "dropped_total", n)
		}
	}
}

// Close sends what is queued, waiting at most until ctx ends.
func (im *Impressions) Close(ctx context.Context) error {
	im.mu.Lock()
	if !im.closed {
		im.closed = true
		close(im.queue)
	}
	im.mu.Unlock()
	select {
	case <-im.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (im *Impressions) run() {
	defer close(im.done)
	pending := map[string][]impression{} // by SDK key
	tick := time.NewTicker(impressionFlush)
	defer tick.Stop()
	flushAll := func() {
		for key, is := range pending {
			im.send(key, is)
			delete(pending, key)
		}
	}
	for {
		select {
		case i, ok := <-im.queue:
			if !ok {
				flushAll()
				return
			}
			pending[i.sdkKey] = append(pending[i.sdkKey], i)
			if len(pending[i.sdkKey]) >= impressionBatch {
				im.send(i.sdkKey, pending[i.sdkKey])
				delete(pending, i.sdkKey)
			}
		case <-tick.C:
			flushAll()
		}
	}
}

// send posts one batch, retrying while results is unreachable.
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
		im.logger.Error("encode impressions", "error", err.Error())
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
		im.logger.Error("impressions not recorded", "impressions", len(is), "attempts", attempt, "error", err.Error())
		return
	}
}
