package httpmw

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/liftlabs/lift/gateway/internal/httperr"
	"google.golang.org/grpc/codes"
)

// DefaultMaxBodyBytes is the default of LIFT_HTTP_MAX_BODY_BYTES (1 MiB).
const DefaultMaxBodyBytes = 1 << 20

// BodyLimit answers 413 for request bodies over max bytes. A declared
// Content-Length over the limit is refused before anything is read; a
// chunked body is cut off when it crosses the limit, and the mux's error
// handler, seeing BodyLimitExceeded, answers 413 instead of the 400 the
// failed JSON decode would otherwise give.
func BodyLimit(max int64) func(http.Handler) http.Handler {
	return BodyLimitBy(func(*http.Request) int64 { return max })
}

// BodyLimitBy is BodyLimit with a limit chosen per request (e.g. higher for
// SDK event batches).
func BodyLimitBy(maxOf func(*http.Request) int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			max := maxOf(r)
			lim := &limit{max: max}
			r = r.WithContext(context.WithValue(r.Context(), limitKey{}, lim))
			if r.ContentLength > max {
				WriteTooLarge(w, r)
				return
			}
			if r.Body != nil && r.Body != http.NoBody {
				r.Body = &limitedBody{ReadCloser: http.MaxBytesReader(w, r.Body, max), lim: lim}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// BodyLimitExceeded reports whether reading the request body hit the limit.
func BodyLimitExceeded(ctx context.Context) bool {
	lim, ok := ctx.Value(limitKey{}).(*limit)
	return ok && lim.exceeded
}

// WriteTooLarge writes the 413 response. The code is RESOURCE_EXHAUSTED, as
// gRPC itself uses for an oversize message.
func WriteTooLarge(w http.ResponseWriter, r *http.Request) {
	max := int64(DefaultMaxBodyBytes)
	if lim, ok := r.Context().Value(limitKey{}).(*limit); ok {
		max = lim.max
	}
	st := httperr.New(codes.ResourceExhausted, "REQUEST_TOO_LARGE",
		fmt.Sprintf("request body exceeds %d bytes", max),
		map[string]string{"limit_bytes": strconv.FormatInt(max, 10)})
	// The rest of an oversize body is not worth reading to keep the
	// connection open.
	w.Header().Set("Connection", "close")
	httperr.Write(w, r, http.StatusRequestEntityTooLarge, st)
}

type limitKey struct{}

// limit is shared by the body reader and the error handler of one request.
// A request body is read by one goroutine, so no lock is needed.
type limit struct {
	max      int64
	exceeded bool
}

type limitedBody struct {
	io.ReadCloser
	lim *limit
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		b.lim.exceeded = true
	}
	return n, err
}
