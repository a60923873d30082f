package sdk

import (
	"context"
	"fmt"
	"sync"

	v4 "github.com/liftlabs/lift/pkg/datafile"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"golang.org/x/sync/singleflight"
)

// environment is what the decide endpoint needs from an environment's
// datafile beyond Decide's answer: variable types (Agent returns typed
// variables, Decide returns text), each flag's experiments (for reasons),
// and the ids an impression event carries.
type environment struct {
	revision   string
	accountID  string
	projectID  string
	flags      map[string]flagInfo // by flag key
	layerOf    map[string]string   // experiment id → layer (campaign) id
	attributes map[string]string   // attribute key → id
	// botFiltering is sent with impressions, as SDKs do.
	botFiltering bool
}

type flagInfo struct {
	experimentKeys []string
	variableTypes  map[string]string // variable key → Optimizely type
}

func parseEnvironment(raw string) (*environment, error) {
	d, err := v4.Parse([]byte(raw))
	if err != nil {
		return nil, fmt.Errorf("parse datafile: %w", err)
	}
	env := &environment{
		revision: d.Revision, accountID: d.AccountID, projectID: d.ProjectID, botFiltering: d.BotFiltering,
		flags: map[string]flagInfo{}, layerOf: map[string]string{}, attributes: map[string]string{},
	}
	for _, a := range d.Attributes {
		env.attributes[a.Key] = a.ID
	}
	keyOf := map[string]string{}
	for _, e := range d.AllExperiments() {
		keyOf[e.ID] = e.Key
		env.layerOf[e.ID] = e.LayerID
	}
	for _, f := range d.FeatureFlags {
		info := flagInfo{variableTypes: map[string]string{}}
		for _, id := range f.ExperimentIDs {
			info.experimentKeys = append(info.experimentKeys, keyOf[id])
		}
		for _, v := range f.Variables {
			t := v.Type
			if t == "string" && v.SubType == "json" {
				t = "json" // how newer datafiles spell a JSON variable
			}
			info.variableTypes[v.Key] = t
		}
		env.flags[f.Key] = info
	}
	return env, nil
}

// maxEnvironments bounds the cache; beyond it the cache starts over. Only
// SDK keys Decide accepted get here, so that takes that many real
// environments.
const maxEnvironments = 10_000

// environments caches environment facts per SDK key, refreshed whenever
// Decide answers from a revision the cache does not hold.
type environments struct {
	client experimentsv1.ExperimentsServiceClient
	mu     sync.Mutex
	bySDK  map[string]*environment
	// fetches collapses the concurrent misses of one SDK key (every decide
	// right after a revision change) into one datafile fetch and parse.
	fetches singleflight.Group
}

func newEnvironments(client experimentsv1.ExperimentsServiceClient) *environments {
	return &environments{client: client, bySDK: map[string]*environment{}}
}

// get returns the facts of sdkKey's environment at revision (or newer).
func (e *environments) get(ctx context.Context, sdkKey, revision string) (*environment, error) {
	if env := e.cached(sdkKey, revision); env != nil {
		return env, nil
	}
	v, err, _ := e.fetches.Do(sdkKey, func() (any, error) {
		if env := e.cached(sdkKey, revision); env != nil { // fetched while we queued
			return env, nil
		}
		resp, err := e.client.GetDatafile(ctx, &experimentsv1.GetDatafileRequest{SdkKey: sdkKey})
		if err != nil {
			return nil, err
		}
		env, err := parseEnvironment(resp.GetDatafile())
		if err != nil {
			return nil, err
		}
		e.mu.Lock()
		if len(e.bySDK) >= maxEnvironments {
			e.bySDK = map[string]*environment{}
		}
		e.bySDK[sdkKey] = env
		e.mu.Unlock()
		return env, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*environment), nil
}

// cached is sdkKey's environment if the cache holds it at revision.
func (e *environments) cached(sdkKey, revision string) *environment {
	e.mu.Lock()
	defer e.mu.Unlock()
	if env := e.bySDK[sdkKey]; env != nil && env.revision == revision {
		return env
	}
	return nil
}
