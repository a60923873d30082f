package httpmw

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/liftlabs/lift/gateway/internal/httperr"
	"google.golang.org/grpc/codes"
)

// DefaultMaxBodyBytes is the default of LIFT_HTTP_MAX_BODY_BYTES (1 MiB).
const DefaultMaxBodyBytes = 1 << 20

// UploadRate is the slowest upload the gateway waits for: a body must
// start within Grace and then keep arriving at MinBytesPerSecond on
// average (the deadline is Grace plus the bytes received so far divided by
// the rate, moved forward after every read). A stalled or trickling upload
// is cut off with 408 instead of holding a request slot until the server's
// read timeout. A zero UploadRate waits as long as the server does.
type UploadRate struct {
	Grace             time.Duration
	MinBytesPerSecond int64
}

// DefaultUploadRate: 10 s to start, then at least 32 KiB/s (a 10 MiB batch
// may take up to 5 min 30 s; an idle one is gone after 10 s).
var DefaultUploadRate = UploadRate{Grace: 10 * time.Second, MinBytesPerSecond: 32 << 10}

// BodyLimit answers 413 for request bodies over max bytes. A declared
// Content-Length over the limit is refused before anything is read; a
// chunked body is cut off when it crosses the limit, and the mux's error
// handler, seeing BodyLimitExceeded, answers 413 instead of the 400 the
// failed JSON decode would otherwise give.
func BodyLimit(max int64) func(http.Handler) http.Handler {
	return BodyLimitBy(func(*http.Request) int64 { return max }, UploadRate{})
}

// BodyLimitBy is BodyLimit with a limit chosen per request (e.g. higher for
// SDK event batches) and a minimum upload rate.
func BodyLimitBy(maxOf func(*http.Request) int64, rate UploadRate) func(http.Handler) http.Handler {
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
				b := &limitedBody{ReadCloser: http.MaxBytesReader(w, r.Body, max), lim: lim}
				if rate.Grace > 0 && rate.MinBytesPerSecond > 0 {
					b.rate, b.start, b.rc = rate, time.Now(), http.NewResponseController(w)
				}
				r.Body = b
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

// WriteBodyError answers for a body that could not be read because of the
// gateway's own limits: 413 over the size limit, 408 below the minimum
// upload rate. It reports false (and writes nothing) for any other cause.
func WriteBodyError(w http.ResponseWriter, r *http.Request) bool {
	lim, ok := r.Context().Value(limitKey{}).(*limit)
	switch {
	case !ok:
		return false
	case lim.exceeded:
		WriteTooLarge(w, r)
	case lim.tooSlow:
		w.Header().Set("Connection", "close")
		httperr.Write(w, r, http.StatusRequestTimeout, httperr.New(codes.DeadlineExceeded, "UPLOAD_TOO_SLOW",
			"the request body arrived too slowly", nil))
	default:
		return false
	}
	return true
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
	tooSlow  bool
}

type limitedBody struct {
	io.ReadCloser
	lim *limit

	// Minimum upload rate; rc is nil when there is none.
	rate  UploadRate
	start time.Time
	read  int64
	rc    *http.ResponseController
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.rc != nil {
		allowed := b.rate.Grace + time.Duration(float64(b.read)/float64(b.rate.MinBytesPerSecond)*float64(time.Second))
		_ = b.rc.SetReadDeadline(b.start.Add(allowed))
	}
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		b.lim.exceeded = true
	case b.rc != nil && errors.Is(err, os.ErrDeadlineExceeded):
		b.lim.tooSlow = true
	}
	return n, err
}
