package server_test

import (
	"strings"
	"testing"

	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// With experiments stopped, results' calls to it (the datafile an SDK batch
// is checked against, the experiment a results read analyses) fail in the
// one backend-outage shape: UNAVAILABLE, BACKEND_UNAVAILABLE naming the
// backend, and nothing of the dial error in the message.
func TestCatalog_ExperimentsDownIsBackendUnavailable(t *testing.T) {
	s := newStack(t)
	s.exp.Kill()
	_, err := s.r.IngestOptimizelyBatch(t.Context(), &resultsv1.IngestOptimizelyBatchRequest{
		Batch: s.sdkBatch(impressionOf(s.e.GetId(), s.control, "u", "down-1", day())), SdkKey: s.sdkKey,
	})
	assertBackendOutage(t, err, "experiments", "datafile")
	_, err = s.r.GetExperimentResults(s.read, &resultsv1.GetExperimentResultsRequest{ExperimentId: s.e.GetId()})
	assertBackendOutage(t, err, "experiments", "experiment")
}

func assertBackendOutage(t *testing.T, err error, backend, part string) {
	t.Helper()
	assertReason(t, err, codes.Unavailable, "BACKEND_UNAVAILABLE")
	st := status.Convert(err)
	for _, leak := range []string{"dial", "connect", "refused", "127.0.0.1", "transport"} {
		if strings.Contains(strings.ToLower(st.Message()), leak) {
			t.Fatalf("message %q carries backend text %q", st.Message(), leak)
		}
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			if md := info.GetMetadata(); md["backend"] != backend || md["part"] != part {
				t.Fatalf("metadata = %v, want backend %s part %s", md, backend, part)
			}
		}
	}
}
