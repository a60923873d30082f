// Package admit decides, before anything else costs, whom a request is
// for: its API token (checked through identity, answers cached), its SDK
// key (resolved through identity before the body is read, answers cached),
// or, without a credential, its client address. Failed credentials are
// charged to the client address in a strict bucket, and once that is empty
// the address gets 429 without another lookup: invented tokens and SDK
// keys cost identity almost nothing. Everyone else is rate-limited by who
// they turned out to be (the token's id as identity knows it, the
// environment of an SDK key), never by a string the client chose.
package admit

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/liftlabs/lift/gateway/internal/httperr"
	"github.com/liftlabs/lift/gateway/internal/httpmw"
	"github.com/liftlabs/lift/gateway/internal/mux"
	"github.com/liftlabs/lift/gateway/internal/sdk"
	"github.com/liftlabs/lift/pkg/apierr"
	"github.com/liftlabs/lift/pkg/auth"
	"github.com/liftlabs/lift/pkg/logging"
	"github.com/liftlabs/lift/pkg/ratelimit"
	"google.golang.org/grpc/codes"
)

// DefaultFailures is the strict per-address bucket of failed credentials
// (LIFT_AUTH_FAILURE_RATE_LIMIT_*): 10 at once, then one a second.
var DefaultFailures = ratelimit.Policy{RPS: 1, Burst: 10}

// Tokens checks API tokens; *auth.IdentityAuthenticator is one.
type Tokens interface {
	auth.Authenticator
	// Cached answers from memory only; ok is false on a miss.
	Cached(token string) (p auth.Principal, err error, ok bool)
	// Pending reports whether token is being looked up right now.
	Pending(token string) bool
}

// Config configures Middleware.
type Config struct {
	// Tokens checks API tokens at the edge; nil leaves them to the
	// services (and keys the API bucket on the address).
	Tokens Tokens
	// SDKKeys resolves SDK keys at the edge; nil leaves them to the
	// services (and keys the SDK bucket on the address).
	SDKKeys *SDKKeys
	// API is each token's bucket on the API (the address's without a
	// token), SDK each environment's on the SDK endpoints, Failures each
	// address's bucket of failed credentials. A zero RPS does not limit.
	API, SDK, Failures ratelimit.Policy
	// Exempt requests (the probes) are neither checked nor limited.
	Exempt func(*http.Request) bool
	// Holds reports whether the edge holds a compiled datafile for an SDK
	// key (so the key is known without a lookup); its decides take the
	// Decide bucket, per SDK key. nil: no key is held.
	Holds  func(sdkKey string) bool
	Decide ratelimit.Policy
}

type admitter struct {
	cfg                        Config
	api, sdk, decide, failures *ratelimit.Limiter
}

// Middleware admits requests as the package comment says. A request it
// refuses before reading the body gets "Connection: close", so the server
// does not wait for a body that may never come.
func Middleware(cfg Config) func(http.Handler) http.Handler {
	a := &admitter{
		cfg: cfg,
		api: ratelimit.New(cfg.API, 0), sdk: ratelimit.New(cfg.SDK, 0), decide: ratelimit.New(cfg.Decide, 0),
		failures: ratelimit.New(cfg.Failures, 0),
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if cfg.Exempt != nil && cfg.Exempt(r) {
				next.ServeHTTP(w, r)
				return
			}
			if a.admit(w, r) {
				next.ServeHTTP(w, r)
			}
		})
	}
}

// admit identifies the caller and takes a token from its bucket; when it
// refuses, it has answered.
func (a *admitter) admit(w http.ResponseWriter, r *http.Request) bool {
	now := time.Now()
	addr := ratelimit.Key("ip", httpmw.ClientIP(r))
	lim, key := a.api, addr
	isSDK := sdk.IsSDKRequest(r)
	if isSDK {
		lim = a.sdk
	}
	switch sdkKey := sdk.Key(r); {
	case r.URL.Path == sdk.DecidePath && sdkKey != "" && a.cfg.Holds != nil && a.cfg.Holds(sdkKey):
		lim, key = a.decide, ratelimit.Key("sdk", sdkKey)
	case isSDK && sdkKey != "" && a.cfg.SDKKeys != nil:
		envID, ok := a.checkSDKKey(w, r, lim, sdkKey, addr, now)
		if !ok {
			return false
		}
		key = ratelimit.Key("env", envID)
	case len(r.Header.Values("Authorization")) > 0 && a.cfg.Tokens != nil:
		p, ok := a.checkToken(w, r, lim, addr, now)
		if !ok {
			return false
		}
		key = ratelimit.Key("token-id", p.TokenID)
	}
	if ok, wait := lim.Allow(key, now); !ok {
		refuse(w, r, wait, "too many requests for this credential")
		return false
	}
	return true
}

// checkSDKKey resolves key; an unknown key is charged to addr and answered
// 404 SDK_KEY_NOT_FOUND, as the SDK endpoints answer it.
func (a *admitter) checkSDKKey(w http.ResponseWriter, r *http.Request, lim *ratelimit.Limiter, key, addr string, now time.Time) (envID string, ok bool) {
	envID, err, cached := a.cfg.SDKKeys.cached(key)
	charged := false
	if !cached {
		// A lookup of the same key under way (many clients starting at once
		// with it) is joined: no new lookup, nothing charged ahead.
		refund, ok := a.chargeAhead(w, r, addr, now, func() bool { return a.cfg.SDKKeys.pendingKey(key) })
		if !ok {
			return "", false
		}
		envID, err = a.cfg.SDKKeys.resolve(r.Context(), key)
		if charged = errors.Is(err, errUnknownKey) && refund != nil; !charged && refund != nil {
			refund()
		}
	}
	switch {
	case errors.Is(err, errUnknownKey):
		a.fail(w, r, lim, addr, now, charged, httperr.New(codes.NotFound, "SDK_KEY_NOT_FOUND", "unknown SDK key", nil).Err())
		return "", false
	case err != nil:
		writeOutage(w, r, err)
		return "", false
	}
	return envID, true
}

// checkToken authenticates the request's one Bearer token. Anything else in
// Authorization (another scheme, two headers: which one would count?) is a
// failed authentication.
func (a *admitter) checkToken(w http.ResponseWriter, r *http.Request, lim *ratelimit.Limiter, addr string, now time.Time) (auth.Principal, bool) {
	tok, single := bearer(r)
	if !single {
		a.fail(w, r, lim, addr, now, false, auth.ErrUnauthenticated)
		return auth.Principal{}, false
	}
	p, err, cached := a.cfg.Tokens.Cached(tok)
	charged := false
	if !cached {
		refund, ok := a.chargeAhead(w, r, addr, now, func() bool { return a.cfg.Tokens.Pending(tok) })
		if !ok {
			return auth.Principal{}, false
		}
		p, err = a.cfg.Tokens.Authenticate(r.Context(), tok)
		if charged = errors.Is(err, auth.ErrUnauthenticated) && refund != nil; !charged && refund != nil {
			refund()
		}
	}
	switch {
	case errors.Is(err, auth.ErrUnauthenticated):
		a.fail(w, r, lim, addr, now, charged, auth.ErrUnauthenticated)
		return auth.Principal{}, false
	case err != nil:
		writeOutage(w, r, err)
		return auth.Principal{}, false
	}
	return p, true
}

// fail answers a failed credential with err, charging addr's failure
// bucket unless that was done ahead of the lookup, and the address's bucket
// of the endpoint's own limit (lim: a made-up credential is nobody's, so it
// counts for the caller); with either empty the answer is 429 instead.
func (a *admitter) fail(w http.ResponseWriter, r *http.Request, lim *ratelimit.Limiter, addr string, now time.Time, charged bool, err error) {
	if !charged {
		if ok, wait := a.failures.Allow(addr, now); !ok {
			refuse(w, r, wait, "too many failed credentials from this address")
			return
		}
	}
	if ok, wait := lim.Allow(addr, now); !ok {
		refuse(w, r, wait, "too many requests from this address")
		return
	}
	closeAfter(w, r)
	mux.WriteError(w, r, err)
}

// bearer returns the token of the request's only Authorization header, if
// that is a Bearer credential.
func bearer(r *http.Request) (string, bool) {
	vs := r.Header.Values("Authorization")
	if len(vs) != 1 {
		return "", false
	}
	scheme, tok, ok := strings.Cut(vs[0], " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", false
	}
	return tok, true
}

// chargeAhead charges addr's failure bucket for a lookup of a credential
// nobody has seen, before the lookup: concurrent requests cannot all pass
// while the bucket still looks full. The caller refunds the charge when the
// credential turns out valid (or identity could not tell). When the bucket
// is empty the request may still join a lookup of the same credential
// under way (joining reports so; refund is then nil: nothing was charged,
// and joining costs identity nothing); otherwise it answers 429 and no
// lookup is made.
func (a *admitter) chargeAhead(w http.ResponseWriter, r *http.Request, addr string, now time.Time, joining func() bool) (refund func(), ok bool) {
	ok, wait, refund := a.failures.Take(addr, now)
	switch {
	case ok:
		return refund, true
	case joining():
		return nil, true
	}
	refuse(w, r, wait, "too many failed credentials from this address")
	return nil, false
}

// writeOutage answers for identity failing to check a credential: the
// backend-outage shape (apierr.FromBackend) and nothing of the cause, which
// is logged under the request id.
func writeOutage(w http.ResponseWriter, r *http.Request, err error) {
	logging.FromContext(r.Context()).Warn("credential check failed", "error", err.Error())
	closeAfter(w, r)
	if e, ok := apierr.As(err); ok {
		err = e
	}
	mux.WriteError(w, r, err)
}

// refuse answers 429 RATE_LIMITED with Retry-After.
func refuse(w http.ResponseWriter, r *http.Request, wait time.Duration, why string) {
	secs := strconv.Itoa(ratelimit.RetryAfterSeconds(wait))
	w.Header().Set("Retry-After", secs)
	closeAfter(w, r)
	httperr.Write(w, r, http.StatusTooManyRequests, httperr.New(codes.ResourceExhausted, "RATE_LIMITED",
		why+"; retry after "+secs+" s", map[string]string{"retry_after_seconds": secs}))
}

// closeAfter closes the connection after a refusal of a request with a
// body: the server would otherwise read (wait for) the unread body before
// answering, to reuse the connection.
func closeAfter(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength != 0 {
		w.Header().Set("Connection", "close")
	}
}
