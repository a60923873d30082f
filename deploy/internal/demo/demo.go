// Package demo seeds a local Lift with a demo account, project, flags (one
// decided by a running A/B test, one by a targeted delivery), a running
// experiment and synthetic events, once, and remembers what it made so a
// second `make run` reuses the data.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/liftlabs/lift/deploy/internal/apiclient"
)

// State is what the runner keeps between runs (in .run/demo.json, local to
// the checkout and ignored by git).
type State struct {
	path string

	BootstrapSecret string `json:"bootstrap_secret"`
	AccountID       string `json:"account_id,omitempty"`
	Token           string `json:"token,omitempty"`
	ProjectID       string `json:"project_id,omitempty"`
	SDKKey          string `json:"sdk_key,omitempty"`
	ExperimentID    string `json:"experiment_id,omitempty"`
	// CheckoutFlagID is set once the demo flags exist; a state from before
	// them gets them on the next run (delete the state to also put the
	// experiment on the checkout flag).
	CheckoutFlagID string `json:"checkout_flag_id,omitempty"`
}

// LoadState reads the state file, creating it with a fresh bootstrap secret
// when it does not exist.
func LoadState(path string) (*State, error) {
	st := &State{path: path}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		st.BootstrapSecret = rand.Text()
		return st, st.save()
	case err != nil:
		return nil, err
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("%s: %w (delete it to start over)", path, err)
	}
	return st, nil
}

func (s *State) save() error {
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	return os.WriteFile(s.path, b, 0o600)
}

// Ensure creates whatever part of the demo data does not exist yet.
func Ensure(ctx context.Context, baseURL string, s *State) error {
	if s.Token == "" {
		var out struct {
			AccountID string `json:"accountId"`
			Secret    string `json:"secret"`
		}
		if _, err := apiclient.New(baseURL, "").Do(ctx, "POST", "/v1/accounts:bootstrap",
			map[string]string{"bootstrapSecret": s.BootstrapSecret, "accountName": "Demo"}, &out); err != nil {
			return err
		}
		s.AccountID, s.Token = out.AccountID, out.Secret
		if err := s.save(); err != nil {
			return err
		}
	}
	c := apiclient.New(baseURL, s.Token)
	if s.ProjectID == "" {
		if err := seedProject(ctx, c, s); err != nil {
			return err
		}
		if err := s.save(); err != nil {
			return err
		}
	}
	if s.CheckoutFlagID == "" {
		if err := seedFlags(ctx, c, s); err != nil {
			return err
		}
		if err := s.save(); err != nil {
			return err
		}
	}
	if s.ExperimentID == "" {
		if err := seedExperiment(ctx, c, s); err != nil {
			return err
		}
		return s.save()
	}
	return nil
}

func seedProject(ctx context.Context, c *apiclient.Client, s *State) error {
	var created struct {
		Project struct {
			ID string `json:"id"`
		} `json:"project"`
	}
	if _, err := c.Do(ctx, "POST", "/v1/projects", map[string]any{"name": "Demo shop", "description": "Seeded by make run"}, &created); err != nil {
		return err
	}
	var envs struct {
		Environments []struct {
			Key    string `json:"key"`
			SDKKey string `json:"sdkKey"`
		} `json:"environments"`
	}
	if _, err := c.Do(ctx, "GET", "/v1/projects/"+created.Project.ID+"/environments", nil, &envs); err != nil {
		return err
	}
	s.ProjectID = created.Project.ID
	for _, e := range envs.Environments {
		if e.Key == "production" {
			s.SDKKey = e.SDKKey
		}
	}
	return nil
}

// Banner is what the runner prints once the stack is ready.
func (s *State) Banner(baseURL string) string {
	return fmt.Sprintf(`
Lift is running.
  gateway:   %[1]s
  console:   %[1]s/ui/   (sign in with the token below)
  API docs:  %[1]s/docs
  OpenAPI:   %[1]s/openapi.json
  token:     %[2]s
  project:   %[3]s
  SDK key:   %[4]s   (datafile: %[1]s/datafiles/%[4]s.json)
  experiment: %[5]s (results: %[1]s/v1/experiments/%[5]s/results)
Try:  curl -s -H "Authorization: Bearer %[2]s" %[1]s/v1/projects
      curl -s -H "Authorization: Bearer %[2]s" %[1]s/v1/experiments/%[5]s/results
      curl -s -X POST -H "X-Optimizely-SDK-Key: %[4]s" -d '{"userId":"user-1","userAttributes":{"country":"US"}}' %[1]s/v1/decide
Stop with Ctrl-C.
`, baseURL, s.Token, s.ProjectID, s.SDKKey, s.ExperimentID)
}
