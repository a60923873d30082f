package httpmw

import (
	"net/http"
	"runtime/debug"

	"github.com/liftlabs/lift/gateway/internal/httperr"
	"github.com/liftlabs/lift/pkg/logging"
	"google.golang.org/grpc/codes"
)

// Recover turns a panic in a handler into a logged 500 in the standard
// error shape instead of a dropped connection. http.ErrAbortHandler is
// re-raised: it is net/http's way to abort a response on purpose.
func Recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			logging.FromContext(r.Context()).Error("panic in HTTP handler", "panic", v, "stack", string(debug.Stack()))
			httperr.Write(w, r, http.StatusInternalServerError, httperr.New(codes.Internal, "INTERNAL", "internal error", nil))
		}()
		next.ServeHTTP(w, r)
	})
}
