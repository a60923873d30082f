package httpmw

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/liftlabs/lift/gateway/internal/httperr"
	"github.com/liftlabs/lift/pkg/ratelimit"
	"google.golang.org/grpc/codes"
)

// Bucket picks the limiter and the bucket key of a request; a nil limiter
// means the request is not limited.
type Bucket func(r *http.Request) (lim *ratelimit.Limiter, key string)

// RateLimit answers 429 (RESOURCE_EXHAUSTED, reason RATE_LIMITED) with
// Retry-After when the request's bucket is empty. The wait comes from the
// bucket itself: the time until it holds a token again.
func RateLimit(bucket Bucket) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			lim, key := bucket(r)
			if ok, wait := lim.Allow(key, time.Now()); !ok {
				secs := strconv.Itoa(ratelimit.RetryAfterSeconds(wait))
				w.Header().Set("Retry-After", secs)
				httperr.Write(w, r, http.StatusTooManyRequests, httperr.New(codes.ResourceExhausted, "RATE_LIMITED",
					"too many requests for this credential; retry after "+secs+" s",
					map[string]string{"retry_after_seconds": secs}))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// CallerKey is the bucket key of a request's caller: its bearer token when
// it has one, else its client address. Both are hashed (ratelimit.Key).
func CallerKey(r *http.Request) string {
	if tok, ok := bearer(r); ok {
		return ratelimit.Key("token", tok)
	}
	return ratelimit.Key("ip", ClientIP(r))
}

func bearer(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

// ClientIP is the peer address. X-Forwarded-For is not trusted: any client
// could set it to get a fresh bucket per request. Behind a proxy every
// anonymous caller therefore shares the proxy's bucket; authenticated
// callers are keyed by their token regardless.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// OverloadRetryAfter is the Retry-After of an overload answer: in-flight
// requests of an API like this finish within about a second.
const OverloadRetryAfter = "1"

// InFlight bounds the requests served at once; see Middleware.
type InFlight struct {
	slots chan struct{}
}

// NewInFlight returns a bound of max requests; nil (no bound) when max <= 0.
func NewInFlight(max int) *InFlight {
	if max <= 0 {
		return nil
	}
	return &InFlight{slots: make(chan struct{}, max)}
}

// Full reports whether every slot is taken: the readiness probe says so,
// so a load balancer stops sending what would only get 503.
func (f *InFlight) Full() bool {
	return f != nil && len(f.slots) == cap(f.slots)
}

// Middleware answers 503 (UNAVAILABLE, reason OVERLOADED) with Retry-After
// when every slot is taken; exempt requests (the probes) are always served.
// 503 rather than 429: the gateway as a whole is busy, this caller did
// nothing wrong, and clients and load balancers treat 503 as "try again or
// try another replica". A nil InFlight does not limit.
func (f *InFlight) Middleware(exempt func(*http.Request) bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if f == nil {
			return next
		}
		max := strconv.Itoa(cap(f.slots))
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if exempt(r) {
				next.ServeHTTP(w, r)
				return
			}
			select {
			case f.slots <- struct{}{}:
				defer func() { <-f.slots }()
				next.ServeHTTP(w, r)
			default:
				w.Header().Set("Retry-After", OverloadRetryAfter)
				httperr.Write(w, r, http.StatusServiceUnavailable, httperr.New(codes.Unavailable, "OVERLOADED",
					"the gateway is serving its maximum of "+max+" requests; retry later",
					map[string]string{"max_in_flight": max}))
			}
		})
	}
}

// Deadline gives every request a deadline d from its arrival; backend calls
// made with the request's context carry it to the services as grpc-timeout.
// A client's own Grpc-Timeout header (honoured by grpc-gateway on /v1
// routes) can only shorten it. d <= 0 disables it.
func Deadline(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if d <= 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// MaxInFlightPerAddr answers 429 (RESOURCE_EXHAUSTED, reason
// TOO_MANY_CONCURRENT_REQUESTS) with Retry-After when one client address
// already has max requests being served, so that no single client (for
// example one holding stalled uploads open) can take the slots of
// MaxInFlight from everybody else. It runs before anything that could
// wait on the client or a backend. The connection is closed after the
// answer: its unread body is not worth waiting for. Exempt requests (the
// probes) are not counted; max <= 0 disables the cap. Behind a proxy every
// client shares the proxy's address (X-Forwarded-For is not trusted), so
// set it to 0 there and let the proxy cap its clients.
func MaxInFlightPerAddr(max int, exempt func(*http.Request) bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if max <= 0 {
			return next
		}
		var (
			mu     sync.Mutex
			inUse  = map[string]int{} // only addresses with requests in flight
			maxStr = strconv.Itoa(max)
		)
		release := func(addr string) {
			mu.Lock()
			if inUse[addr]--; inUse[addr] <= 0 {
				delete(inUse, addr)
			}
			mu.Unlock()
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if exempt(r) {
				next.ServeHTTP(w, r)
				return
			}
			addr := ClientIP(r)
			mu.Lock()
			ok := inUse[addr] < max
			if ok {
				inUse[addr]++
			}
			mu.Unlock()
			if !ok {
				w.Header().Set("Retry-After", OverloadRetryAfter)
				w.Header().Set("Connection", "close")
				httperr.Write(w, r, http.StatusTooManyRequests, httperr.New(codes.ResourceExhausted, "TOO_MANY_CONCURRENT_REQUESTS",
					"this client address already has "+maxStr+" requests in flight; retry later",
					map[string]string{"max_in_flight_per_address": maxStr}))
				return
			}
			defer release(addr)
			next.ServeHTTP(w, r)
		})
	}
}
