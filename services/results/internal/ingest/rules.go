package ingest

import (
	"math"

	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
)

// PlainlyValid is a fast, conservative pre-check of the rules declared on
// the IngestEventsRequest messages (proto/lift/results/v1/ingest.proto):
// true only when every rule plainly holds, so protovalidate need not run.
// False means "not sure", never "invalid": the caller then runs
// protovalidate, which gives the verdict and names the field.
//
// Why it exists: protovalidate's reflective walk of a parsed SDK batch
// (several messages per event) cost about as much CPU as decoding its
// JSON, on the hottest path of the service. The rules stay declared once,
// in the proto; this mirrors them, and TestPlainlyValid_NeverAcceptsWhat
// ProtovalidateRefuses (with the fuzz target) fails if the two ever
// disagree in the unsafe direction. Lengths are compared in bytes: a
// string within a rune limit in bytes is within it in runes, and one over
// it in bytes goes to protovalidate.
func PlainlyValid(req *resultsv1.IngestEventsRequest) bool {
	if !isID(req.GetProjectId()) || len(req.GetVisitors()) < 1 || len(req.GetVisitors()) > 10000 {
		return false
	}
	for _, v := range req.GetVisitors() {
		if !lenWithin(v.GetVisitorId(), 1, 256) || len(v.GetAttributes()) > 200 || len(v.GetSnapshots()) > 10000 {
			return false
		}
		for _, a := range v.GetAttributes() {
			if len(a.GetEntityId()) > 256 || len(a.GetKey()) > 256 || len(a.GetType()) > 64 {
				return false
			}
		}
		for _, s := range v.GetSnapshots() {
			if len(s.GetDecisions()) > 100 || len(s.GetEvents()) > 10000 {
				return false
			}
			for _, d := range s.GetDecisions() {
				if len(d.GetCampaignId()) > 64 || !isID(d.GetExperimentId()) || !isID(d.GetVariationId()) {
					return false
				}
			}
			for _, e := range s.GetEvents() {
				if len(e.GetEntityId()) > 64 || !lenWithin(e.GetKey(), 1, 128) || e.GetTimestamp() <= 0 ||
					!lenWithin(e.GetUuid(), 1, 64) || len(e.GetTags()) > 100 {
					return false
				}
				if e.Value != nil && (math.IsNaN(*e.Value) || math.Abs(*e.Value) > 1e15) {
					return false
				}
			}
		}
	}
	return true
}

// isID is the pattern ^[0-9]{1,19}$ of the id fields.
func isID(s string) bool {
	if len(s) < 1 || len(s) > 19 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// lenWithin reports min <= len(s) <= max in bytes.
func lenWithin(s string, min, max int) bool { return len(s) >= min && len(s) <= max }
