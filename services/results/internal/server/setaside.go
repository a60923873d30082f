package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/liftlabs/lift/services/results/internal/ingest"
)

// SetAsideLister lists the events the consumer set aside.
type SetAsideLister interface {
	SetAside(ctx context.Context, limit int) ([]ingest.SetAside, error)
}

// SetAsideHandler serves the operator's listing of set-aside events on the
// admin port (GET /set-aside?limit=N, newest first, JSON lines): events
// that count nowhere because they could not be attributed, with why.
func SetAsideHandler(l SetAsideLister) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
		if err != nil || limit <= 0 || limit > 10000 {
			limit = 100
		}
		rows, err := l.SetAside(r.Context(), limit)
		if err != nil {
			http.Error(w, "set-aside events could not be read", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(w)
		for _, a := range rows {
			_ = enc.Encode(map[string]any{
				"projectId": strconv.FormatInt(a.ProjectID, 10), "uuid": a.UUID, "visitorId": a.VisitorID, "key": a.Key,
				"occurredAt": a.At.Format(time.RFC3339Nano), "experimentId": a.ExperimentID, "variationId": a.VariationID, "reason": a.Reason,
			})
		}
	})
}
