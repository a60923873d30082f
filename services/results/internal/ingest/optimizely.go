package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"

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
	EntityID  string         `json:"entity_id"`
	Key       string         `json:"key"`
	Timestamp int64          `json:"timestamp"`
	UUID      string         `json:"uuid"`
	Revenue   *json.Number   `json:"revenue"`
	Value     *float64       `json:"value"`
	Tags      map[string]any `json:"tags"`
}

// ParseOptimizely turns an SDK event batch into a typed request. Decisions
// of rollouts (metadata.rule_type "rollout": a flag delivered without an
// experiment) and decisions without a variation are dropped, and an
// impression left without decisions is dropped too and counted in ignored:
// there is no experiment to analyse them in. Malformed JSON, a missing
// project_id or a fractional revenue reject the batch.
func ParseOptimizely(body []byte) (req *resultsv1.IngestEventsRequest, ignored int, err error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var b sdkBatch
	if err := dec.Decode(&b); err != nil {
		return nil, 0, apierr.InvalidArgument("MALFORMED_BATCH", "the event batch is not valid JSON: %v", err)
	}
	if b.ProjectID == "" {
		return nil, 0, apierr.InvalidArgument("MALFORMED_BATCH", "the event batch has no project_id")
	}
	req = &resultsv1.IngestEventsRequest{ProjectId: b.ProjectID}
	for vi, v := range b.Visitors {
		pv := &resultsv1.Visitor{VisitorId: v.VisitorID}
		for _, a := range v.Attributes {
			val, err := structpb.NewValue(normalizeNumbers(a.Value))
			if err != nil {
				return nil, 0, apierr.InvalidArgument("MALFORMED_BATCH", "visitor %d: attribute %q: %v", vi, a.Key, err)
			}
			pv.Attributes = append(pv.Attributes, &resultsv1.VisitorAttribute{EntityId: a.EntityID, Key: a.Key, Type: a.Type, Value: val})
		}
		for _, s := range v.Snapshots {
			ps, dropped, err := sdkSnapshotToProto(s, vi)
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

func sdkSnapshotToProto(s sdkSnapshot, visitor int) (*resultsv1.Snapshot, int, error) {
	ps := &resultsv1.Snapshot{}
	for _, d := range s.Decisions {
		if d.Metadata.RuleType == "rollout" || d.VariationID == "" {
			continue
		}
		ps.Decisions = append(ps.Decisions, &resultsv1.Decision{
			CampaignId: d.CampaignID, ExperimentId: d.ExperimentID, VariationId: d.VariationID, IsCampaignHoldback: d.IsCampaignHoldback,
		})
	}
	dropped := 0
	for _, e := range s.Events {
		if e.Key == ImpressionKey && len(ps.Decisions) == 0 {
			dropped++
			continue
		}
		pe := &resultsv1.SnapshotEvent{EntityId: e.EntityID, Key: e.Key, Timestamp: e.Timestamp, Uuid: e.UUID, Value: e.Value}
		if e.Revenue != nil {
			r, err := revenueCents(*e.Revenue)
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
func revenueCents(n json.Number) (int64, error) {
	if i, err := n.Int64(); err == nil {
		return i, nil
	}
	f, err := n.Float64()
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
		return 0, fmt.Errorf("revenue %s is not a whole number of cents", n)
	}
	return int64(f), nil
}

// normalizeNumbers turns json.Number (from UseNumber) into float64, the
// only number structpb knows.
func normalizeNumbers(v any) any {
	if n, ok := v.(json.Number); ok {
		f, _ := n.Float64()
		return f
	}
	return v
}
