package admit

import (
	"context"
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

// maxSDKKeyLen is the longest SDK key identity can hold
// (ResolveSdkKeyRequest's rule): a longer one is unknown without a lookup.
const maxSDKKeyLen = 128

// resolveTimeout bounds one ResolveSdkKey call, shared by every waiter.
const resolveTimeout = 5 * time.Second

// Cache sizes and lifetimes. Known keys are few and stable; unknown ones
// are what a flood is made of, so they have an LRU of their own (a flood
// evicts only other unknown keys) and a short life (an SDK key created a
// moment after a failed request works within UnknownKeyTTL).
const (
	maxKnownKeys   = 100_000
	maxUnknownKeys = 100_000
	KnownKeyTTL    = 30 * time.Second
	UnknownKeyTTL  = 10 * time.Second
)

// errUnknownKey is the answer for an SDK key no environment has.
var errUnknownKey = errors.New("unknown SDK key")

// SDKKeys resolves SDK keys to their environment through identity's
// ResolveSdkKey, remembering both answers, so the gateway can refuse an
// invented key before reading the request's body or calling a backend.
type SDKKeys struct {
	client  identityv1.IdentityServiceClient
	known   *expirable.LRU[string, string] // SDK key → environment id
	unknown *expirable.LRU[string, struct{}]
	group   singleflight.Group
	pending sync.Map // SDK keys being resolved right now
}

// pendingKey reports whether key is being resolved right now (joining
// that lookup costs identity nothing more).
func (s *SDKKeys) pendingKey(key string) bool {
	_, ok := s.pending.Load(key)
	return ok
}

// NewSDKKeys returns a resolver over identity.
func NewSDKKeys(client identityv1.IdentityServiceClient) *SDKKeys {
	return &SDKKeys{
		client:  client,
		known:   expirable.NewLRU[string, string](maxKnownKeys, nil, KnownKeyTTL),
		unknown: expirable.NewLRU[string, struct{}](maxUnknownKeys, nil, UnknownKeyTTL),
	}
}

// cached returns what is remembered about key: its environment id, or
// errUnknownKey; ok is false when nothing is.
func (s *SDKKeys) cached(key string) (envID string, err error, ok bool) {
	if len(key) > maxSDKKeyLen {
		return "", errUnknownKey, true
	}
	if id, ok := s.known.Get(key); ok {
		return id, nil, true
	}
	if _, ok := s.unknown.Get(key); ok {
		return "", errUnknownKey, true
	}
	return "", nil, false
}

// resolve returns key's environment id, errUnknownKey, or the backend
// outage (apierr) when identity cannot answer. Concurrent misses of one key
// share one call, detached from the first caller's context so that its
// cancellation fails none of the others.
func (s *SDKKeys) resolve(ctx context.Context, key string) (string, error) {
	if id, err, ok := s.cached(key); ok {
		return id, err
	}
	s.pending.Store(key, struct{}{})
	defer s.pending.Delete(key)
	v, err, _ := s.group.Do(key, func() (any, error) {
		if id, err, ok := s.cached(key); ok { // resolved while we queued
			return id, err
		}
		// No caller metadata: the SDK key is the credential here.
		ctx := metadata.NewIncomingContext(context.WithoutCancel(ctx), metadata.MD{})
		ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
		defer cancel()
		resp, err := s.client.ResolveSdkKey(ctx, &identityv1.ResolveSdkKeyRequest{SdkKey: key})
		switch status.Code(err) {
		case codes.OK:
			id := resp.GetEnvironment().GetId()
			s.known.Add(key, id)
			return id, nil
		case codes.NotFound, codes.InvalidArgument:
			s.unknown.Add(key, struct{}{})
			return "", errUnknownKey
		}
		if e, ok := apierr.FromBackend(err, "identity", "sdk_key", resolveTimeout); ok {
			return "", errors.Join(e, err)
		}
		return "", errors.Join(apierr.Unavailable("SDK_KEY_UNAVAILABLE", "cannot verify the SDK key right now"), err)
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}
