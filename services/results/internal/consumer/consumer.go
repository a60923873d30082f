// Package consumer moves event batches from the event log into Postgres:
// every results replica runs one on the shared durable consumer (work-queue
// semantics: each batch goes to one replica at a time), attributes each
// batch against its environment's datafile, stores every batch of one
// fetch in one transaction (group commit) and acknowledges them only after
// the commit. A redelivered batch is harmless: events are deduplicated by
// uuid, and an event set aside is set aside once.
package consumer

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/liftlabs/lift/pkg/eventlog"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"github.com/liftlabs/lift/services/results/internal/catalog"
	"github.com/liftlabs/lift/services/results/internal/ingest"
	"github.com/liftlabs/lift/services/results/internal/store"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Tuning of the shared consumer.
const (
	// Durable is the consumer every replica shares.
	Durable = "results"
	// groupSize is the most batches stored in one transaction.
	groupSize = 256
	// maxAckPending bounds the batches handed out and not yet committed,
	// across replicas: a replica's buffer plus the group it is storing.
	maxAckPending = 4 * groupSize
	// ackWait is how long a replica may hold a batch without a word
	// (it says InProgress while Postgres is down) before another gets it.
	ackWait = 30 * time.Second
	// ReadWait bounds how long a read waits for the consumer to store
	// every batch acknowledged before the read began.
	ReadWait = 5 * time.Second
)

// Store is what the consumer needs from the database.
type Store interface {
	IngestGroup(ctx context.Context, bs []*ingest.Batch, aside []ingest.SetAside) (store.IngestResult, error)
}

// Catalog resolves SDK keys to their environment's experiments.
type Catalog interface {
	Datafile(ctx context.Context, sdkKey string) (*catalog.Datafile, error)
	RefreshDatafile(ctx context.Context, sdkKey string, after time.Time) (*catalog.Datafile, error)
	DatafileExperiment(d *catalog.Datafile, id int64) (*catalog.Experiment, bool)
}

// Consumer stores the event log's batches.
type Consumer struct {
	log     *eventlog.Log
	cons    jetstream.Consumer
	store   Store
	catalog Catalog
	limits  ingest.Limits
	logger  *slog.Logger
	stored  func(projectID int64)
}

// New creates (or joins) the shared durable consumer. stored is called
// with the project of every committed batch (the rollup worker's Notify).
func New(ctx context.Context, l *eventlog.Log, st Store, cat Catalog, limits ingest.Limits, logger *slog.Logger, stored func(int64)) (*Consumer, error) {
	cons, err := l.Consumer(ctx, eventlog.ConsumerOptions{Durable: Durable, MaxAckPending: maxAckPending, AckWait: ackWait})
	if err != nil {
		return nil, err
	}
	// The future-timestamp check ran when the batch was accepted; the
	// clock has only moved on since.
	limits.MaxFutureSkew = 100 * 365 * 24 * time.Hour
	return &Consumer{log: l, cons: cons, store: st, catalog: cat, limits: limits, logger: logger, stored: stored}, nil
}

// WaitCaughtUp waits until every batch appended before the call has been
// stored (by any replica), for at most ReadWait: a read then sees every
// event acknowledged before it began. Past the deadline, or with the log
// unreachable, it returns and the read shows what is stored.
func (c *Consumer) WaitCaughtUp(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, ReadWait)
	defer cancel()
	seq, err := c.log.LastSequence(ctx)
	if err == nil {
		err = eventlog.WaitConsumed(ctx, c.cons, seq)
	}
	if err != nil {
		readsNotCaughtUp.Inc()
	}
}

// Run consumes until ctx ends.
func (c *Consumer) Run(ctx context.Context) {
	go c.observe(ctx)
	for ctx.Err() == nil {
		group, err := c.next(ctx)
		if err != nil {
			if ctx.Err() == nil {
				c.logger.Warn("event log consumer", "error", err.Error())
				sleep(ctx, time.Second)
			}
			continue
		}
		if len(group) > 0 {
			c.handle(ctx, group)
		}
	}
}

// next waits (up to a few seconds) for a first batch, then takes whatever
// else has arrived, up to groupSize: groups grow with the load (a backlog
// drains in groups of groupSize) while a lone batch is stored at once.
// Nothing is fetched ahead of the group being stored, so every batch a
// replica holds is one it keeps marking in progress while Postgres is
// down, and none is handed to another replica meanwhile.
func (c *Consumer) next(ctx context.Context) ([]jetstream.Msg, error) {
	wait, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	first, err := c.cons.Fetch(1, jetstream.FetchContext(wait))
	if err != nil {
		return nil, err
	}
	var group []jetstream.Msg
	for m := range first.Messages() {
		group = append(group, m)
	}
	if len(group) == 0 {
		return nil, nil // first.Error() is the wait's expiry
	}
	more, err := c.cons.FetchNoWait(groupSize - 1)
	if err != nil {
		return group, nil
	}
	for m := range more.Messages() {
		group = append(group, m)
	}
	return group, nil
}

// prepared is one message made ready to store.
type prepared struct {
	msg   jetstream.Msg
	batch *ingest.Batch
	aside []ingest.SetAside
}

// handle stores a group and acknowledges it. While the store is
// unavailable it retries, telling the server the messages are in progress.
func (c *Consumer) handle(ctx context.Context, msgs []jetstream.Msg) {
	var ready []prepared
	for _, m := range msgs {
		if md, err := m.Metadata(); err == nil && md.NumDelivered > 1 {
			redeliveries.Inc()
		}
		p, err := c.prepare(ctx, m)
		if errors.Is(err, errUnreadable) {
			continue
		}
		if err != nil {
			// The catalog is unreachable: leave the batch for later.
			c.logger.Warn("event batch not attributed yet", "error", err.Error())
			_ = m.NakWithDelay(time.Second)
			continue
		}
		ready = append(ready, p)
	}
	if len(ready) == 0 {
		return
	}
	err := c.storeGroup(ctx, ready)
	if err != nil && len(ready) > 1 {
		// Something in the group is refused: store its batches one by one
		// so one bad batch does not hold up the rest.
		for _, p := range ready {
			c.storeAlone(ctx, p)
		}
		return
	}
	if err != nil {
		c.storeAlone(ctx, ready[0])
		return
	}
	c.done(ready)
}

// storeAlone stores one batch; refused by the database, its events are set
// aside instead (reason STORE_REFUSED), so it never blocks the log.
func (c *Consumer) storeAlone(ctx context.Context, p prepared) {
	group := []prepared{p}
	if err := c.storeGroup(ctx, group); err != nil {
		c.logger.Error("event batch refused by the database; set aside", "error", err.Error())
		env, derr := ingest.DecodeEnvelope(p.msg.Headers().Get, p.msg.Data())
		if derr != nil {
			_ = p.msg.Term()
			return
		}
		group[0].batch, group[0].aside = nil, ingest.AllAside(env.Request, "STORE_REFUSED")
		if err := c.storeGroup(ctx, group); err != nil {
			return // not acknowledged: redelivered after ackWait
		}
	}
	c.done(group)
}

// storeGroup commits a group, retrying while the database is unavailable
// (until ctx ends); a nil error means committed.
func (c *Consumer) storeGroup(ctx context.Context, group []prepared) error {
	var batches []*ingest.Batch
	var aside []ingest.SetAside
	for _, p := range group {
		if p.batch != nil {
			batches = append(batches, p.batch)
		}
		aside = append(aside, p.aside...)
	}
	wait := 100 * time.Millisecond
	for {
		began := time.Now()
		_, err := c.store.IngestGroup(ctx, batches, aside)
		if err == nil {
			groupSeconds.Observe(time.Since(began).Seconds())
			groupBatches.Observe(float64(len(group)))
			return nil
		}
		if status.Code(err) != codes.Unavailable || ctx.Err() != nil {
			return err
		}
		storeRetries.Inc()
		for _, p := range group {
			_ = p.msg.InProgress()
		}
		sleep(ctx, wait)
		wait = min(2*wait, 2*time.Second)
	}
}

// done acknowledges a committed group.
func (c *Consumer) done(group []prepared) {
	projects := map[int64]bool{}
	for _, p := range group {
		_ = p.msg.Ack()
		consumedBatches.Inc()
		for _, a := range p.aside {
			setAside.WithLabelValues(a.Reason).Inc()
		}
		if p.batch != nil && len(p.batch.Events) > 0 {
			projects[p.batch.ProjectID] = true
		}
	}
	for p := range projects {
		c.stored(p)
	}
}

// prepare decodes and attributes one message. An error means "not now"
// (the catalog is unreachable); a batch that can never be stored is set
// aside whole.
func (c *Consumer) prepare(ctx context.Context, m jetstream.Msg) (prepared, error) {
	p := prepared{msg: m}
	env, err := ingest.DecodeEnvelope(m.Headers().Get, m.Data())
	if err != nil {
		// Not a batch this service wrote: nothing to set aside it under.
		c.logger.Error("unreadable event log message; terminated", "subject", m.Subject(), "error", err.Error())
		setAside.WithLabelValues("UNREADABLE").Inc()
		_ = m.Term()
		return p, errUnreadable
	}
	known, botFiltering := env.Known, false
	if env.SDKKey != "" {
		d, err := c.catalog.Datafile(ctx, env.SDKKey)
		if status.Code(err) == codes.NotFound {
			p.aside = ingest.AllAside(env.Request, "UNKNOWN_SDK_KEY")
			return p, nil
		}
		if err != nil {
			return p, err
		}
		known = c.known(d, env.Request)
		if _, aside := ingest.Attribute(env.Request, known); len(aside) > 0 {
			// An experiment started after the copy was cached, most
			// likely: fetch the datafile again (once, for all callers),
			// unless the copy is already newer than the batch.
			appended := time.Now()
			if md, err := m.Metadata(); err == nil {
				appended = md.Timestamp
			}
			if d, err = c.catalog.RefreshDatafile(ctx, env.SDKKey, appended); err != nil {
				return p, err
			}
			known = c.known(d, env.Request)
		}
		botFiltering = d.BotFiltering
	}
	kept, aside := ingest.Attribute(env.Request, known)
	p.aside = aside
	if len(kept.GetVisitors()) == 0 {
		return p, nil
	}
	b, err := ingest.Build(kept, known, c.limits, botFiltering)
	if err != nil {
		p.aside = ingest.AllAside(env.Request, reasonOf(err))
		return p, nil
	}
	p.batch = b
	return p, nil
}

var errUnreadable = errors.New("unreadable event log message")

// known resolves the experiments req's impressions name in d's
// environment.
func (c *Consumer) known(d *catalog.Datafile, req *resultsv1.IngestEventsRequest) ingest.Known {
	known := ingest.Known{}
	for _, id := range ingest.ExperimentIDs(req) {
		if e, ok := c.catalog.DatafileExperiment(d, id); ok {
			known[id] = e.VariationIDs()
		}
	}
	return known
}

func reasonOf(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return "INVALID_BATCH"
}

// observe exports the consumer's state as metrics.
func (c *Consumer) observe(ctx context.Context) {
	for {
		if info, err := c.cons.Info(ctx); err == nil {
			pending.Set(float64(info.NumPending))
			ackPending.Set(float64(info.NumAckPending))
			if info.NumPending+uint64(info.NumAckPending) > 0 {
				if last, err := c.log.LastSequence(ctx); err == nil && last > info.AckFloor.Stream {
					lagMessages.Set(float64(last - info.AckFloor.Stream))
				}
			} else {
				lagMessages.Set(0)
			}
		}
		if !sleep(ctx, 5*time.Second) {
			return
		}
	}
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
