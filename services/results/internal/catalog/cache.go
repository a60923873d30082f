package catalog

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/sync/singleflight"
)

// maxEntries bounds a cache's memory. Past it the least recently used entry
// goes (hashicorp/golang-lru/v2 expirable, as pkg/auth's token cache): a
// flood of new keys evicts the idle entries, never the ones in use.
const maxEntries = 100000

type entry[V any] struct {
	value  V
	loaded time.Time
}

// cache is a bounded TTL cache whose misses for one key share one lookup.
// Errors are not cached.
type cache[K comparable, V any] struct {
	entries *expirable.LRU[K, entry[V]]
	group   singleflight.Group
}

func newCache[K comparable, V any](ttl time.Duration, size int) *cache[K, V] {
	return &cache[K, V]{entries: expirable.NewLRU[K, entry[V]](size, nil, ttl)}
}

func (c *cache[K, V]) lookup(k K) (V, bool) {
	e, ok := c.entries.Get(k)
	return e.value, ok
}

func (c *cache[K, V]) put(k K, v V) {
	c.entries.Add(k, entry[V]{value: v, loaded: time.Now()})
}

// refresh loads k again unless its entry was loaded after the given time.
// Refreshes of one key share one load (separately from get's misses, so a
// refresh is never answered with the stale entry it was asked to replace).
func (c *cache[K, V]) refresh(ctx context.Context, k K, after time.Time, load func(context.Context) (V, error)) (V, error) {
	if e, ok := c.entries.Get(k); ok && e.loaded.After(after) {
		return e.value, nil
	}
	return c.load(ctx, "refresh:"+fmt.Sprint(k), k, load)
}

// get returns the cached value or loads it.
func (c *cache[K, V]) get(ctx context.Context, k K, load func(context.Context) (V, error)) (V, error) {
	if v, ok := c.lookup(k); ok {
		return v, nil
	}
	return c.load(ctx, fmt.Sprint(k), k, load)
}

// load runs one shared load of k. It runs with the first caller's context
// values (its credentials authorise the lookup; callers sharing it have the
// same account, as the key says) but not its cancellation: a caller that
// gives up returns at once and leaves the load to the others waiting on it,
// instead of failing them with its own cancellation. The load's calls are
// bounded by callTimeout.
func (c *cache[K, V]) load(ctx context.Context, flight string, k K, load func(context.Context) (V, error)) (V, error) {
	detached := context.WithoutCancel(ctx)
	ch := c.group.DoChan(flight, func() (any, error) {
		v, err := load(detached)
		if err == nil {
			c.put(k, v)
		}
		return v, err
	})
	var zero V
	select {
	case r := <-ch:
		if r.Err != nil {
			return zero, r.Err
		}
		return r.Val.(V), nil
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}
