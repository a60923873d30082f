// Package directory asks the identity service what the experiments service
// needs to know about projects and environments (may the caller see this
// project, which environments does it have, whose SDK key is this), and
// caches the answers briefly. It never reads identity's database.
package directory

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/liftlabs/lift/pkg/apierr"
	"github.com/liftlabs/lift/pkg/auth"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"golang.org/x/sync/singleflight"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// maxEntries bounds each cache; past it the least recently used entry
// goes (hashicorp/golang-lru/v2 expirable), never the whole cache.
const maxEntries = 50_000

// callTimeout bounds a shared identity call.
const callTimeout = 5 * time.Second

// Environment is what the experiments service uses of an identity
// environment.
type Environment struct {
	ID        int64
	ProjectID int64
	AccountID string
	Key       string
	SDKKey    string
}

// Directory answers from identity, with a cache of ttl.
type Directory struct {
	client identityv1.IdentityServiceClient
	group  singleflight.Group

	// Keyed by what was checked: the caller's account and the project, so
	// a hit is an answer for this caller, never another account's.
	projects *expirable.LRU[string, struct{}]
	envs     *expirable.LRU[string, []Environment]
	sdkKeys  *expirable.LRU[string, Environment]
}

// New returns a Directory over an identity client whose connection
// forwards the caller's credential (pkg/grpcclient does).
func New(client identityv1.IdentityServiceClient, ttl time.Duration) *Directory {
	if ttl <= 0 {
		ttl = time.Nanosecond // no caching: every entry is already expired
	}
	return &Directory{
		client:   client,
		projects: expirable.NewLRU[string, struct{}](maxEntries, nil, ttl),
		envs:     expirable.NewLRU[string, []Environment](maxEntries, nil, ttl),
		sdkKeys:  expirable.NewLRU[string, Environment](maxEntries, nil, ttl),
	}
}

// accountProject is the cache key of a check of projectID for p's account.
func accountProject(p auth.Principal, projectID int64) string {
	return p.AccountID + "/" + strconv.FormatInt(projectID, 10)
}

// CheckProject returns nil when the caller's account owns projectID, and
// NotFound with notFoundReason otherwise: another account's resources do
// not exist for the caller. Positive answers are cached for ttl.
func (d *Directory) CheckProject(ctx context.Context, projectID int64, notFoundReason string) error {
	p, err := auth.Require(ctx)
	if err != nil {
		return err
	}
	key := accountProject(p, projectID)
	if _, ok := d.projects.Get(key); ok {
		return nil
	}
	resp, err := d.client.GetProject(ctx, &identityv1.GetProjectRequest{ProjectId: strconv.FormatInt(projectID, 10)})
	switch status.Code(err) {
	case codes.OK:
	case codes.NotFound, codes.PermissionDenied, codes.InvalidArgument:
		return apierr.NotFound(notFoundReason, "%s", notFoundText(notFoundReason))
	default:
		return identityError(err)
	}
	if resp.GetProject().GetAccountId() != p.AccountID {
		return apierr.NotFound(notFoundReason, "%s", notFoundText(notFoundReason))
	}
	d.projects.Add(key, struct{}{})
	return nil
}

// Environments lists a project's environments as the caller sees them
// (CheckProject first). Cached for ttl per account and project.
func (d *Directory) Environments(ctx context.Context, projectID int64) ([]Environment, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	key := accountProject(p, projectID)
	if envs, ok := d.envs.Get(key); ok {
		return envs, nil
	}
	resp, err := d.client.ListEnvironments(ctx, &identityv1.ListEnvironmentsRequest{ProjectId: strconv.FormatInt(projectID, 10)})
	if err != nil {
		if c := status.Code(err); c == codes.NotFound || c == codes.PermissionDenied {
			return nil, apierr.NotFound("PROJECT_NOT_FOUND", "project not found")
		}
		return nil, identityError(err)
	}
	envs := make([]Environment, 0, len(resp.GetEnvironments()))
	for _, e := range resp.GetEnvironments() {
		id, _ := strconv.ParseInt(e.GetId(), 10, 64)
		envs = append(envs, Environment{ID: id, ProjectID: projectID, AccountID: p.AccountID, Key: e.GetKey(), SDKKey: e.GetSdkKey()})
	}
	d.envs.Add(key, envs)
	return envs, nil
}

// Environment finds a project's environment by key; NotFound if absent.
func (d *Directory) Environment(ctx context.Context, projectID int64, key string) (Environment, error) {
	envs, err := d.Environments(ctx, projectID)
	if err != nil {
		return Environment{}, err
	}
	for _, e := range envs {
		if e.Key == key {
			return e, nil
		}
	}
	return Environment{}, apierr.NotFound("ENVIRONMENT_NOT_FOUND", "the project has no environment %q", key).With("environment_key", key)
}

// ResolveSDKKey finds the environment of an SDK key (no caller needed: the
// key is the credential). Unknown keys are NotFound and not cached.
func (d *Directory) ResolveSDKKey(ctx context.Context, sdkKey string) (Environment, error) {
	if e, ok := d.sdkKeys.Get(sdkKey); ok {
		return e, nil
	}
	v, err, _ := d.group.Do(sdkKey, func() (any, error) {
		// Detached from the first caller: every waiter shares the answer.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), callTimeout)
		defer cancel()
		resp, err := d.client.ResolveSdkKey(ctx, &identityv1.ResolveSdkKeyRequest{SdkKey: sdkKey})
		switch status.Code(err) {
		case codes.OK:
		case codes.NotFound, codes.InvalidArgument:
			return nil, apierr.NotFound("SDK_KEY_NOT_FOUND", "no environment has this SDK key")
		default:
			return nil, identityError(err)
		}
		env := resp.GetEnvironment()
		id, _ := strconv.ParseInt(env.GetId(), 10, 64)
		project, _ := strconv.ParseInt(env.GetProjectId(), 10, 64)
		e := Environment{ID: id, ProjectID: project, AccountID: resp.GetAccountId(), Key: env.GetKey(), SDKKey: env.GetSdkKey()}
		d.sdkKeys.Add(sdkKey, e)
		return e, nil
	})
	if err != nil {
		return Environment{}, err
	}
	return v.(Environment), nil
}

// identityError is the answer for identity failing to answer: an outage
// (UNAVAILABLE, DEADLINE_EXCEEDED) in the one backend-outage shape
// (apierr.FromBackend), the caller's own cancellation as such, anything else
// (identity's own error) as an unavailable dependency. The cause is joined
// for the log, never sent.
func identityError(err error) error {
	if e, ok := apierr.FromBackend(err, "identity", "project directory", callTimeout); ok {
		return errors.Join(e, err)
	}
	if status.Code(err) == codes.Canceled {
		return status.Error(codes.Canceled, "request canceled")
	}
	return errors.Join(apierr.Unavailable("IDENTITY_UNAVAILABLE", "cannot reach the identity service right now"), err)
}

func notFoundText(reason string) string {
	switch reason {
	case "PROJECT_NOT_FOUND":
		return "project not found"
	case "EXPERIMENT_NOT_FOUND":
		return "experiment not found"
	case "FLAG_NOT_FOUND":
		return "flag not found"
	case "LAYER_NOT_FOUND":
		return "layer not found"
	case "EVENT_NOT_FOUND":
		return "event not found"
	}
	return "not found"
}
