package sdk

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/liftlabs/lift/gateway/internal/httperr"
	"github.com/liftlabs/lift/gateway/internal/mux"
	v4 "github.com/liftlabs/lift/pkg/datafile"
	"github.com/optimizely/go-sdk/v2/pkg/event"
	"google.golang.org/grpc/codes"
)

// maxSDKKeyLen is the longest SDK key Decide accepts; a longer one cannot
// exist and is answered like any unknown key.
const maxSDKKeyLen = 128

// decideBody is Optimizely Agent's decide request body. forcedDecisions
// are evaluated by the engine as go-sdk evaluates a user context's; a
// request that uses fetchSegments (ODP), which Lift does not have, is
// refused rather than answered as if it had not.
type decideBody struct {
	UserID          string              `json:"userId"`
	UserAttributes  map[string]any      `json:"userAttributes"`
	DecideOptions   []string            `json:"decideOptions"`
	ForcedDecisions []v4.ForcedDecision `json:"forcedDecisions"`
	FetchSegments   bool                `json:"fetchSegments"`
}

// agentDecision is one decision as Agent renders it (go-sdk's
// OptimizelyDecision with variables as a map, left out when empty); see
// agentjson.go for its JSON.
type agentDecision struct {
	variationKey, ruleKey, flagKey string
	enabled                        bool
	reasons                        []string
	// variables and typed are the flag's (shared, read-only); nil with
	// EXCLUDE_VARIABLES.
	variables []v4.FlagVariable
	typed     []any
}

type decideOptions struct {
	disableDecisionEvent, enabledFlagsOnly, excludeVariables, includeReasons bool
}

// parseOptions accepts the option names of go-sdk's decide.TranslateOptions;
// those about a user profile service or CMAB caches change nothing here.
func parseOptions(names []string) (decideOptions, error) {
	var o decideOptions
	for _, n := range names {
		switch n {
		case "DISABLE_DECISION_EVENT":
			o.disableDecisionEvent = true
		case "ENABLED_FLAGS_ONLY":
			o.enabledFlagsOnly = true
		case "EXCLUDE_VARIABLES":
			o.excludeVariables = true
		case "INCLUDE_REASONS":
			o.includeReasons = true
		case "IGNORE_USER_PROFILE_SERVICE", "IGNORE_CMAB_CACHE", "RESET_CMAB_CACHE", "INVALIDATE_USER_CMAB_CACHE":
		default:
			return o, fmt.Errorf("invalid option: %s", n)
		}
	}
	return o, nil
}

// Decide serves POST /v1/decide as Optimizely Agent does: the environment
// is named by the X-Optimizely-SDK-Key header, the body is Agent's, the
// optional repeated ?keys= selects flags, and the answer is Agent's JSON —
// one object when exactly one key is asked for, else an array (in datafile
// order, or the keys' order). Decisions are made here, at the edge, by the
// SDK key's compiled engine (pkg/datafile, the package experiments' Decide
// uses too), so they equal the typed endpoint's and the SDKs'. Impressions
// of decisions made by an experiment (allowlisted users included) go to
// the impression sink unless DISABLE_DECISION_EVENT; decisions made by a
// delivery send none, as they are not experiment visitors.
func Decide(engines *Engines, impressions *Impressions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowPost(w, r) {
			return
		}
		sdkKey := r.Header.Get(SDKKeyHeader)
		if sdkKey == "" {
			httperr.Write(w, r, http.StatusUnauthorized, httperr.New(codes.Unauthenticated, "SDK_KEY_REQUIRED",
				"missing required "+SDKKeyHeader+" header", nil))
			return
		}
		if len(sdkKey) > maxSDKKeyLen {
			writeUnknownKey(w, r)
			return
		}
		body, ok := readDecideBody(w, r)
		if !ok {
			return
		}
		opts, err := parseOptions(body.DecideOptions)
		if err != nil {
			badRequest(w, r, "INVALID_DECIDE_OPTION", err.Error())
			return
		}
		engine, err := engines.Get(r.Context(), sdkKey)
		if err != nil {
			mux.WriteError(w, r, err)
			return
		}

		var keys []string
		if r.URL.RawQuery != "" {
			keys = r.URL.Query()["keys"]
		}
		d := decider{engine: engine, body: body, opts: opts, sdkKey: sdkKey, now: time.Now()}
		a := newAgentWriter(body)
		defer a.release()
		if len(keys) == 1 {
			a.decision(d.decide(keys[0]))
			d.record(impressions)
			a.writeTo(w)
			return
		}
		if len(keys) == 0 {
			keys = engine.FlagKeys()
		}
		a.openList()
		for i, k := range keys {
			if slices.Contains(keys[:i], k) {
				continue // go-sdk decides into a map: a repeated key once
			}
			if dec := d.decide(k); !opts.enabledFlagsOnly || dec.enabled {
				a.decision(dec)
			}
		}
		a.closeList()
		d.record(impressions)
		a.writeTo(w)
	})
}

func readDecideBody(w http.ResponseWriter, r *http.Request) (decideBody, bool) {
	var body decideBody
	raw, ok := readBody(w, r)
	if !ok {
		return body, false
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		badRequest(w, r, "INVALID_BODY", "the body is not a decide request: "+err.Error())
		return body, false
	}
	switch {
	case body.UserID == "":
		badRequest(w, r, "USER_ID_REQUIRED", "missing required userId")
	case body.FetchSegments:
		badRequest(w, r, "UNSUPPORTED", "fetchSegments (ODP) is not supported by Lift")
	default:
		return body, true
	}
	return body, false
}

// decider turns one request's flag decisions into Agent decisions and
// impressions.
type decider struct {
	engine *v4.Engine
	body   decideBody
	opts   decideOptions
	sdkKey string
	now    time.Time

	impressions []impression
	attributes  []event.VisitorAttribute // the user's, built once per request
	forced      v4.ForcedDecisions       // body.ForcedDecisions indexed, built once
}

// visitorAttributes are eventAttributes, shared by the request's
// impressions (the batch is encoded, never modified).
func (d *decider) visitorAttributes() []event.VisitorAttribute {
	if d.attributes == nil {
		d.attributes = d.eventAttributes()
	}
	return d.attributes
}

func (d *decider) decide(key string) agentDecision {
	out := agentDecision{flagKey: key}
	if d.forced == nil && len(d.body.ForcedDecisions) > 0 {
		d.forced = v4.IndexForced(d.body.ForcedDecisions) // once per request
	}
	f, ok := d.engine.DecideFlagForced(d.body.UserID, d.body.UserAttributes, key, d.forced)
	if !ok {
		// go-sdk's error decision for an unknown flag; errors are always
		// reported, INCLUDE_REASONS or not.
		out.reasons = append(out.reasons, fmt.Sprintf("No flag was found for key %q.", key))
		return out
	}
	out.variationKey, out.enabled, out.ruleKey = f.VariationKey(), f.Enabled, f.ExperimentKey()
	if !d.opts.excludeVariables {
		out.variables, out.typed = f.Variables, f.Typed
	}
	if d.opts.includeReasons {
		out.reasons = append(out.reasons, f.Reasons...)
		for _, ek := range d.engine.FlagExperimentKeys(key) {
			out.reasons = append(out.reasons, reasonText(d.engine.Decide(d.body.UserID, d.body.UserAttributes, ek)))
		}
	}
	if f.RuleType == v4.RuleFeatureTest && !d.opts.disableDecisionEvent {
		d.addImpression(&f)
	}
	return out
}

func (d *decider) addImpression(f *v4.FlagDecision) {
	e := f.Rule
	for _, i := range d.impressions {
		if i.visitor.Snapshots[0].Decisions[0].ExperimentID == e.ExperimentID {
			return // one impression per experiment and request
		}
	}
	campaign := e.LayerID
	d.impressions = append(d.impressions, impression{
		sdkKey: d.sdkKey, accountID: d.engine.AccountID, projectID: d.engine.ProjectID,
		visitor: event.Visitor{
			VisitorID:  d.body.UserID,
			Attributes: d.visitorAttributes(),
			Snapshots: []event.Snapshot{{
				Decisions: []event.Decision{{
					CampaignID: campaign, ExperimentID: e.ExperimentID, VariationID: e.VariationID,
					Metadata: event.DecisionMetadata{
						FlagKey: f.FlagKey, RuleKey: e.ExperimentKey, RuleType: f.RuleType,
						VariationKey: e.VariationKey, Enabled: f.Enabled,
					},
				}},
				Events: []event.SnapshotEvent{{EntityID: campaign, Key: "campaign_activated", Timestamp: d.now.UnixMilli(), UUID: uuid.NewString()}},
			}},
		},
	})
}

// eventAttributes are the user's attributes as SDKs put them in events:
// those the datafile knows (by id) and reserved "$opt_" ones, with scalar
// values only; plus the datafile's bot filtering flag.
func (d *decider) eventAttributes() []event.VisitorAttribute {
	out := []event.VisitorAttribute{}
	for k, v := range d.body.UserAttributes {
		switch v.(type) {
		case string, bool, float64:
		default:
			continue
		}
		if id, ok := d.engine.AttributeID(k); ok {
			out = append(out, event.VisitorAttribute{EntityID: id, Key: k, AttributeType: "custom", Value: v})
		} else if strings.HasPrefix(k, "$opt_") {
			out = append(out, event.VisitorAttribute{EntityID: k, Key: k, AttributeType: "custom", Value: v})
		}
	}
	out = append(out, event.VisitorAttribute{EntityID: "$opt_bot_filtering", Key: "$opt_bot_filtering", AttributeType: "custom", Value: d.engine.BotFiltering})
	return out
}

// record hands the request's impressions (one per flag an experiment
// decided) to the sink together, so a decide of five flags waits for one
// batch, not five in a row.
func (d *decider) record(im *Impressions) {
	if im == nil || len(d.impressions) == 0 {
		return
	}
	im.add(d.impressions...)
}

func reasonText(e v4.Decision) string {
	switch e.Reason {
	case v4.Bucketed:
		return fmt.Sprintf("User bucketed into variation %q of experiment %q.", e.VariationKey, e.ExperimentKey)
	case v4.Forced:
		return fmt.Sprintf("User is forced into variation %q of experiment %q.", e.VariationKey, e.ExperimentKey)
	case v4.NotInAudience:
		return fmt.Sprintf("User does not meet the audience conditions of experiment %q.", e.ExperimentKey)
	case v4.NotInLayer:
		return fmt.Sprintf("User is in another experiment of the exclusion group of experiment %q.", e.ExperimentKey)
	case v4.NotInTraffic:
		return fmt.Sprintf("User is not in the traffic allocation of experiment %q.", e.ExperimentKey)
	default:
		return fmt.Sprintf("Experiment %q is not running.", e.ExperimentKey)
	}
}

func badRequest(w http.ResponseWriter, r *http.Request, reason, msg string) {
	httperr.Write(w, r, http.StatusBadRequest, httperr.New(codes.InvalidArgument, reason, msg, nil))
}

func writeUnknownKey(w http.ResponseWriter, r *http.Request) {
	mux.WriteError(w, r, httperr.New(codes.NotFound, "SDK_KEY_NOT_FOUND", "unknown SDK key", nil).Err())
}
