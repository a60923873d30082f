package sdk

import (
	"sync/atomic"
	"testing"
	"time"

	v4 "github.com/liftlabs/lift/pkg/datafile"
)

// hold puts an engine for key into e as a first decide would, counting
// how often its watch is stopped.
func hold(t *testing.T, e *Engines, key string, stopped *atomic.Int32) {
	t.Helper()
	engine, err := v4.Load(benchDatafile(1))
	if err != nil {
		t.Fatal(err)
	}
	ee := &edgeEngine{stop: func() { stopped.Add(1) }}
	ee.engine.Store(engine)
	ee.touch(time.Now().UnixNano())
	e.cache.Add(key, ee)
}

// Beyond Max keys the least recently used engine goes, and its watch
// ends; a key used since stays.
func TestEngines_EvictLeastRecentlyUsedBeyondMax(t *testing.T) {
	e := NewEngines(nil, nil, EngineOptions{Max: 2})
	defer e.Close()
	var stopped atomic.Int32
	hold(t, e, "a", &stopped)
	hold(t, e, "b", &stopped)
	if _, err := e.Get(t.Context(), "a"); err != nil { // a is now the most recent
		t.Fatal(err)
	}
	hold(t, e, "c", &stopped)
	if e.Holds("b") || !e.Holds("a") || !e.Holds("c") || stopped.Load() != 1 {
		t.Fatalf("after a third key: a %v b %v c %v, %d watches stopped", e.Holds("a"), e.Holds("b"), e.Holds("c"), stopped.Load())
	}
}

// An engine no decide used for Idle is evicted by the sweeper and its
// watch ends; one in use stays.
func TestEngines_EvictIdle(t *testing.T) {
	const idle = time.Second // long enough that a loaded machine cannot starve "busy" past it
	e := NewEngines(nil, nil, EngineOptions{Idle: idle})
	defer e.Close()
	var stopped atomic.Int32
	hold(t, e, "idle", &stopped)
	hold(t, e, "busy", &stopped)
	for deadline := time.Now().Add(10 * idle); time.Now().Before(deadline) && e.Holds("idle"); time.Sleep(idle / 10) {
		// Keep "busy" in use; touch is coarse (a second), so stamp it here.
		if ee, ok := e.cache.Peek("busy"); ok {
			ee.lastUsed.Store(time.Now().UnixNano())
		}
	}
	if e.Holds("idle") || !e.Holds("busy") || stopped.Load() != 1 {
		t.Fatalf("idle held %v, busy held %v, %d watches stopped", e.Holds("idle"), e.Holds("busy"), stopped.Load())
	}
}
