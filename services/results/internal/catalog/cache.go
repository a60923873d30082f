package catalog

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// maxEntries bounds a cache's memory; past it the cache starts over, which
// costs one lookup per live key and never serves anything stale.
const maxEntries = 100000

type entry[V any] struct {
	value   V
	expires time.Time
}

// cache is a TTL cache whose misses for one key share one lookup.
type cache[K comparable, V any] struct {
	ttl     time.Duration
	mu      sync.Mutex
	entries map[K]entry[V]
	group   singleflight.Group
}

func newCache[K comparable, V any](ttl time.Duration) *cache[K, V] {
	return &cache[K, V]{ttl: ttl, entries: map[K]entry[V]{}}
}

func (c *cache[K, V]) lookup(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || time.Now().After(e.expires) {
		var zero V
		return zero, false
	}
	return e.value, true
}

func (c *cache[K, V]) put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxEntries {
		c.entries = map[K]entry[V]{}
	}
	c.entries[k] = entry[V]{value: v, expires: time.Now().Add(c.ttl)}
}

// refresh loads k again unless its entry was loaded after the given time.
// Refreshes of one key share one load (separately from get's misses, so a
// refresh is never answered with the stale entry it was asked to replace).
func (c *cache[K, V]) refresh(ctx context.Context, k K, after time.Time, load func(context.Context) (V, error)) (V, error) {
	c.mu.Lock()
	e, ok := c.entries[k]
	c.mu.Unlock()
	if ok && e.expires.Add(-c.ttl).After(after) {
		return e.value, nil
	}
	v, err, _ := c.group.Do("refresh:"+fmt.Sprint(k), func() (any, error) {
		v, err := load(ctx)
		if err == nil {
			c.put(k, v)
		}
		return v, err
	})
	if err != nil {
		var zero V
		return zero, err
	}
	return v.(V), nil
}

// get returns the cached value or loads it. Errors are not cached.
func (c *cache[K, V]) get(ctx context.Context, k K, load func(context.Context) (V, error)) (V, error) {
	if v, ok := c.lookup(k); ok {
		return v, nil
	}
	// The loader runs with the first caller's context (its credentials
	// authorise the lookup); callers sharing it have the same account, as
	// the key says.
	v, err, _ := c.group.Do(fmt.Sprint(k), func() (any, error) {
		v, err := load(ctx)
		if err == nil {
			c.put(k, v)
		}
		return v, err
	})
	if err != nil {
		var zero V
		return zero, err
	}
	return v.(V), nil
}
