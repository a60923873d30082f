package catalog

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// counted is a load that counts its calls and answers the key's length.
func counted(calls *atomic.Int32, k string) func(context.Context) (int, error) {
	return func(context.Context) (int, error) { calls.Add(1); return len(k), nil }
}

// A flood of size+1 new keys (an SDK sending made-up experiment ids, many
// SDK keys) evicts the idle entries only: an entry used all along stays
// cached and is loaded once. The cache this replaced started over when
// full, so it loaded the entry again.
func TestCache_FloodKeepsRecentlyUsedEntry(t *testing.T) {
	const size = 1000
	c := newCache[string, int](time.Minute, size)
	var valid, invented atomic.Int32
	ctx := t.Context()
	for i := range size + 1 {
		if i%(size/10) == 0 {
			if _, err := c.get(ctx, "valid", counted(&valid, "valid")); err != nil {
				t.Fatal(err)
			}
		}
		k := fmt.Sprintf("invented-%d", i)
		if _, err := c.get(ctx, k, counted(&invented, k)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.get(ctx, "valid", counted(&valid, "valid")); err != nil {
		t.Fatal(err)
	}
	if valid.Load() != 1 || invented.Load() != size+1 {
		t.Fatalf("loads: valid %d (want 1), invented %d (want %d)", valid.Load(), invented.Load(), size+1)
	}
	if n := c.entries.Len(); n != size {
		t.Fatalf("%d entries, want the bound %d", n, size)
	}
	if _, ok := c.lookup("invented-0"); ok {
		t.Fatal("the least recently used invented key is still cached")
	}
}

// Entries expire after the TTL; errors are not cached.
func TestCache_TTLAndErrors(t *testing.T) {
	c := newCache[string, int](50*time.Millisecond, 10)
	var calls atomic.Int32
	for range 2 {
		if _, err := c.get(t.Context(), "k", counted(&calls, "k")); err != nil {
			t.Fatal(err)
		}
	}
	if calls.Load() != 1 {
		t.Fatalf("%d loads within the TTL, want 1", calls.Load())
	}
	time.Sleep(120 * time.Millisecond)
	if _, err := c.get(t.Context(), "k", counted(&calls, "k")); err != nil || calls.Load() != 2 {
		t.Fatalf("after the TTL: %d loads, %v; want 2", calls.Load(), err)
	}
	boom := errors.New("boom")
	var failed atomic.Int32
	for range 2 {
		_, err := c.get(t.Context(), "bad", func(context.Context) (int, error) { failed.Add(1); return 0, boom })
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
	}
	if failed.Load() != 2 {
		t.Fatalf("%d loads of a failing key, want 2 (errors are not cached)", failed.Load())
	}
}

// A shared load does not end with the first caller's cancellation: that
// caller returns its own error at once, the load goes on with the caller's
// values and its result is cached and given to the others.
func TestCache_SharedLoadDetachedFromFirstCaller(t *testing.T) {
	c := newCache[string, int](time.Minute, 10)
	release := make(chan struct{})
	var calls atomic.Int32
	loadErr := make(chan error, 1)
	load := func(ctx context.Context) (int, error) {
		calls.Add(1)
		<-release
		loadErr <- ctx.Err()
		return 7, ctx.Err()
	}
	first, cancel := context.WithCancel(t.Context())
	firstErr := make(chan error, 1)
	go func() { _, err := c.get(first, "k", load); firstErr <- err }()
	for calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	second := make(chan int, 1)
	go func() { v, _ := c.get(t.Context(), "k", load); second <- v }()
	cancel()
	if err := <-firstErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("first caller: %v, want its cancellation", err)
	}
	close(release)
	if err := <-loadErr; err != nil {
		t.Fatalf("the load saw the first caller's cancellation: %v", err)
	}
	if v := <-second; v != 7 {
		t.Fatalf("second caller got %d, want 7", v)
	}
	if v, ok := c.lookup("k"); !ok || v != 7 {
		t.Fatal("the shared load's value was not cached")
	}
}

// A refresh reloads an entry loaded before the given time and keeps one
// loaded after it.
func TestCache_RefreshOnlyWhenOlder(t *testing.T) {
	c := newCache[string, int](time.Minute, 10)
	var calls atomic.Int32
	before := time.Now()
	if _, err := c.get(t.Context(), "k", counted(&calls, "k")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.refresh(t.Context(), "k", before, counted(&calls, "k")); err != nil || calls.Load() != 1 {
		t.Fatalf("refresh of a newer entry: %d loads, %v", calls.Load(), err)
	}
	if _, err := c.refresh(t.Context(), "k", time.Now(), counted(&calls, "k")); err != nil || calls.Load() != 2 {
		t.Fatalf("refresh of an older entry: %d loads, %v", calls.Load(), err)
	}
}
