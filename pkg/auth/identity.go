package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"time"

	"github.com/liftlabs/lift/pkg/apierr"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"golang.org/x/sync/singleflight"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// maxCacheEntries bounds the cache; past it, expired entries are swept and,
// if that is not enough, the cache starts over (a burst of random tokens
// must not grow memory without bound).
const maxCacheEntries = 100_000

// identityCallTimeout bounds one AuthenticateToken call. It is detached from
// the caller's context because the result is shared by every waiter.
const identityCallTimeout = 5 * time.Second

type cacheEntry struct {
	p       Principal
	err     error // ErrUnauthenticated for a rejected token
	expires time.Time
}

// identityAuthenticator asks the identity service and caches the answer.
type identityAuthenticator struct {
	client identityv1.IdentityServiceClient
	ttl    time.Duration
	now    func() time.Time
	group  singleflight.Group

	mu    sync.Mutex
	cache map[[sha256.Size]byte]cacheEntry
}

// NewIdentityAuthenticator returns an Authenticator backed by the identity
// service's AuthenticateToken. Answers, positive and negative, are cached
// for ttl, so a revoked or expired token keeps working for at most ttl;
// concurrent misses for one token share a single identity call. Failures to
// reach identity are not cached and fail closed: 503 BACKEND_UNAVAILABLE
// (504 BACKEND_DEADLINE_EXCEEDED when it does not answer in time) with
// backend "identity" and part "authentication", as apierr.FromBackend.
func NewIdentityAuthenticator(client identityv1.IdentityServiceClient, ttl time.Duration) Authenticator {
	return newIdentityAuthenticator(client, ttl, time.Now)
}

func newIdentityAuthenticator(client identityv1.IdentityServiceClient, ttl time.Duration, now func() time.Time) *identityAuthenticator {
	return &identityAuthenticator{client: client, ttl: ttl, now: now, cache: map[[sha256.Size]byte]cacheEntry{}}
}

// Authenticate implements Authenticator.
func (a *identityAuthenticator) Authenticate(ctx context.Context, token string) (Principal, error) {
	// Keyed by a hash so the cache never holds secrets.
	key := sha256.Sum256([]byte(token))
	if e, ok := a.lookup(key); ok {
		return e.p, e.err
	}
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

func (a *identityAuthenticator) ask(ctx context.Context, token string) (cacheEntry, error) {
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

func (a *identityAuthenticator) lookup(key [sha256.Size]byte) (cacheEntry, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.cache[key]
	if !ok || !a.now().Before(e.expires) {
		return cacheEntry{}, false
	}
	return e, true
}

func (a *identityAuthenticator) store(key [sha256.Size]byte, e cacheEntry) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.cache) >= maxCacheEntries {
		now := a.now()
		for k, v := range a.cache {
			if !now.Before(v.expires) {
				delete(a.cache, k)
			}
		}
		if len(a.cache) >= maxCacheEntries {
			clear(a.cache)
		}
	}
	a.cache[key] = e
}
