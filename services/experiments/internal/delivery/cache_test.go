package delivery_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/liftlabs/lift/pkg/pgtest"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"github.com/liftlabs/lift/services/experiments/internal/delivery"
	"github.com/liftlabs/lift/services/experiments/internal/directory"
	"github.com/liftlabs/lift/services/experiments/internal/store"
	"github.com/liftlabs/lift/services/experiments/migrations"
)

var env = directory.Environment{ID: 501, ProjectID: 77, AccountID: "9", Key: "production", SDKKey: "sdk-test"}

func TestCache_BuildsOncePerRevisionAndSeesOwnWritesAtOnce(t *testing.T) {
	pool := pgtest.New(t, migrations.FS)
	var cache *delivery.Cache
	st := store.New(pool, func(ids []int64) { cache.Invalidate(ids) })
	cache = delivery.New(st, time.Hour) // only invalidation refreshes
	ctx := context.Background()

	first, err := cache.Get(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if e, err := cache.Get(ctx, env); err != nil || e != first {
				t.Errorf("concurrent get: %v", err)
			}
		})
	}
	wg.Wait()
	if cache.Builds() != 1 {
		t.Fatalf("%d builds for one revision", cache.Builds())
	}
	if _, err := st.CreateEvent(ctx, env.ProjectID, &experimentsv1.Event{Key: "purchase"}); err != nil {
		t.Fatal(err)
	}
	second, err := cache.Get(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	if second.Revision != first.Revision+1 || cache.Builds() != 2 || second.ETag == first.ETag || !second.LastModified.After(first.LastModified) {
		t.Fatalf("after a write: revision %d → %d, %d builds, etag %s → %s", first.Revision, second.Revision, cache.Builds(), first.ETag, second.ETag)
	}
}

func TestCache_OtherReplicasWritesAppearAfterMaxStale(t *testing.T) {
	pool := pgtest.New(t, migrations.FS)
	ours := delivery.New(store.New(pool, nil), 0) // check the revision on every Get
	lazy := delivery.New(store.New(pool, nil), time.Hour)
	other := store.New(pool, nil) // another replica's writes: no invalidation here
	ctx := context.Background()
	a, _ := ours.Get(ctx, env)
	b, _ := lazy.Get(ctx, env)
	if _, err := other.CreateEvent(ctx, env.ProjectID, &experimentsv1.Event{Key: "signup"}); err != nil {
		t.Fatal(err)
	}
	if e, _ := ours.Get(ctx, env); e.Revision != a.Revision+1 {
		t.Fatalf("maxStale 0 missed another replica's write: %d", e.Revision)
	}
	if e, _ := lazy.Get(ctx, env); e.Revision != b.Revision {
		t.Fatalf("within maxStale the cached revision is served, got %d", e.Revision)
	}
	if ours.Builds() != 2 {
		t.Fatalf("%d builds", ours.Builds())
	}
}
