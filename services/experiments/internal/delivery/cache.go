// Package delivery keeps each environment's datafile built and compiled for
// deciding, keyed by its revision: a datafile is rebuilt only when its
// revision changes, never per request.
package delivery

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	v4 "github.com/liftlabs/lift/pkg/datafile"
	"github.com/liftlabs/lift/services/experiments/internal/datafile"
	"github.com/liftlabs/lift/services/experiments/internal/directory"
	"github.com/liftlabs/lift/services/experiments/internal/store"
	"golang.org/x/sync/singleflight"
)

// buildTimeout bounds one shared revision check and rebuild.
const buildTimeout = 10 * time.Second

// Source is where revisions and the configuration behind them come from.
type Source interface {
	CurrentRevision(ctx context.Context, projectID, environmentID int64, environmentKey string) (store.Revision, error)
	Snapshot(ctx context.Context, projectID, environmentID int64, environmentKey string) (*store.Snapshot, error)
}

// Entry is one environment's datafile at one revision.
type Entry struct {
	Revision int64
	// JSON is the datafile document.
	JSON string
	// ETag is the quoted strong entity tag of this revision.
	ETag         string
	LastModified time.Time
	Engine       *v4.Engine
}

// Cache holds the latest Entry of each environment. An entry is trusted for
// maxStale without asking the database; after that one cheap query checks
// the revision. Writes made by this process invalidate at once; writes of
// other replicas are seen within maxStale.
type Cache struct {
	src      Source
	maxStale time.Duration
	group    singleflight.Group

	mu    sync.Mutex
	slots map[int64]*slot
	// changed is closed (and replaced) whenever this replica's writes
	// invalidate environments, waking datafile watchers at once.
	changed chan struct{}
	// builds counts datafile builds, to show they happen per revision and
	// not per request.
	builds atomic.Int64
}

type slot struct {
	entry   *Entry
	checked time.Time
}

// New returns a Cache over src.
func New(src Source, maxStale time.Duration) *Cache {
	return &Cache{src: src, maxStale: maxStale, slots: map[int64]*slot{}, changed: make(chan struct{})}
}

// Get returns the environment's current datafile, building it only when
// its revision changed since the cached one.
func (c *Cache) Get(ctx context.Context, env directory.Environment) (*Entry, error) {
	now := time.Now()
	c.mu.Lock()
	s := c.slots[env.ID]
	c.mu.Unlock()
	if s != nil && now.Sub(s.checked) < c.maxStale {
		return s.entry, nil
	}
	v, err, _ := c.group.Do(strconv.FormatInt(env.ID, 10), func() (any, error) {
		// Detached from the first caller: every waiter shares the result.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), buildTimeout)
		defer cancel()
		rev, err := c.src.CurrentRevision(ctx, env.ProjectID, env.ID, env.Key)
		if err != nil {
			return nil, err
		}
		if s != nil && s.entry.Revision == rev.Number {
			c.store(env.ID, s.entry, now)
			return s.entry, nil
		}
		e, err := c.build(ctx, env)
		if err != nil {
			return nil, err
		}
		c.store(env.ID, e, now)
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*Entry), nil
}

// Invalidate makes the next Get of these environments check the revision.
func (c *Cache) Invalidate(environmentIDs []int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range environmentIDs {
		if s := c.slots[id]; s != nil {
			c.slots[id] = &slot{entry: s.entry}
		}
	}
	close(c.changed)
	c.changed = make(chan struct{})
}

// Changed is closed at the next Invalidate: a watcher takes it before
// reading the current entry, so it cannot miss a change made in between.
func (c *Cache) Changed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

func (c *Cache) store(id int64, e *Entry, checked time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur := c.slots[id]; cur != nil && cur.entry.Revision > e.Revision {
		return // a concurrent Get already stored a newer revision
	}
	c.slots[id] = &slot{entry: e, checked: checked}
}

// Builds is how many datafiles this cache has built.
func (c *Cache) Builds() int64 { return c.builds.Load() }

func (c *Cache) build(ctx context.Context, env directory.Environment) (*Entry, error) {
	c.builds.Add(1)
	snap, err := c.src.Snapshot(ctx, env.ProjectID, env.ID, env.Key)
	if err != nil {
		return nil, err
	}
	in := snap.Input
	in.AccountID, in.ProjectID = env.AccountID, strconv.FormatInt(env.ProjectID, 10)
	in.SDKKey, in.EnvironmentKey = env.SDKKey, env.Key
	d, err := datafile.Build(in)
	if err != nil {
		return nil, fmt.Errorf("datafile of environment %d revision %d: %w", env.ID, snap.Revision.Number, err)
	}
	raw, err := d.Marshal()
	if err != nil {
		return nil, err
	}
	engine, err := v4.Compile(d)
	if err != nil {
		return nil, fmt.Errorf("compile datafile of environment %d: %w", env.ID, err)
	}
	return &Entry{
		Revision:     snap.Revision.Number,
		JSON:         string(raw),
		ETag:         fmt.Sprintf(`"%d-%d"`, env.ID, snap.Revision.Number),
		LastModified: snap.Revision.Time,
		Engine:       engine,
	}, nil
}
