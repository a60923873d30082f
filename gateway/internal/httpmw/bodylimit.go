package httpmw

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/liftlabs/lift/gateway/internal/httperr"
	"golang.org/x/sync/semaphore"
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

// BodyMemory bounds the bytes of request bodies being read at once (each
// reservation is the declared Content-Length, or twice the endpoint's
// limit for a body without one), so that many concurrent large uploads wait for
// each other instead of growing the heap without bound. It is taken on the
// first read of a body, so requests refused before reading (bad
// credential, rate limit) never hold any, and given back when the server
// closes the body after the handler. A nil BodyMemory does not bound.
type BodyMemory struct {
	sem   *semaphore.Weighted
	total int64
}

// DefaultBodyMemory is the default of LIFT_HTTP_BODY_MEMORY_BYTES (32 MiB).
const DefaultBodyMemory = 32 << 20

// NewBodyMemory returns a budget of total bytes; nil when total <= 0.
func NewBodyMemory(total int64) *BodyMemory {
	if total <= 0 {
		return nil
	}
	return &BodyMemory{sem: semaphore.NewWeighted(total), total: total}
}

// reserve waits (until ctx ends) for n bytes of the budget and returns
// the function that gives them back.
func (m *BodyMemory) reserve(ctx context.Context, n int64) (release func(), err error) {
	if m == nil {
		return func() {}, nil
	}
	n = min(max(n, 1), m.total)
	if err := m.sem.Acquire(ctx, n); err != nil {
		return nil, err
	}
	return sync.OnceFunc(func() { m.sem.Release(n) }), nil
}

// BodyLimit answers 413 for request bodies over max bytes. A declared
// Content-Length over the limit is refused before anything is read; a
// chunked body is cut off when it crosses the limit, and the mux's error
// handler, seeing BodyLimitExceeded, answers 413 instead of the 400 the
// failed JSON decode would otherwise give.
func BodyLimit(max int64) func(http.Handler) http.Handler {
	return BodyLimitBy(func(*http.Request) int64 { return max }, UploadRate{}, nil)
}

// BodyLimitBy is BodyLimit with a limit chosen per request (e.g. higher for
// SDK event batches), a minimum upload rate and a memory budget.
func BodyLimitBy(maxOf func(*http.Request) int64, rate UploadRate, mem *BodyMemory) func(http.Handler) http.Handler {
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
				// A body of unknown length is read into a buffer that grows by
				// doubling: up to twice the limit is allocated on the way.
				reserve := 2 * max
				if r.ContentLength > 0 {
					reserve = r.ContentLength
				}
				b := &limitedBody{ReadCloser: http.MaxBytesReader(w, r.Body, max), lim: lim, ctx: r.Context(), mem: mem, reserve: reserve}
				if rate.Grace > 0 && rate.MinBytesPerSecond > 0 {
					b.rate, b.start, b.rc = rate, time.Now(), http.NewResponseController(w)
				}
				// The server closes the body it made, not this wrapper:
				// the memory goes back when the handler is done with it.
				defer b.giveBack()
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
// upload rate, 503 when no memory for the body freed up before the request's
// deadline. It reports false (and writes nothing) for any other cause.
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
	case lim.noMemory:
		w.Header().Set("Retry-After", OverloadRetryAfter)
		w.Header().Set("Connection", "close")
		httperr.Write(w, r, http.StatusServiceUnavailable, httperr.New(codes.Unavailable, "OVERLOADED",
			"the gateway is reading its maximum of request bodies; retry later", nil))
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
	noMemory bool
}

type limitedBody struct {
	io.ReadCloser
	lim *limit

	// Minimum upload rate; rc is nil when there is none.
	rate  UploadRate
	start time.Time
	read  int64
	rc    *http.ResponseController

	// Memory budget, reserved on the first read.
	ctx     context.Context
	mem     *BodyMemory
	reserve int64
	release func()
}

// giveBack returns the body's memory reservation, if it took one.
func (b *limitedBody) giveBack() {
	if b.release != nil {
		b.release()
	}
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.release == nil {
		release, err := b.mem.reserve(b.ctx, b.reserve)
		if err != nil {
			b.lim.noMemory = true
			return 0, err
		}
		// The wait for the budget does not count against the upload.
		b.release, b.start = release, time.Now()
	}
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
