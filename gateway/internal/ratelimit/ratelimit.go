// Package ratelimit keeps one token bucket per caller (golang.org/x/time/rate)
// in bounded memory.
package ratelimit

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultMaxKeys bounds how many callers' buckets are kept at once.
const DefaultMaxKeys = 100_000

// Policy is a sustained rate and a burst; RPS <= 0 means no limit.
type Policy struct {
	RPS   float64
	Burst int
}

// Limiter holds the buckets of one policy, keyed by a caller key (see Key).
//
// Memory is bounded two ways. A bucket unused for longer than it takes to
// refill completely (Burst/RPS, at least a second) is identical to a fresh
// one, so dropping it loses nothing; such buckets are swept when the map is
// full and at most once per idle period otherwise. If the map is still full
// after a sweep (more than maxKeys distinct callers active at once), some
// arbitrary buckets are dropped: those callers get a fresh burst, which is
// the price of not growing without bound under a flood of made-up keys.
type Limiter struct {
	policy  Policy
	maxKeys int
	idle    time.Duration

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	used time.Time
}

// New returns a limiter for policy keeping at most maxKeys buckets
// (DefaultMaxKeys when maxKeys <= 0). It returns nil when the policy does
// not limit; a nil *Limiter allows everything.
func New(p Policy, maxKeys int) *Limiter {
	if p.RPS <= 0 {
		return nil
	}
	if p.Burst < 1 {
		p.Burst = 1
	}
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	idle := time.Duration(float64(p.Burst) / p.RPS * float64(time.Second))
	if idle < time.Second {
		idle = time.Second
	}
	return &Limiter{policy: p, maxKeys: maxKeys, idle: idle, buckets: map[string]*bucket{}}
}

// Allow takes a token from key's bucket at now. When the bucket is empty it
// takes nothing and reports how long until a token will be there.
func (l *Limiter) Allow(key string, now time.Time) (ok bool, retryAfter time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	if now.Sub(l.lastSweep) > l.idle {
		l.sweep(now)
	}
	b := l.buckets[key]
	if b == nil {
		l.makeRoom(now)
		b = &bucket{lim: rate.NewLimiter(rate.Limit(l.policy.RPS), l.policy.Burst)}
		l.buckets[key] = b
	}
	b.used = now
	l.mu.Unlock()

	// rate.Limiter has its own lock; a reservation that would have to wait
	// is cancelled, which gives its token back.
	r := b.lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// Len is the number of buckets kept.
func (l *Limiter) Len() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// makeRoom ensures a new bucket fits; l.mu is held.
func (l *Limiter) makeRoom(now time.Time) {
	if len(l.buckets) < l.maxKeys {
		return
	}
	l.sweep(now)
	for k := range l.buckets {
		if len(l.buckets) < l.maxKeys {
			return
		}
		delete(l.buckets, k)
	}
}

// sweep drops the buckets that have refilled completely; l.mu is held.
func (l *Limiter) sweep(now time.Time) {
	l.lastSweep = now
	for k, b := range l.buckets {
		if now.Sub(b.used) > l.idle {
			delete(l.buckets, k)
		}
	}
}

// Key turns a credential or an address into a bucket key: a hash, so a
// token never sits in memory longer than its request (and a heap dump shows
// no secrets), prefixed by its kind so that a token and an address can never
// share a bucket.
func Key(kind, value string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + value))
	return kind + ":" + hex.EncodeToString(sum[:16])
}

// RetryAfterSeconds rounds a wait up to whole seconds, at least 1, for the
// Retry-After header.
func RetryAfterSeconds(d time.Duration) int {
	s := int(math.Ceil(d.Seconds()))
	if s < 1 {
		return 1
	}
	return s
}
