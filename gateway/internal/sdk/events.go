package sdk

import (
	"errors"
	"io"
	"net/http"

	"github.com/liftlabs/lift/gateway/internal/httperr"
	"github.com/liftlabs/lift/gateway/internal/httpmw"
	"github.com/liftlabs/lift/gateway/internal/mux"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// EventsPath is where SDKs' event dispatchers post batches (Optimizely's
// logx.optimizely.com/v1/events). The SDK key may be given as ?sdk_key=;
// without it the request needs an API token with the write scope.
const EventsPath = "/v1/events"

// Events serves POST /v1/events with results' IngestOptimizelyBatch,
// answering 204: Optimizely SDKs treat any other status as a failure.
func Events(client resultsv1.ResultsServiceClient) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			httperr.Write(w, r, http.StatusMethodNotAllowed, mux.RoutingStatus(r, http.StatusMethodNotAllowed))
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			if httpmw.BodyLimitExceeded(r.Context()) || errors.As(err, new(*http.MaxBytesError)) {
				httpmw.WriteTooLarge(w, r)
				return
			}
			httperr.Write(w, r, http.StatusBadRequest, status.New(codes.InvalidArgument, "could not read the request body"))
			return
		}
		_, err = client.IngestOptimizelyBatch(outgoing(r), &resultsv1.IngestOptimizelyBatchRequest{
			Batch: body, SdkKey: r.URL.Query().Get("sdk_key"),
		})
		if err != nil {
			mux.WriteError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
