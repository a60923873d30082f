package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"github.com/liftlabs/lift/services/results/resultstest"
	"github.com/optimizely/go-sdk/v2/pkg/client"
	"github.com/optimizely/go-sdk/v2/pkg/config"
	"github.com/optimizely/go-sdk/v2/pkg/event"
	"github.com/optimizely/go-sdk/v2/pkg/logging"
)

// gatewayDispatcher is the Go SDK's event dispatcher with only the URL
// changed (Optimizely's own endpoint takes no credential): it posts each
// batch to the gateway with the SDK key and counts the answers. The SDK
// treats anything but 204 as a failure.
type gatewayDispatcher struct {
	url      string
	mu       sync.Mutex
	statuses map[int]int
}

func (d *gatewayDispatcher) DispatchEvent(e event.LogEvent) (bool, error) {
	body, err := json.Marshal(e.Event)
	if err != nil {
		return false, err
	}
	resp, err := http.Post(d.url, "application/json", bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	d.mu.Lock()
	d.statuses[resp.StatusCode]++
	d.mu.Unlock()
	return resp.StatusCode == http.StatusNoContent, nil
}

// The real Go SDK pointed at Lift right after a new flag experiment is
// started, in a project whose SDK key has been sending events (results
// holds its older datafile, for an hour here): every batch is answered
// 204, and results counts exactly the visitors the SDK decided, per
// variation.
func TestSDK_GoSDKEventsOfAJustStartedExperimentAreAllCounted(t *testing.T) {
	logging.SetLogLevel(logging.LogLevelError)
	s := newSDKStackOn(t, resultstest.Options{EventLog: true, CatalogTTL: time.Hour})
	sdkKey := s.envs["production"].GetSdkKey()
	flagged := func(key string) *experimentsv1.Experiment {
		flag, err := s.exp.CreateFlag(s.write, &experimentsv1.CreateFlagRequest{ProjectId: s.project.GetId(), Flag: &experimentsv1.Flag{Key: key}})
		if err != nil {
			t.Fatal(err)
		}
		return s.runningExperiment(t, key+"_test", func(e *experimentsv1.Experiment) { e.FlagId = flag.GetFlag().GetId() })
	}
	// run decides n users on flag with a fresh SDK (its own datafile
	// fetch) and closes it, which sends every queued event.
	run := func(flag, prefix string, n int) (*gatewayDispatcher, map[string]int64) {
		cm := config.NewPollingProjectConfigManager(sdkKey,
			config.WithDatafileURLTemplate(s.gw.URL+"/datafiles/%s.json"), config.WithPollingInterval(time.Hour))
		if _, err := cm.GetConfig(); err != nil {
			t.Fatal(err)
		}
		d := &gatewayDispatcher{url: s.gw.URL + "/v1/events?sdk_key=" + sdkKey, statuses: map[int]int{}}
		sdk, err := (&client.OptimizelyFactory{SDKKey: sdkKey}).Client(client.WithConfigManager(cm), client.WithEventDispatcher(d))
		if err != nil {
			t.Fatal(err)
		}
		decided := map[string]int64{}
		for i := range n {
			uc := sdk.CreateUserContext(fmt.Sprintf("%s%d", prefix, i), nil)
			dec := uc.Decide(flag, nil)
			if dec.VariationKey != "" {
				decided[dec.VariationKey]++
			}
		}
		sdk.Close()
		return d, decided
	}

	flagged("banner")
	d, _ := run("banner", "old-", 50) // results caches the datafile of the key
	if d.statuses[http.StatusNoContent] == 0 {
		t.Fatalf("warm-up batches: %v", d.statuses)
	}

	second := flagged("checkout")
	d, want := run("checkout", "new-", 300) // at once, with the new datafile
	if len(d.statuses) != 1 || d.statuses[http.StatusNoContent] == 0 {
		t.Fatalf("batches of the new experiment answered %v, want only 204", d.statuses)
	}
	got := s.reach(t, second.GetId())
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("results visitors %v, the SDK decided %v", got, want)
	}
	t.Logf("%d batches, all 204; visitors per variation %v, as decided", d.statuses[http.StatusNoContent], got)
}
