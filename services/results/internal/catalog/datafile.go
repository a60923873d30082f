package catalog

import (
	"context"
	"strconv"
	"time"

	"github.com/liftlabs/lift/pkg/apierr"
	v4 "github.com/liftlabs/lift/pkg/datafile"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
)

// Datafile is what an environment's Optimizely datafile says about its
// experiments: enough to check SDK events sent without an API token.
type Datafile struct {
	ProjectID    int64
	BotFiltering bool
	// EnvironmentKey names the SDK key's environment (e.g. production).
	EnvironmentKey string
	sdkKey         string
	experiments    map[int64]*Experiment
}

type datafileView = Datafile

// Datafile returns the datafile of the environment whose SDK key this is
// (GetDatafile is public: the SDK key is the credential, as for SDKs).
// Every experiment in it is remembered for a week for that SDK key (see
// seenRetention).
func (c *Catalog) Datafile(ctx context.Context, sdkKey string) (*Datafile, error) {
	return c.datafiles.get(ctx, sdkKey, c.loadDatafile(sdkKey))
}

// RefreshDatafile fetches the SDK key's datafile again unless the cached
// copy was fetched after the given time (a batch appended then naming an
// experiment the copy does not know: it may have started since the copy
// was fetched, never after the batch was sent). Concurrent refreshes of
// one key share one fetch.
func (c *Catalog) RefreshDatafile(ctx context.Context, sdkKey string, after time.Time) (*Datafile, error) {
	return c.datafiles.refresh(ctx, sdkKey, after, c.loadDatafile(sdkKey))
}

func (c *Catalog) loadDatafile(sdkKey string) func(context.Context) (*Datafile, error) {
	return func(ctx context.Context) (*Datafile, error) {
		ctx, cancel := withCallTimeout(ctx)
		defer cancel()
		resp, err := c.experiments.GetDatafile(ctx, &experimentsv1.GetDatafileRequest{SdkKey: sdkKey})
		if err != nil {
			return nil, backendError(err, "experiments", "datafile")
		}
		d, err := parseDatafile([]byte(resp.GetDatafile()))
		if err != nil {
			return nil, err
		}
		d.sdkKey = sdkKey
		for _, e := range d.experiments {
			c.seen.put(seenKey(sdkKey, e.ID), e)
		}
		return d, nil
	}
}

// DatafileExperiment returns an experiment of the datafile's environment:
// one in the datafile now, or one seen in a datafile of the same SDK key
// lately. An experiment of another environment of the project is not one
// (a development key's events never count into production).
func (c *Catalog) DatafileExperiment(d *Datafile, id int64) (*Experiment, bool) {
	if e, ok := d.experiments[id]; ok {
		return e, true
	}
	if e, ok := c.seen.lookup(seenKey(d.sdkKey, id)); ok {
		return e, true
	}
	return nil, false
}

func seenKey(sdkKey string, id int64) string { return sdkKey + "/" + strconv.FormatInt(id, 10) }

func parseDatafile(b []byte) (*Datafile, error) {
	j, err := v4.Parse(b)
	if err != nil {
		return nil, apierr.Internal("BAD_DATAFILE", "experiments service returned an unreadable datafile: %v", err)
	}
	project, err := strconv.ParseInt(j.ProjectID, 10, 64)
	if err != nil {
		return nil, apierr.Internal("BAD_DATAFILE", "datafile has project id %q", j.ProjectID)
	}
	d := &Datafile{ProjectID: project, EnvironmentKey: j.EnvironmentKey, BotFiltering: j.BotFiltering, experiments: map[int64]*Experiment{}}
	for _, x := range j.AllExperiments() {
		id, err := strconv.ParseInt(x.ID, 10, 64)
		if err != nil {
			continue // not an experiment Lift made; events naming it are rejected
		}
		e := &Experiment{ID: id, ProjectID: project, Key: x.Key}
		for _, v := range x.Variations {
			if vid, err := strconv.ParseInt(v.ID, 10, 64); err == nil {
				e.Variations = append(e.Variations, Variation{ID: vid, Key: v.Key})
			}
		}
		d.experiments[id] = e
	}
	return d, nil
}
