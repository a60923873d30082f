package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/liftlabs/lift/deploy/internal/apiclient"
)

// Demo traffic: enough visitors that the results show a real, significant
// lift (10 % → 13 % conversion), deterministic so every fresh run looks alike.
const (
	demoVisitors   = 6000
	demoBatch      = 500
	controlRate    = 0.10
	treatmentRate  = 0.13
	demoEventKey   = "purchase"
	demoExperiment = "checkout_button"
)

type variation struct {
	ID  string `json:"id"`
	Key string `json:"key"`
}

// seedExperiment creates a purchase metric and a running 50/50 experiment
// in production deciding the checkout flag, then posts synthetic
// impressions and conversions.
func seedExperiment(ctx context.Context, c *apiclient.Client, s *State) error {
	var ev struct {
		Event struct {
			ID string `json:"id"`
		} `json:"event"`
	}
	if _, err := c.Do(ctx, "POST", "/v1/projects/"+s.ProjectID+"/events", map[string]any{"key": demoEventKey, "name": "Purchase"}, &ev); err != nil {
		return err
	}
	var ex struct {
		Experiment struct {
			ID         string      `json:"id"`
			Variations []variation `json:"variations"`
		} `json:"experiment"`
	}
	body := map[string]any{
		"key": demoExperiment, "name": "Checkout button colour",
		"variations": []map[string]any{
			{"key": "control", "name": "Grey button", "weight": 5000, "baseline": true, "featureEnabled": true, "variables": map[string]string{"button_color": "grey"}},
			{"key": "treatment", "name": "Green button", "weight": 5000, "featureEnabled": true, "variables": map[string]string{"button_color": "green"}},
		},
		"flagId":          s.CheckoutFlagID,
		"metrics":         []map[string]any{{"eventKey": demoEventKey, "primary": true}},
		"environmentKeys": []string{"production"},
	}
	if _, err := c.Do(ctx, "POST", "/v1/projects/"+s.ProjectID+"/experiments", body, &ex); err != nil {
		return err
	}
	if _, err := c.Do(ctx, "POST", "/v1/experiments/"+ex.Experiment.ID+":start", map[string]any{}, nil); err != nil {
		return err
	}
	s.ExperimentID = ex.Experiment.ID
	return postTraffic(ctx, c, s.ProjectID, ex.Experiment.ID, ev.Event.ID, ex.Experiment.Variations)
}

func postTraffic(ctx context.Context, c *apiclient.Client, projectID, experimentID, eventID string, vars []variation) error {
	if len(vars) != 2 {
		return fmt.Errorf("demo experiment has %d variations, want 2", len(vars))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Now().Add(-time.Hour).UnixMilli()
	for from := 0; from < demoVisitors; from += demoBatch {
		visitors := make([]map[string]any, 0, demoBatch)
		for i := from; i < from+demoBatch; i++ {
			v, rate := vars[i%2], controlRate
			if i%2 == 1 {
				rate = treatmentRate
			}
			ts := start + int64(i)*500
			events := []map[string]any{{"entityId": experimentID, "key": "campaign_activated", "timestamp": ts, "uuid": fmt.Sprintf("demo-imp-%d", i)}}
			if rng.Float64() < rate {
				events = append(events, map[string]any{"entityId": eventID, "key": demoEventKey, "timestamp": ts + 1000, "uuid": fmt.Sprintf("demo-conv-%d", i), "revenue": 1000 + rng.IntN(9000)})
			}
			visitors = append(visitors, map[string]any{
				"visitorId": fmt.Sprintf("demo-user-%d", i),
				"snapshots": []map[string]any{{
					"decisions": []map[string]any{{"campaignId": experimentID, "experimentId": experimentID, "variationId": v.ID}},
					"events":    events,
				}},
			})
		}
		if _, err := c.Do(ctx, "POST", "/v1/projects/"+projectID+"/events:ingest", map[string]any{"visitors": visitors}, nil); err != nil {
			return err
		}
	}
	return nil
}
