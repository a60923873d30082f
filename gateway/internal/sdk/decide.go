package sdk

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/liftlabs/lift/gateway/internal/httperr"
	"github.com/liftlabs/lift/gateway/internal/mux"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"github.com/optimizely/go-sdk/v2/pkg/event"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/structpb"
)

// maxSDKKeyLen is the longest SDK key Decide accepts; a longer one cannot
// exist and is answered like any unknown key.
const maxSDKKeyLen = 128

// decideBody is Optimizely Agent's decide request body. forcedDecisions
// and fetchSegments (ODP) are Agent features Lift does not have; a request
// that uses them is refused rather than answered as if it had not.
type decideBody struct {
	UserID          string            `json:"userId"`
	UserAttributes  map[string]any    `json:"userAttributes"`
	DecideOptions   []string          `json:"decideOptions"`
	ForcedDecisions []json.RawMessage `json:"forcedDecisions"`
	FetchSegments   bool              `json:"fetchSegments"`
}

// agentDecision is one decision as Agent renders it (go-sdk's
// OptimizelyDecision with variables as a map, left out when empty).
type agentDecision struct {
	VariationKey string           `json:"variationKey"`
	Enabled      bool             `json:"enabled"`
	RuleKey      string           `json:"ruleKey"`
	FlagKey      string           `json:"flagKey"`
	UserContext  agentUserContext `json:"userContext"`
	Reasons      []string         `json:"reasons"`
	Variables    map[string]any   `json:"variables,omitempty"`
}

type agentUserContext struct {
	UserID     string         `json:"userId"`
	Attributes map[string]any `json:"attributes"`
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
// order, or the keys' order). Decisions come from experiments' Decide, so
// they equal the typed endpoint's and the SDKs'. Impressions of decisions
// made by an experiment go to results unless DISABLE_DECISION_EVENT.
func Decide(client experimentsv1.ExperimentsServiceClient, impressions *Impressions) http.Handler {
	envs := newEnvironments(client)
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
		attrs := make(map[string]*structpb.Value, len(body.UserAttributes))
		for k, v := range body.UserAttributes {
			pv, err := structpb.NewValue(v)
			if err != nil {
				badRequest(w, r, "INVALID_ATTRIBUTE", fmt.Sprintf("userAttributes.%s: %v", k, err))
				return
			}
			attrs[k] = pv
		}
		ctx := outgoing(r)
		resp, err := client.Decide(ctx, &experimentsv1.DecideRequest{SdkKey: sdkKey, UserId: body.UserID, Attributes: attrs})
		if err != nil {
			mux.WriteError(w, r, err)
			return
		}
		env, err := envs.get(ctx, sdkKey, resp.GetRevision())
		if err != nil {
			mux.WriteError(w, r, err)
			return
		}

		keys := r.URL.Query()["keys"]
		d := decider{env: env, body: body, opts: opts, resp: resp, sdkKey: sdkKey, now: time.Now()}
		d.index()
		if len(keys) == 1 {
			out := d.decide(keys[0])
			d.record(impressions)
			writeJSON(w, r, out)
			return
		}
		if len(keys) == 0 {
			for _, f := range resp.GetFlags() {
				keys = append(keys, f.GetFlagKey())
			}
		}
		out := []agentDecision{}
		seen := map[string]bool{}
		for _, k := range keys {
			if seen[k] {
				continue // go-sdk decides into a map: a repeated key once
			}
			seen[k] = true
			if dec := d.decide(k); !opts.enabledFlagsOnly || dec.Enabled {
				out = append(out, dec)
			}
		}
		d.record(impressions)
		writeJSON(w, r, out)
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
	case len(body.ForcedDecisions) > 0:
		badRequest(w, r, "UNSUPPORTED", "forcedDecisions are not supported by Lift")
	case body.FetchSegments:
		badRequest(w, r, "UNSUPPORTED", "fetchSegments (ODP) is not supported by Lift")
	default:
		return body, true
	}
	return body, false
}

// decider turns one Decide answer into Agent decisions and impressions.
type decider struct {
	env    *environment
	body   decideBody
	opts   decideOptions
	resp   *experimentsv1.DecideResponse
	sdkKey string
	now    time.Time

	flags       map[string]*experimentsv1.FlagDecision
	experiments map[string]*experimentsv1.ExperimentDecision
	impressions []impression
	recorded    map[string]bool // experiment ids with an impression
}

func (d *decider) index() {
	d.flags = map[string]*experimentsv1.FlagDecision{}
	d.experiments = map[string]*experimentsv1.ExperimentDecision{}
	d.recorded = map[string]bool{}
	for _, f := range d.resp.GetFlags() {
		d.flags[f.GetFlagKey()] = f
	}
	for _, e := range d.resp.GetDecisions() {
		d.experiments[e.GetExperimentKey()] = e
	}
}

func (d *decider) decide(key string) agentDecision {
	out := agentDecision{
		FlagKey:     key,
		UserContext: agentUserContext{UserID: d.body.UserID, Attributes: d.body.UserAttributes},
		Reasons:     []string{},
	}
	f, ok := d.flags[key]
	if !ok {
		// go-sdk's error decision for an unknown flag; errors are always
		// reported, INCLUDE_REASONS or not.
		out.Reasons = append(out.Reasons, fmt.Sprintf("No flag was found for key %q.", key))
		return out
	}
	out.VariationKey, out.Enabled, out.RuleKey = f.GetVariationKey(), f.GetEnabled(), f.GetExperimentKey()
	info := d.env.flags[key]
	if !d.opts.excludeVariables {
		out.Variables = make(map[string]any, len(f.GetVariables()))
		for k, v := range f.GetVariables() {
			out.Variables[k] = typed(v, info.variableTypes[k])
		}
	}
	if d.opts.includeReasons {
		for _, ek := range info.experimentKeys {
			if e := d.experiments[ek]; e != nil {
				out.Reasons = append(out.Reasons, reasonText(e))
			}
		}
	}
	if e := d.experiments[f.GetExperimentKey()]; e != nil && !d.opts.disableDecisionEvent {
		d.addImpression(f, e)
	}
	return out
}

func (d *decider) addImpression(f *experimentsv1.FlagDecision, e *experimentsv1.ExperimentDecision) {
	if e.GetReason() != experimentsv1.DecisionReason_DECISION_REASON_BUCKETED || e.GetVariationId() == "" || d.recorded[e.GetExperimentId()] {
		return
	}
	d.recorded[e.GetExperimentId()] = true
	campaign := d.env.layerOf[e.GetExperimentId()]
	d.impressions = append(d.impressions, impression{
		sdkKey: d.sdkKey, accountID: d.env.accountID, projectID: d.env.projectID,
		visitor: event.Visitor{
			VisitorID:  d.body.UserID,
			Attributes: d.eventAttributes(),
			Snapshots: []event.Snapshot{{
				Decisions: []event.Decision{{
					CampaignID: campaign, ExperimentID: e.GetExperimentId(), VariationID: e.GetVariationId(),
					Metadata: event.DecisionMetadata{
						FlagKey: f.GetFlagKey(), RuleKey: e.GetExperimentKey(), RuleType: "feature-test",
						VariationKey: e.GetVariationKey(), Enabled: f.GetEnabled(),
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
		if id, ok := d.env.attributes[k]; ok {
			out = append(out, event.VisitorAttribute{EntityID: id, Key: k, AttributeType: "custom", Value: v})
		} else if strings.HasPrefix(k, "$opt_") {
			out = append(out, event.VisitorAttribute{EntityID: k, Key: k, AttributeType: "custom", Value: v})
		}
	}
	out = append(out, event.VisitorAttribute{EntityID: "$opt_bot_filtering", Key: "$opt_bot_filtering", AttributeType: "custom", Value: d.env.botFiltering})
	return out
}

func (d *decider) record(im *Impressions) {
	if im == nil {
		return
	}
	for _, i := range d.impressions {
		im.add(i)
	}
}

// typed converts a variable's text to its JSON type as go-sdk does; a
// value that does not parse stays text.
func typed(v, typ string) any {
	switch typ {
	case "boolean":
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
	case "integer":
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	case "double":
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	case "json":
		var m map[string]any
		if err := json.Unmarshal([]byte(v), &m); err == nil {
			return m
		}
	}
	return v
}

func reasonText(e *experimentsv1.ExperimentDecision) string {
	switch e.GetReason() {
	case experimentsv1.DecisionReason_DECISION_REASON_BUCKETED:
		return fmt.Sprintf("User bucketed into variation %q of experiment %q.", e.GetVariationKey(), e.GetExperimentKey())
	case experimentsv1.DecisionReason_DECISION_REASON_NOT_IN_AUDIENCE:
		return fmt.Sprintf("User does not meet the audience conditions of experiment %q.", e.GetExperimentKey())
	case experimentsv1.DecisionReason_DECISION_REASON_NOT_IN_LAYER:
		return fmt.Sprintf("User is in another experiment of the exclusion group of experiment %q.", e.GetExperimentKey())
	case experimentsv1.DecisionReason_DECISION_REASON_NOT_IN_TRAFFIC:
		return fmt.Sprintf("User is not in the traffic allocation of experiment %q.", e.GetExperimentKey())
	default:
		return fmt.Sprintf("Experiment %q is not running.", e.GetExperimentKey())
	}
}

func badRequest(w http.ResponseWriter, r *http.Request, reason, msg string) {
	httperr.Write(w, r, http.StatusBadRequest, httperr.New(codes.InvalidArgument, reason, msg, nil))
}

func writeUnknownKey(w http.ResponseWriter, r *http.Request) {
	mux.WriteError(w, r, httperr.New(codes.NotFound, "SDK_KEY_NOT_FOUND", "unknown SDK key", nil).Err())
}

func writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Decisions hold only strings, numbers, booleans and decoded JSON.
		httperr.Write(w, r, http.StatusInternalServerError, httperr.New(codes.Internal, "INTERNAL", "internal error", nil))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(b)
}
