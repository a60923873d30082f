package e2e

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/liftlabs/lift/deploy/internal/apiclient"
	"github.com/optimizely/go-sdk/v2/pkg/client"
	"github.com/optimizely/go-sdk/v2/pkg/config"
	"github.com/optimizely/go-sdk/v2/pkg/event"
	"github.com/optimizely/go-sdk/v2/pkg/logging"
)

// experiment is a running 50/50 experiment in a fresh project's production
// environment, with one conversion metric, made through the REST API; with
// a flag key, the experiment decides that flag.
type experiment struct {
	flagKey              string
	accountID, projectID string
	sdkKey               string
	eventID, eventKey    string
	id, key, layerID     string
	variations           map[string]string // id → key
	controlID, treatment string
}

func newExperiment(t *testing.T, c *apiclient.Client, name, flagKey string) *experiment {
	t.Helper()
	ctx := context.Background()
	run := strings.ToLower(rand.Text()[:8])
	e := &experiment{key: name + "_" + run, eventKey: name + "_purchase", flagKey: flagKey, variations: map[string]string{}}
	var p struct {
		Project struct {
			ID string `json:"id"`
		} `json:"project"`
	}
	must(t)(c.Do(ctx, "POST", "/v1/projects", map[string]any{"name": "e2e " + name + " " + run}, &p))
	e.projectID = p.Project.ID
	var envs struct {
		Environments []struct {
			Key    string `json:"key"`
			SDKKey string `json:"sdkKey"`
		} `json:"environments"`
	}
	must(t)(c.Do(ctx, "GET", "/v1/projects/"+e.projectID+"/environments", nil, &envs))
	for _, env := range envs.Environments {
		if env.Key == "production" {
			e.sdkKey = env.SDKKey
		}
	}
	var ev struct {
		Event struct {
			ID string `json:"id"`
		} `json:"event"`
	}
	must(t)(c.Do(ctx, "POST", "/v1/projects/"+e.projectID+"/events", map[string]any{"key": e.eventKey, "name": "Purchase"}, &ev))
	e.eventID = ev.Event.ID
	var ex struct {
		Experiment struct {
			ID         string `json:"id"`
			LayerID    string `json:"layerId"`
			Variations []struct {
				ID  string `json:"id"`
				Key string `json:"key"`
			} `json:"variations"`
		} `json:"experiment"`
	}
	body := map[string]any{
		"key": e.key, "name": e.key,
		"variations": []map[string]any{
			{"key": "control", "name": "Control", "weight": 5000, "baseline": true, "featureEnabled": true},
			{"key": "treatment", "name": "Treatment", "weight": 5000, "featureEnabled": true},
		},
		"metrics":         []map[string]any{{"eventKey": e.eventKey, "primary": true}},
		"environmentKeys": []string{"production"},
	}
	if flagKey != "" {
		var f struct {
			Flag struct {
				ID string `json:"id"`
			} `json:"flag"`
		}
		must(t)(c.Do(ctx, "POST", "/v1/projects/"+e.projectID+"/flags", map[string]any{"key": flagKey, "name": flagKey}, &f))
		body["flagId"] = f.Flag.ID
	}
	must(t)(c.Do(ctx, "POST", "/v1/projects/"+e.projectID+"/experiments", body, &ex))
	e.id, e.layerID = ex.Experiment.ID, ex.Experiment.LayerID
	for _, v := range ex.Experiment.Variations {
		e.variations[v.ID] = v.Key
		if v.Key == "control" {
			e.controlID = v.ID
		} else {
			e.treatment = v.ID
		}
	}
	must(t)(c.Do(ctx, "POST", "/v1/experiments/"+e.id+":start", map[string]any{}, nil))
	e.waitInDatafile(t, c)
	return e
}

func must(t *testing.T) func(int, error) {
	t.Helper()
	return func(_ int, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// waitInDatafile waits until the SDK datafile lists the experiment
// (experiments may serve it from a short-lived cache).
func (e *experiment) waitInDatafile(t *testing.T, c *apiclient.Client) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var df struct {
			AccountID   string `json:"accountId"`
			Experiments []struct {
				ID string `json:"id"`
			} `json:"experiments"`
		}
		must(t)(c.Do(context.Background(), "GET", "/datafiles/"+url.PathEscape(e.sdkKey)+".json", nil, &df))
		for _, x := range df.Experiments {
			if x.ID == e.id {
				e.accountID = df.AccountID
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("experiment %s not in the datafile after 30 s", e.id)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// counts are what results must show per variation id: visitors reached
// and conversions of the metric.
type counts map[string][2]int64

// resultsMismatch compares the experiment's results with want; nil when
// they agree exactly.
func (e *experiment) resultsMismatch(c *apiclient.Client, want counts) error {
	var r apiclient.ExperimentResults
	if _, err := c.Do(context.Background(), "GET", "/v1/experiments/"+e.id+"/results", nil, &r); err != nil {
		return err
	}
	got := counts{}
	for _, v := range r.Results.Reach.Variations {
		g := got[v.VariationID]
		g[0] = v.Count
		got[v.VariationID] = g
	}
	for _, m := range r.Results.Metrics {
		if m.EventKey != e.eventKey {
			continue
		}
		for _, v := range m.Results {
			g := got[v.VariationID]
			g[1] = v.Conversions
			got[v.VariationID] = g
		}
	}
	for id, w := range want {
		if got[id] != w {
			return fmt.Errorf("results %v (reach, conversions by variation), want %v", got, want)
		}
	}
	return nil
}

// waitCounted polls the results until they equal want.
func (e *experiment) waitCounted(t *testing.T, c *apiclient.Client, want counts, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := e.resultsMismatch(c, want)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", within, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// sdkRun is what the Go SDK step sent, checked again after down/up.
type sdkRun struct {
	*experiment
	want counts
}

func (s *sdkRun) wantCounted(t *testing.T, c *apiclient.Client, within time.Duration) {
	t.Helper()
	s.waitCounted(t, c, s.want, within)
}

// sdkUsers is how many users the Go SDK decides; every third converts.
const sdkUsers = 120

// runGoSDK runs the real Optimizely Go SDK against the stack: it loads the
// datafile from the gateway, decides a flag for each user itself (Decide,
// which sends the impression), tracks conversions, and sends its event
// batches to the gateway's /v1/events. Its decisions must equal Lift's own
// decide, and results must count exactly what it sent.
func runGoSDK(t *testing.T, base, token string) *sdkRun {
	logging.SetLogLevel(logging.LogLevelError)
	c := apiclient.New(base, token)
	e := newExperiment(t, c, "sdk", "checkout_flow")
	cm := config.NewPollingProjectConfigManager(e.sdkKey,
		config.WithDatafileURLTemplate(base+"/datafiles/%s.json"), config.WithPollingInterval(time.Hour))
	if _, err := cm.GetConfig(); err != nil {
		t.Fatalf("the SDK could not load its datafile from the gateway: %v", err)
	}
	events := event.NewBatchEventProcessor(event.WithSDKKey(e.sdkKey),
		event.WithEventEndPoint(base+"/v1/events?sdk_key="+url.QueryEscape(e.sdkKey)),
		event.WithBatchSize(25), event.WithFlushInterval(200*time.Millisecond))
	sdk, err := (&client.OptimizelyFactory{SDKKey: e.sdkKey}).Client(client.WithConfigManager(cm), client.WithEventProcessor(events))
	if err != nil {
		t.Fatal(err)
	}
	want := counts{}
	for i := range sdkUsers {
		user := fmt.Sprintf("sdk-user-%d", i)
		uc := sdk.CreateUserContext(user, nil)
		d := uc.Decide(e.flagKey, nil)
		if d.RuleKey != e.key || d.VariationKey == "" || len(d.Reasons) > 0 {
			t.Fatalf("Decide(%s) for %s: rule %q, variation %q, reasons %v; want the experiment's", e.flagKey, user, d.RuleKey, d.VariationKey, d.Reasons)
		}
		var lift struct {
			Decisions []struct {
				ExperimentID string `json:"experimentId"`
				VariationID  string `json:"variationId"`
			} `json:"decisions"`
		}
		must(t)(c.Do(context.Background(), "POST", "/v1/environments:decide", map[string]any{"sdkKey": e.sdkKey, "userId": user}, &lift))
		var liftKey string
		for _, ld := range lift.Decisions {
			if ld.ExperimentID == e.id {
				liftKey = e.variations[ld.VariationID]
				w := want[ld.VariationID]
				w[0]++
				if i%3 == 0 {
					w[1]++
				}
				want[ld.VariationID] = w
			}
		}
		if liftKey != d.VariationKey {
			t.Fatalf("%s: the SDK decided %q, Lift %q", user, d.VariationKey, liftKey)
		}
		if i%3 == 0 {
			if err := uc.TrackEvent(e.eventKey, nil); err != nil {
				t.Fatalf("TrackEvent: %v", err)
			}
		}
	}
	sdk.Close() // flushes the SDK's event queue
	e.waitCounted(t, c, want, time.Minute)
	t.Logf("the Go SDK decided flag %s for %d users as Lift does; results count its impressions and conversions: %v", e.flagKey, sdkUsers, want)
	return &sdkRun{experiment: e, want: want}
}
