package sdk

import (
	"bytes"
	"errors"
	"io"
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
// 413 (over the body limit), 408 (below the minimum upload rate), 503 (no
// body memory) or 400, and ok is false.
func readBody(w http.ResponseWriter, r *http.Request) (body []byte, ok bool) {
	body, err := readAll(r.Body, r.ContentLength)
	if err == nil {
		return body, true
	}
	if errors.As(err, new(*http.MaxBytesError)) {
		httpmw.WriteTooLarge(w, r)
	} else if !httpmw.WriteBodyError(w, r) {
		badRequest(w, r, "INVALID_BODY", "could not read the request body")
	}
	return nil, false
}

// bodyChunk is the piece a body of unknown length is read in.
const bodyChunk = 64 << 10

// readAll reads a body of declared length into one buffer of that length,
// not grown by doubling from 512 bytes as io.ReadAll does (for a 150 KB
// event batch that was ten allocations and copies). A body of unknown
// length (chunked) is read in 64 KiB pieces joined at the end: nothing
// larger than the body is allocated on the way, so one cut off at the
// limit has cost the limit, not twice or four times it.
func readAll(r io.Reader, length int64) ([]byte, error) {
	if length > 0 {
		buf := bytes.NewBuffer(make([]byte, 0, length+bytes.MinRead))
		_, err := buf.ReadFrom(r)
		return buf.Bytes(), err
	}
	var chunks [][]byte
	for {
		chunk := make([]byte, bodyChunk)
		n, err := io.ReadFull(r, chunk)
		chunks = append(chunks, chunk[:n])
		switch {
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			if len(chunks) == 1 {
				return chunks[0], nil
			}
			return bytes.Join(chunks, nil), nil
		case err != nil:
			return nil, err
		}
	}
}
