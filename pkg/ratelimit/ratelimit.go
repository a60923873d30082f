// Package ratelimit keeps one token bucket per caller (golang.org/x/time/rate)
// in bounded memory.
package ratelimit

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
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
// Memory is bounded by a least-recently-used cache with expiry
// (hashicorp/golang-lru/v2 expirable). A bucket unused for longer than it
// takes to refill completely (Burst/RPS, at least a second) is identical to
// a fresh one, so it expires then and nothing is lost. Past maxKeys active
// callers the least recently used bucket goes: a flood of made-up keys
// evicts only other made-up keys' buckets first, never all of them at once.
type Limiter struct {
	policy  Policy
	buckets *expirable.LRU[string, *rate.Limiter]
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
	return &Limiter{policy: p, buckets: expirable.NewLRU[string, *rate.Limiter](maxKeys, nil, idle)}
}

// Allow takes a token from key's bucket at now. When the bucket is empty it
// takes nothing and reports how long until a token will be there.
func (l *Limiter) Allow(key string, now time.Time) (ok bool, retryAfter time.Duration) {
	if l == nil {
		return true, 0
	}
	b := l.bucket(key)
	// rate.Limiter has its own lock; a reservation that would have to wait
	// is cancelled, which gives its token back.
	r := b.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// bucket returns key's bucket, made if needed. It is added again on every
// use: that moves it to the front and restarts its expiry, so only buckets
// idle for a full refill expire. Two racing first requests may each make a
// bucket; one wins, which at worst grants one extra request.
func (l *Limiter) bucket(key string) *rate.Limiter {
	b, found := l.buckets.Get(key)
	if !found {
		b = rate.NewLimiter(rate.Limit(l.policy.RPS), l.policy.Burst)
	}
	l.buckets.Add(key, b)
	return b
}

// Len is the number of buckets kept.
func (l *Limiter) Len() int {
	if l == nil {
		return 0
	}
	return l.buckets.Len()
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

// Take is Allow that can be undone: when ok, refund gives the token back
// (e.g. a lookup charged in advance turned out not to be a failure).
// Charging before the work, not after, is what keeps concurrent requests
// from all passing the check before any of them is charged.
func (l *Limiter) Take(key string, now time.Time) (ok bool, retryAfter time.Duration, refund func()) {
	if l == nil {
		return true, 0, func() {}
	}
	b := l.bucket(key)
	r := b.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second, nil
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d, nil
	}
	return true, 0, func() { r.CancelAt(now) }
}
