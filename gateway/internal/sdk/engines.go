package sdk

import (
	"context"

	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/sync/singleflight"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/liftlabs/lift/gateway/internal/httperr"
	v4 "github.com/liftlabs/lift/pkg/datafile"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
)

// EngineOptions bound the edge's engines; zero fields take the defaults.
type EngineOptions struct {
	// Max is how many SDK keys keep an engine (least recently used
	// evicted first). Default 10,000.
	Max int
	// Idle evicts an engine no decide used for this long, ending its
	// watch. Default 10 minutes.
	Idle time.Duration
	// UnknownTTL is how long an SDK key experiments called unknown is
	// answered 404 without asking again. Default 2 seconds.
	UnknownTTL time.Duration
	// MaxUnknown bounds the negative cache. Default 10,000.
	MaxUnknown int
}

const (
	defaultMaxEngines = 10_000
	defaultEngineIdle = 10 * time.Minute
	defaultUnknownTTL = 2 * time.Second
	// engineLoadTimeout bounds the one shared first fetch of an SDK key.
	engineLoadTimeout = 5 * time.Second
	// watchBackoffMin and watchBackoffMax pace the reopening of a broken
	// watch; reopening sends the current revision, so each attempt is
	// also a poll.
	watchBackoffMin = 250 * time.Millisecond
	watchBackoffMax = 5 * time.Second
	// pollInterval is the fallback for an experiments service without
	// WatchDatafile (Unimplemented): GetDatafile with If-None-Match.
	pollInterval = time.Second
	// touchEvery coarsens the last-use stamp so hot keys do not write a
	// shared cache line on every request.
	touchEvery = int64(time.Second)
)

var (
	errUnknownKey = httperr.New(codes.NotFound, "SDK_KEY_NOT_FOUND", "unknown SDK key", nil).Err()
	errNoDatafile = httperr.New(codes.Unavailable, "DATAFILE_UNAVAILABLE",
		"the environment's datafile cannot be loaded right now; retry later", nil).Err()
)

// Engines is the edge's compiled datafiles, per SDK key, as Optimizely
// Agent keeps one SDK client per key: the first decide of a key fetches
// and compiles its datafile once (concurrent first requests share the
// fetch, detached from any one caller), a watch on experiments swaps in
// each new revision as it is made, and a key stays served from its last
// revision while experiments is unreachable. Idle and least recently used
// keys are evicted, which ends their watch; keys experiments called
// unknown are remembered briefly so invented keys cost no backend call.
type Engines struct {
	client  experimentsv1.ExperimentsServiceClient
	logger  *slog.Logger
	idle    time.Duration
	cache   *lru.Cache[string, *edgeEngine]
	unknown *expirable.LRU[string, struct{}]
	loads   singleflight.Group

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// edgeEngine is one SDK key's current engine and its watch.
type edgeEngine struct {
	engine   atomic.Pointer[v4.Engine]
	lastUsed atomic.Int64 // unix nanoseconds, coarse (touchEvery)
	stop     context.CancelFunc
}

func (e *edgeEngine) touch(now int64) {
	if now-e.lastUsed.Load() > touchEvery {
		e.lastUsed.Store(now)
	}
}

// NewEngines starts the idle sweeper; Close stops it and every watch.
func NewEngines(client experimentsv1.ExperimentsServiceClient, logger *slog.Logger, o EngineOptions) *Engines {
	o.Max = cmpOr(o.Max, defaultMaxEngines)
	o.MaxUnknown = cmpOr(o.MaxUnknown, defaultMaxEngines)
	o.Idle = cmpOr(o.Idle, defaultEngineIdle)
	o.UnknownTTL = cmpOr(o.UnknownTTL, defaultUnknownTTL)
	if logger == nil {
		logger = slog.Default()
	}
	e := &Engines{client: client, logger: logger, idle: o.Idle}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	// Eviction (size, idleness, a revoked key) ends the key's watch.
	e.cache, _ = lru.NewWithEvict(o.Max, func(_ string, ee *edgeEngine) { ee.stop() })
	e.unknown = expirable.NewLRU[string, struct{}](o.MaxUnknown, nil, o.UnknownTTL)
	e.wg.Add(1)
	go e.sweep()
	return e
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Get returns the SDK key's engine, loading it on first use. Errors are
// ready for mux.WriteError: 404 for a key experiments does not know, 503
// when a key never seen cannot be loaded (experiments down).
func (e *Engines) Get(ctx context.Context, sdkKey string) (*v4.Engine, error) {
	now := time.Now().UnixNano()
	if ee, ok := e.cache.Get(sdkKey); ok {
		ee.touch(now)
		return ee.engine.Load(), nil
	}
	if _, ok := e.unknown.Get(sdkKey); ok {
		return nil, errUnknownKey
	}
	v, err, _ := e.loads.Do(sdkKey, func() (any, error) {
		if ee, ok := e.cache.Peek(sdkKey); ok { // loaded while we queued
			return ee, nil
		}
		// Detached from the first caller: every waiter shares the result.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), engineLoadTimeout)
		defer cancel()
		return e.load(ctx, sdkKey)
	})
	if err != nil {
		return nil, err
	}
	ee := v.(*edgeEngine)
	ee.touch(now)
	return ee.engine.Load(), nil
}

func (e *Engines) load(ctx context.Context, sdkKey string) (*edgeEngine, error) {
	resp, err := e.client.GetDatafile(ctx, &experimentsv1.GetDatafileRequest{SdkKey: sdkKey})
	switch status.Code(err) {
	case codes.OK:
	case codes.NotFound, codes.InvalidArgument:
		e.unknown.Add(sdkKey, struct{}{})
		return nil, errUnknownKey
	default:
		e.logger.Warn("edge decide: datafile not loaded", "error", err.Error())
		return nil, errNoDatafile
	}
	engine, err := v4.Load([]byte(resp.GetDatafile()))
	if err != nil {
		e.logger.Error("edge decide: datafile does not compile", "revision", resp.GetRevision(), "error", err.Error())
		return nil, errNoDatafile
	}
	watchCtx, stop := context.WithCancel(e.ctx)
	ee := &edgeEngine{stop: stop}
	ee.engine.Store(engine)
	e.cache.Add(sdkKey, ee)
	e.wg.Add(1)
	go e.watch(watchCtx, sdkKey, ee)
	return ee, nil
}

// watch follows the key's revisions until the engine is evicted or the
// key is revoked.
func (e *Engines) watch(ctx context.Context, sdkKey string, ee *edgeEngine) {
	defer e.wg.Done()
	wait := watchBackoffMin
	for ctx.Err() == nil {
		started := time.Now()
		err := e.follow(ctx, sdkKey, ee)
		switch status.Code(err) {
		case codes.NotFound:
			// The key was revoked: forget it, as for a key never known.
			e.forget(sdkKey, ee)
			e.unknown.Add(sdkKey, struct{}{})
			return
		case codes.Unimplemented:
			e.poll(ctx, sdkKey, ee)
			return
		}
		if time.Since(started) > watchBackoffMax {
			wait = watchBackoffMin // the stream was up: start over
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, watchBackoffMax)
	}
}

// follow applies every revision one WatchDatafile stream pushes.
func (e *Engines) follow(ctx context.Context, sdkKey string, ee *edgeEngine) error {
	stream, err := e.client.WatchDatafile(ctx, &experimentsv1.WatchDatafileRequest{
		SdkKey: sdkKey, KnownRevision: ee.engine.Load().Revision,
	})
	if err != nil {
		return err
	}
	for {
		msg, err := stream.Recv()
		if err != nil {
			return err
		}
		e.swap(ee, msg.GetRevision(), msg.GetDatafile())
	}
}

// poll is the fallback without WatchDatafile.
func (e *Engines) poll(ctx context.Context, sdkKey string, ee *edgeEngine) {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		resp, err := e.client.GetDatafile(ctx, &experimentsv1.GetDatafileRequest{SdkKey: sdkKey})
		switch {
		case status.Code(err) == codes.NotFound:
			e.forget(sdkKey, ee)
			return
		case err == nil && resp.GetRevision() != ee.engine.Load().Revision:
			e.swap(ee, resp.GetRevision(), resp.GetDatafile())
		}
	}
}

func (e *Engines) swap(ee *edgeEngine, revision, datafile string) {
	engine, err := v4.Load([]byte(datafile))
	if err != nil {
		// Keep deciding from the last revision that compiled.
		e.logger.Error("edge decide: datafile does not compile", "revision", revision, "error", err.Error())
		return
	}
	ee.engine.Store(engine)
}

// forget evicts the key's engine if it is still ee.
func (e *Engines) forget(sdkKey string, ee *edgeEngine) {
	if cur, ok := e.cache.Peek(sdkKey); ok && cur == ee {
		e.cache.Remove(sdkKey)
	}
}

// sweep evicts engines idle for longer than e.idle.
func (e *Engines) sweep() {
	defer e.wg.Done()
	tick := time.NewTicker(e.idle / 4)
	defer tick.Stop()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-tick.C:
		}
		cutoff := time.Now().Add(-e.idle).UnixNano()
		for _, k := range e.cache.Keys() {
			if ee, ok := e.cache.Peek(k); ok && ee.lastUsed.Load() < cutoff {
				e.forget(k, ee)
			}
		}
	}
}

// Holds reports whether the SDK key has an engine (without counting as a
// use).
func (e *Engines) Holds(sdkKey string) bool { return e.cache.Contains(sdkKey) }

// Len is how many SDK keys hold an engine.
func (e *Engines) Len() int { return e.cache.Len() }

// Close ends every watch and the sweeper.
func (e *Engines) Close() {
	e.cancel()
	e.wg.Wait()
}
