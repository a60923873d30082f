package ratelimit

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestAllow_BurstThenRate(t *testing.T) {
	l := New(Policy{RPS: 2, Burst: 3}, 0)
	for i := range 3 {
		if ok, _ := l.Allow("a", t0); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.Allow("a", t0)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("after the burst: ok=%v wait=%v, want refused with 500ms (1 token at 2/s)", ok, wait)
	}
	// A refusal takes no token: the next one is still 500ms away, not 1s.
	if _, wait := l.Allow("a", t0); wait != 500*time.Millisecond {
		t.Errorf("second refusal wait = %v, want 500ms", wait)
	}
	if ok, _ := l.Allow("a", t0.Add(500*time.Millisecond)); !ok {
		t.Error("refused once a token was due")
	}
	// Another key has its own bucket.
	if ok, _ := l.Allow("b", t0); !ok {
		t.Error("key b refused because key a is exhausted")
	}
}

func TestAllow_NilAllowsAll(t *testing.T) {
	l := New(Policy{RPS: 0, Burst: 10}, 0)
	if l != nil {
		t.Fatal("a policy without a rate built a limiter")
	}
	for range 1000 {
		if ok, _ := l.Allow("a", t0); !ok {
			t.Fatal("nil limiter refused")
		}
	}
}

func TestMemoryIsBounded_ActiveCallerKeepsItsBucket(t *testing.T) {
	l := New(Policy{RPS: 1, Burst: 5}, 100)
	for range 5 {
		l.Allow("real", t0)
	}
	for i := range 1000 {
		l.Allow(fmt.Sprint("invented", i), t0)
		if n := l.Len(); n > 100 {
			t.Fatalf("%d buckets after %d keys, max 100", n, i+1)
		}
		if i%10 == 0 {
			// The real caller keeps asking; its exhausted bucket must not be
			// evicted by the flood (which would hand it a fresh burst).
			if ok, _ := l.Allow("real", t0); ok {
				t.Fatalf("after %d invented keys the real caller's empty bucket was replaced by a fresh one", i)
			}
		}
	}
}

func TestIdleBucketIsFresh(t *testing.T) {
	// Sweeping a bucket that has refilled must not change any answer.
	l := New(Policy{RPS: 1, Burst: 2}, 0)
	l.Allow("a", t0)
	l.Allow("a", t0)
	if ok, _ := l.Allow("a", t0); ok {
		t.Fatal("burst of 2 allowed 3")
	}
	later := t0.Add(3 * time.Second)
	for i := range 2 {
		if ok, _ := l.Allow("a", later); !ok {
			t.Fatalf("request %d after a full refill refused", i+1)
		}
	}
}

func TestKey(t *testing.T) {
	k := Key("token", "lift_pat_secret")
	if strings.Contains(k, "secret") || !strings.HasPrefix(k, "token:") || k != Key("token", "lift_pat_secret") {
		t.Errorf("Key = %q", k)
	}
	if Key("ip", "x") == Key("token", "x") {
		t.Error("kinds share a key")
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for d, want := range map[time.Duration]int{0: 1, time.Millisecond: 1, time.Second: 1, 1001 * time.Millisecond: 2, 10 * time.Second: 10} {
		if got := RetryAfterSeconds(d); got != want {
			t.Errorf("RetryAfterSeconds(%v) = %d, want %d", d, got, want)
		}
	}
}
