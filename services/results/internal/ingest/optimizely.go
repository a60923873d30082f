package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/liftlabs/lift/pkg/apierr"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"google.golang.org/protobuf/types/known/structpb"
)

// sdkBatch is the JSON an Optimizely SDK POSTs to its event endpoint
// (go-sdk pkg/event: Batch, Visitor, Snapshot, Decision, SnapshotEvent).
// Fields Lift does not use (revision, client_name, client_version,
// anonymize_ip, enrich_decisions, region, decision metadata other than the
// rule type) are accepted and ignored.
type sdkBatch struct {
	AccountID string       `json:"account_id"`
	ProjectID string       `json:"project_id"`
	Visitors  []sdkVisitor `json:"visitors"`
}

type sdkVisitor struct {
	VisitorID  string         `json:"visitor_id"`
	Attributes []sdkAttribute `json:"attributes"`
	Snapshots  []sdkSnapshot  `json:"snapshots"`
}

type sdkAttribute struct {
	EntityID string `json:"entity_id"`
	Key      string `json:"key"`
	Type     string `json:"type"`
	Value    any    `json:"value"`
}

type sdkSnapshot struct {
	Decisions []sdkDecision `json:"decisions"`
	Events    []sdkEvent    `json:"events"`
}

type sdkDecision struct {
	CampaignID         string `json:"campaign_id"`
	ExperimentID       string `json:"experiment_id"`
	VariationID        string `json:"variation_id"`
	IsCampaignHoldback bool   `json:"is_campaign_holdback"`
	Metadata           struct {
		RuleType string `json:"rule_type"`
	} `json:"metadata"`
}

type sdkEvent struct {
	EntityID  string   `json:"entity_id"`
	Key       string   `json:"key"`
	Timestamp int64    `json:"timestamp"`
	UUID      string   `json:"uuid"`
	Value     *float64 `json:"value"`
	// Revenue is read from its JSON text: cents beyond 2⁵³ must not round
	// through a float64.
	Revenue jsontext.Value `json:"revenue"`
	// Tags are neither stored nor analysed: they are only checked to be an
	// object, without decoding them.
	Tags jsontext.Value `json:"tags"`
}

// sdkJSON reads SDK batches with the JSON v2 decoder (about three times
// faster than encoding/json on a batch, and a batch's decoding is most of
// its CPU time in this service), keeping encoding/json's leniency where an
// SDK could notice: a repeated name keeps its last value, names match
// case-insensitively. Invalid UTF-8 is refused (naming the field), not
// replaced: replacing made visitors "v\xff" and "v\xfe" one visitor.
var sdkJSON = json.JoinOptions(jsontext.AllowInvalidUTF8(false), jsontext.AllowDuplicateNames(true), json.MatchCaseInsensitiveNames(true))

// ParseOptimizely turns an SDK event batch into a typed request. Decisions
// of rollouts (metadata.rule_type "rollout": a flag delivered without an
// experiment) and decisions without a variation are dropped, and an
// impression left without decisions is dropped too and counted in ignored:
// there is no experiment to analyse them in. Malformed JSON, a missing
// project_id or a fractional revenue reject the batch.
func ParseOptimizely(body []byte) (req *resultsv1.IngestEventsRequest, ignored int, err error) {
	var b sdkBatch
	if err := json.Unmarshal(body, &b, sdkJSON); err != nil {
		var se *jsontext.SyntacticError
		if errors.As(err, &se) && se.Err != nil && strings.Contains(se.Err.Error(), "invalid UTF-8") {
			field := strings.ToValidUTF8(string(se.JSONPointer), "\uFFFD")
			return nil, 0, apierr.InvalidArgument("INVALID_UTF8", "%s is not valid UTF-8", field).With("field", field)
		}
		return nil, 0, apierr.InvalidArgument("MALFORMED_BATCH", "the event batch is not valid JSON: %v", err)
	}
	if b.ProjectID == "" {
		return nil, 0, apierr.InvalidArgument("MALFORMED_BATCH", "the event batch has no project_id")
	}
	msgs := newMessages(&b)
	req = &resultsv1.IngestEventsRequest{ProjectId: b.ProjectID, Visitors: list(&msgs.visitorPtrs, len(b.Visitors))}
	for vi, v := range b.Visitors {
		pv := next(&msgs.visitors)
		pv.VisitorId = v.VisitorID
		for _, a := range v.Attributes {
			val, err := structpb.NewValue(a.Value)
			if err != nil {
				return nil, 0, apierr.InvalidArgument("MALFORMED_BATCH", "visitor %d: attribute %q: %v", vi, a.Key, err)
			}
			pv.Attributes = append(pv.Attributes, &resultsv1.VisitorAttribute{EntityId: a.EntityID, Key: a.Key, Type: a.Type, Value: val})
		}
		pv.Snapshots = list(&msgs.snapshotPtrs, len(v.Snapshots))
		for _, s := range v.Snapshots {
			ps, dropped, err := msgs.snapshot(s, vi)
			if err != nil {
				return nil, 0, err
			}
			ignored += dropped
			if ps != nil {
				pv.Snapshots = append(pv.Snapshots, ps)
			}
		}
		req.Visitors = append(req.Visitors, pv)
	}
	return req, ignored, nil
}

// MayHoldNUL reports whether a batch ParseOptimizely parsed from body can
// hold a NUL character in any string. A JSON string holds one only through
// the escape \u0000: a raw NUL byte is not valid JSON, which the decoder
// refuses even where it accepts invalid UTF-8. A false answer spares the
// walk over every parsed string; a true one (an escaped backslash before
// "u0000" included) only means that walk must look.
func MayHoldNUL(body []byte) bool {
	return bytes.Contains(body, []byte(`\u0000`))
}

func (msgs *messages) snapshot(s sdkSnapshot, visitor int) (*resultsv1.Snapshot, int, error) {
	ps := next(&msgs.snapshots)
	ps.Decisions = list(&msgs.decisionPtrs, len(s.Decisions))
	for _, d := range s.Decisions {
		if d.Metadata.RuleType == "rollout" || d.VariationID == "" {
			continue
		}
		pd := next(&msgs.decisions)
		pd.CampaignId, pd.ExperimentId, pd.VariationId, pd.IsCampaignHoldback = d.CampaignID, d.ExperimentID, d.VariationID, d.IsCampaignHoldback
		ps.Decisions = append(ps.Decisions, pd)
	}
	ps.Events = list(&msgs.eventPtrs, len(s.Events))
	dropped := 0
	for _, e := range s.Events {
		if e.Key == ImpressionKey && len(ps.Decisions) == 0 {
			dropped++
			continue
		}
		if k := e.Tags.Kind(); k != 0 && k != 'n' && k != '{' {
			return nil, 0, apierr.InvalidArgument("MALFORMED_BATCH", "visitor %d: event %q: tags must be an object", visitor, e.UUID)
		}
		pe := next(&msgs.events)
		pe.EntityId, pe.Key, pe.Timestamp, pe.Uuid, pe.Value = e.EntityID, e.Key, e.Timestamp, e.UUID, e.Value
		if k := e.Revenue.Kind(); k != 0 && k != 'n' {
			r, err := revenueCents(e.Revenue)
			if err != nil {
				return nil, 0, apierr.InvalidArgument("MALFORMED_BATCH", "visitor %d: event %q: %v", visitor, e.UUID, err)
			}
			pe.Revenue = &r
		}
		ps.Events = append(ps.Events, pe)
	}
	if len(ps.Events) == 0 {
		return nil, dropped, nil
	}
	return ps, dropped, nil
}

// revenueCents reads revenue, an integer number of cents; 1500.0 is
// accepted, 15.5 is not (a currency amount sent where cents are expected).
// A string holding a number counts as that number, as encoding/json's
// json.Number reads it.
func revenueCents(v jsontext.Value) (int64, error) {
	text := string(v)
	if v.Kind() == '"' {
		unquoted, err := jsontext.AppendUnquote(nil, v)
		if err != nil || !isJSONNumber(unquoted) {
			return 0, fmt.Errorf("revenue %s is not a whole number of cents", v)
		}
		text = string(unquoted)
	} else if v.Kind() != '0' {
		return 0, fmt.Errorf("revenue %s is not a whole number of cents", v)
	}
	if i, err := strconv.ParseInt(text, 10, 64); err == nil {
		return i, nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
		return 0, fmt.Errorf("revenue %s is not a whole number of cents", v)
	}
	return int64(f), nil
}

// isJSONNumber reports whether b is exactly one JSON number.
func isJSONNumber(b []byte) bool {
	return jsontext.Value(b).Kind() == '0' && jsontext.Value(b).IsValid()
}
