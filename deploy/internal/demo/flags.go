package demo

import (
	"context"

	"github.com/liftlabs/lift/deploy/internal/apiclient"
)

// Demo flags: "checkout" is decided by the demo A/B test (its variations
// set the button colour); "new_search" is delivered to half of the US
// users by a targeted delivery and off for everyone else.
const (
	demoCheckoutFlag = "checkout"
	demoSearchFlag   = "new_search"
	demoUSAudience   = `["and", {"type": "custom_attribute", "name": "country", "match": "exact", "value": "US"}]`
)

// seedFlags creates the demo flags, the reusable "us" audience and
// new_search's delivery in production.
func seedFlags(ctx context.Context, c *apiclient.Client, s *State) error {
	var flag struct {
		Flag struct {
			ID string `json:"id"`
		} `json:"flag"`
	}
	if _, err := c.Do(ctx, "POST", "/v1/projects/"+s.ProjectID+"/flags", map[string]any{
		"key": demoCheckoutFlag, "name": "Checkout",
		"variables": []map[string]any{{"key": "button_color", "type": "VARIABLE_TYPE_STRING", "defaultValue": "grey"}},
	}, &flag); err != nil {
		return err
	}
	s.CheckoutFlagID = flag.Flag.ID
	if _, err := c.Do(ctx, "POST", "/v1/projects/"+s.ProjectID+"/flags", map[string]any{
		"key": demoSearchFlag, "name": "New search",
		"variables": []map[string]any{{"key": "algorithm", "type": "VARIABLE_TYPE_STRING", "defaultValue": "classic"}},
	}, &flag); err != nil {
		return err
	}
	var aud struct {
		Audience struct {
			ID string `json:"id"`
		} `json:"audience"`
	}
	if _, err := c.Do(ctx, "POST", "/v1/projects/"+s.ProjectID+"/audiences", map[string]any{
		"key": "us", "name": "US visitors", "conditions": demoUSAudience,
	}, &aud); err != nil {
		return err
	}
	_, err := c.Do(ctx, "PATCH", "/v1/flags/"+flag.Flag.ID+"/environments/production/ruleset", map[string]any{
		"deliveries": []map[string]any{{
			"key": "us_beta", "audienceIds": []string{aud.Audience.ID}, "percentage": 5000,
			"variation": map[string]any{"key": "on", "featureEnabled": true, "variables": map[string]string{"algorithm": "semantic"}},
		}},
	}, nil)
	return err
}
