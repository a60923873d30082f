package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/liftlabs/lift/pkg/apierr"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"golang.org/x/sync/singleflight"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// maxCacheEntries bounds the cache. Past it the least recently used entry
// goes (hashicorp/golang-lru/v2 expirable): a burst of random tokens evicts
// other random tokens, never every valid one at once.
const maxCacheEntries = 100_000

// identityCallTimeout bounds one AuthenticateToken call. It is detached from
// the caller's context because the result is shared by every waiter.
const identityCallTimeout = 5 * time.Second

type cacheEntry struct {
	p       Principal
	err     error // ErrUnauthenticated for a rejected token
	expires time.Time
}

// IdentityAuthenticator asks the identity service and caches the answer.
// Accepted and rejected tokens are kept in separate LRUs, so a flood of
// invented tokens can only evict other rejected ones.
type IdentityAuthenticator struct {
	client identityv1.IdentityServiceClient
	ttl    time.Duration
	now    func() time.Time
	group  singleflight.Group

	valid, rejected *expirable.LRU[[sha256.Size]byte, cacheEntry]
	// pending holds the tokens being looked up right now (Pending).
	pending sync.Map // [sha256.Size]byte → struct{}
}

// NewIdentityAuthenticator returns an Authenticator backed by the identity
// service's AuthenticateToken. Answers, positive and negative, are cached
// for ttl, so a revoked or expired token keeps working for at most ttl;
// concurrent misses for one token share a single identity call. Failures to
// reach identity are not cached and fail closed: 503 BACKEND_UNAVAILABLE
// (504 BACKEND_DEADLINE_EXCEEDED when it does not answer in time) with
// backend "identity" and part "authentication", as apierr.FromBackend.
func NewIdentityAuthenticator(client identityv1.IdentityServiceClient, ttl time.Duration) *IdentityAuthenticator {
	return newIdentityAuthenticator(client, ttl, time.Now)
}

func newIdentityAuthenticator(client identityv1.IdentityServiceClient, ttl time.Duration, now func() time.Time) *IdentityAuthenticator {
	if ttl <= 0 {
		ttl = time.Nanosecond // no caching: every entry is already expired
	}
	// The LRU's own expiry bounds memory on the wall clock; lookup checks
	// expires against a.now, which tests move.
	return &IdentityAuthenticator{client: client, ttl: ttl, now: now,
		valid:    expirable.NewLRU[[sha256.Size]byte, cacheEntry](maxCacheEntries, nil, ttl),
		rejected: expirable.NewLRU[[sha256.Size]byte, cacheEntry](maxCacheEntries, nil, ttl)}
}

// Authenticate implements Authenticator.
func (a *IdentityAuthenticator) Authenticate(ctx context.Context, token string) (Principal, error) {
	// Keyed by a hash so the cache never holds secrets.
	key := sha256.Sum256([]byte(token))
	if e, ok := a.lookup(key); ok {
		return e.p, e.err
	}
	a.pending.Store(key, struct{}{})
	defer a.pending.Delete(key)
	v, err, _ := a.group.Do(string(key[:]), func() (any, error) {
		if e, ok := a.lookup(key); ok { // filled while we queued
			return e, nil
		}
		e, err := a.ask(ctx, token)
		if err != nil {
			return nil, err
		}
		a.store(key, e)
		return e, nil
	})
	if err != nil {
		return Principal{}, err
	}
	e := v.(cacheEntry)
	return e.p, e.err
}

func (a *IdentityAuthenticator) ask(ctx context.Context, token string) (cacheEntry, error) {
	// Drop the incoming metadata so grpcclient does not forward the caller's
	// Authorization header: the token travels in the request, and identity
	// need not authenticate it twice. The request id (a context value) stays.
	ctx = metadata.NewIncomingContext(context.WithoutCancel(ctx), metadata.MD{})
	ctx, cancel := context.WithTimeout(ctx, identityCallTimeout)
	defer cancel()
	resp, err := a.client.AuthenticateToken(ctx, &identityv1.AuthenticateTokenRequest{Token: token})
	exp := a.now().Add(a.ttl)
	switch status.Code(err) {
	case codes.OK:
		pr := resp.GetPrincipal()
		return cacheEntry{p: Principal{AccountID: pr.GetAccountId(), TokenID: pr.GetTokenId(), Scopes: pr.GetScopes()}, expires: exp}, nil
	case codes.Unauthenticated, codes.InvalidArgument:
		return cacheEntry{err: ErrUnauthenticated, expires: exp}, nil
	}
	// Identity down or too slow has the shape of any backend outage (503
	// BACKEND_UNAVAILABLE / 504 BACKEND_DEADLINE_EXCEEDED naming identity
	// and the part); any other answer is unexpected, and fails closed too.
	if e, ok := apierr.FromBackend(err, "identity", "authentication", identityCallTimeout); ok {
		return cacheEntry{}, errors.Join(e, err)
	}
	return cacheEntry{}, errors.Join(apierr.Unavailable("AUTH_UNAVAILABLE", "cannot verify the API token right now"), err)
}

// Cached returns the cached answer for token (a principal, or
// ErrUnauthenticated) without asking identity; ok is false on a miss. The
// gateway uses it to let known callers through before it spends anything
// on unknown ones.
func (a *IdentityAuthenticator) Cached(token string) (p Principal, err error, ok bool) {
	e, ok := a.lookup(sha256.Sum256([]byte(token)))
	return e.p, e.err, ok
}

// Pending reports whether token is being looked up right now: a caller
// joining that lookup costs identity nothing more (the gateway does not
// charge it as a new lookup).
func (a *IdentityAuthenticator) Pending(token string) bool {
	_, ok := a.pending.Load(sha256.Sum256([]byte(token)))
	return ok
}

func (a *IdentityAuthenticator) lookup(key [sha256.Size]byte) (cacheEntry, bool) {
	e, ok := a.valid.Get(key)
	if !ok {
		e, ok = a.rejected.Get(key)
	}
	if !ok || !a.now().Before(e.expires) {
		return cacheEntry{}, false
	}
	return e, true
}

func (a *IdentityAuthenticator) store(key [sha256.Size]byte, e cacheEntry) {
	if e.err != nil {
		a.rejected.Add(key, e)
		return
	}
	a.valid.Add(key, e)
}
