package httpmw

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/liftlabs/lift/pkg/logging"
)

// AccessLog logs one line per request with its status, size and duration,
// and puts a logger carrying the request id in the context for the layers
// below. It runs inside RequestID. Requests quiet reports true for (the SDK
// endpoints, tens of thousands a second) are logged at debug level unless
// they fail with a 5xx, so info logging costs nothing per request there.
func AccessLog(base *slog.Logger, quiet func(*http.Request) bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			l := logging.ForRequest(r.Context(), base)
			rec := &recorder{ResponseWriter: w, status: http.StatusOK}
			next.ServeHTTP(rec, r.WithContext(logging.WithLogger(r.Context(), l)))
			level := slog.LevelInfo
			switch {
			case rec.status >= http.StatusInternalServerError:
				level = slog.LevelError
			case quiet != nil && quiet(r):
				level = slog.LevelDebug
			}
			l.Log(r.Context(), level, "http request",
				"method", r.Method,
				"path", r.URL.Path,
				"status", rec.status,
				"bytes", rec.bytes,
				"duration_ms", float64(time.Since(start).Microseconds())/1000,
				"remote", r.RemoteAddr,
			)
		})
	}
}

// recorder remembers the status and size of a response. Unwrap lets
// http.ResponseController reach the real writer (flushing, deadlines).
type recorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
