package sdk

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
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
	visitor                      batchVisitor
}

type batch struct {
	AccountID       string         `json:"account_id"`
	ProjectID       string         `json:"project_id"`
	Revision        string         `json:"revision"`
	ClientName      string         `json:"client_name"`
	ClientVersion   string         `json:"client_version"`
	AnonymizeIP     bool           `json:"anonymize_ip"`
	EnrichDecisions bool           `json:"enrich_decisions"`
	Visitors        []batchVisitor `json:"visitors"`
}

type batchVisitor struct {
	VisitorID  string           `json:"visitor_id"`
	Attributes []batchAttribute `json:"attributes"`
	Snapshots  []batchSnapshot  `json:"snapshots"`
}

type batchAttribute struct {
	EntityID string `json:"entity_id"`
	Key      string `json:"key"`
	Type     string `json:"type"`
	Value    any    `json:"value"`
}

type batchSnapshot struct {
	Decisions []batchDecision `json:"decisions"`
	Events    []batchEvent    `json:"events"`
}

type batchDecision struct {
	CampaignID   string        `json:"campaign_id"`
	ExperimentID string        `json:"experiment_id"`
	VariationID  string        `json:"variation_id"`
	Metadata     batchMetadata `json:"metadata"`
}

type batchMetadata struct {
	FlagKey      string `json:"flag_key"`
	RuleKey      string `json:"rule_key"`
	RuleType     string `json:"rule_type"`
	VariationKey string `json:"variation_key"`
	Enabled      bool   `json:"enabled"`
}

type batchEvent struct {
	EntityID  string `json:"entity_id"`
	Key       string `json:"key"`
	Timestamp int64  `json:"timestamp"`
	UUID      string `json:"uuid"`
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
	b := batch{
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

// newUUID is a random (version 4) UUID for an impression event.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
