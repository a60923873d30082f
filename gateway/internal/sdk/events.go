package sdk

import (
	"bytes"
	"errors"
	"net/http"

	"github.com/liftlabs/lift/gateway/internal/httperr"
	"github.com/liftlabs/lift/gateway/internal/httpmw"
	"github.com/liftlabs/lift/gateway/internal/mux"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
)

// EventsPath is where SDKs' event dispatchers post batches (Optimizely's
// logx.optimizely.com/v1/events). The SDK key may be given as ?sdk_key=;
// without it the request needs an API token with the write scope.
const EventsPath = "/v1/events"

// Events serves POST /v1/events with results' IngestOptimizelyBatch,
// answering 204: Optimizely SDKs treat any other status as a failure.
func Events(client resultsv1.ResultsServiceClient) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowPost(w, r) {
			return
		}
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		_, err := client.IngestOptimizelyBatch(outgoing(r), &resultsv1.IngestOptimizelyBatchRequest{
			Batch: body, SdkKey: r.URL.Query().Get("sdk_key"),
		})
		if err != nil {
			mux.WriteError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// allowPost answers 405 in the standard shape unless the method is POST.
func allowPost(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodPost {
		return true
	}
	w.Header().Set("Allow", "POST")
	httperr.Write(w, r, http.StatusMethodNotAllowed, mux.RoutingStatus(r, http.StatusMethodNotAllowed))
	return false
}

// readBody reads the whole request body; when that fails it has answered
// 413 (over the body limit), 408 (below the minimum upload rate) or 400
// and ok is false. The body is read into
// one buffer of its declared length (the router's BodyLimit has refused a
// length over the limit), not grown by doubling from 512 bytes as
// io.ReadAll does: for a 150 KB event batch that was ten allocations and
// copies.
func readBody(w http.ResponseWriter, r *http.Request) (body []byte, ok bool) {
	buf := bytes.NewBuffer(make([]byte, 0, max(r.ContentLength, 0)+bytes.MinRead))
	_, err := buf.ReadFrom(r.Body)
	if err == nil {
		return buf.Bytes(), true
	}
	if errors.As(err, new(*http.MaxBytesError)) {
		httpmw.WriteTooLarge(w, r)
	} else if !httpmw.WriteBodyError(w, r) {
		badRequest(w, r, "INVALID_BODY", "could not read the request body")
	}
	return nil, false
}
