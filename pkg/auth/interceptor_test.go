package auth_test

import (
	"context"
	"testing"

	"github.com/liftlabs/lift/pkg/auth"
	"github.com/liftlabs/lift/pkg/grpcserver"
	"github.com/liftlabs/lift/pkg/grpctest"
	"github.com/liftlabs/lift/pkg/internal/fakeauth"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// open answers every call it implements with OK and records the principal.
type open struct {
	identityv1.UnimplementedIdentityServiceServer
	testgrpc.UnimplementedTestServiceServer
	last chan auth.Principal
}

func (o *open) record(ctx context.Context) {
	p, _ := auth.FromContext(ctx)
	select {
	case o.last <- p:
	default:
	}
}

func (o *open) GetProject(ctx context.Context, _ *identityv1.GetProjectRequest) (*identityv1.GetProjectResponse, error) {
	o.record(ctx)
	return &identityv1.GetProjectResponse{}, nil
}

func (o *open) DeleteProject(ctx context.Context, _ *identityv1.DeleteProjectRequest) (*identityv1.DeleteProjectResponse, error) {
	return &identityv1.DeleteProjectResponse{}, nil
}

func (o *open) ListTokens(ctx context.Context, _ *identityv1.ListTokensRequest) (*identityv1.ListTokensResponse, error) {
	return &identityv1.ListTokensResponse{}, nil
}

func (o *open) ResolveSdkKey(ctx context.Context, _ *identityv1.ResolveSdkKeyRequest) (*identityv1.ResolveSdkKeyResponse, error) {
	o.record(ctx)
	return &identityv1.ResolveSdkKeyResponse{}, nil
}

// EmptyCall belongs to a service without lift.options.v1.access.
func (o *open) EmptyCall(context.Context, *testgrpc.Empty) (*testgrpc.Empty, error) {
	return &testgrpc.Empty{}, nil
}

func setup(t *testing.T) (*open, identityv1.IdentityServiceClient, testgrpc.TestServiceClient) {
	o := &open{last: make(chan auth.Principal, 1)}
	srv := grpcserver.New(grpcserver.Options{Authenticator: fakeauth.Authenticator{}})
	identityv1.RegisterIdentityServiceServer(srv, o)
	testgrpc.RegisterTestServiceServer(srv, o)
	cc := grpctest.Dial(t, grpctest.Start(t, srv))
	return o, identityv1.NewIdentityServiceClient(cc), testgrpc.NewTestServiceClient(cc)
}

func withAuth(value string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", value)
}

func TestInterceptor_ScopeChecks(t *testing.T) {
	_, c, tc := setup(t)
	get := func(ctx context.Context) error {
		_, err := c.GetProject(ctx, &identityv1.GetProjectRequest{ProjectId: "1"})
		return err
	}
	del := func(ctx context.Context) error {
		_, err := c.DeleteProject(ctx, &identityv1.DeleteProjectRequest{ProjectId: "1"})
		return err
	}
	tokens := func(ctx context.Context) error {
		_, err := c.ListTokens(ctx, &identityv1.ListTokensRequest{})
		return err
	}
	unmarked := func(ctx context.Context) error {
		_, err := tc.EmptyCall(ctx, &testgrpc.Empty{})
		return err
	}
	cases := []struct {
		name string
		call func(context.Context) error
		auth string
		want codes.Code
	}{
		{"read token reads", get, "Bearer " + fakeauth.Read, codes.OK},
		{"read token cannot write", del, "Bearer " + fakeauth.Read, codes.PermissionDenied},
		{"write token writes", del, "Bearer " + fakeauth.Write, codes.OK},
		{"write token cannot admin", tokens, "Bearer " + fakeauth.Write, codes.PermissionDenied},
		{"admin token admins", tokens, "bearer " + fakeauth.Admin, codes.OK},
		{"method without option needs admin (write denied)", unmarked, "Bearer " + fakeauth.Write, codes.PermissionDenied},
		{"method without option needs admin (admin ok)", unmarked, "Bearer " + fakeauth.Admin, codes.OK},
		{"method without option without token", unmarked, "", codes.Unauthenticated},
		{"missing token", get, "", codes.Unauthenticated},
		{"unknown token", get, "Bearer lift_pat_nope", codes.Unauthenticated},
		{"wrong scheme", get, "Basic " + fakeauth.Read, codes.Unauthenticated},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.auth != "" {
				ctx = withAuth(tc.auth)
			}
			if got := status.Code(tc.call(ctx)); got != tc.want {
				t.Fatalf("code = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestInterceptor_UnauthenticatedMessagesAreIdentical(t *testing.T) {
	_, c, _ := setup(t)
	msgs := map[string]bool{}
	for _, ctx := range []context.Context{context.Background(), withAuth("Bearer lift_pat_nope"), withAuth("garbage")} {
		_, err := c.GetProject(ctx, &identityv1.GetProjectRequest{ProjectId: "1"})
		msgs[status.Convert(err).Message()] = true
	}
	if len(msgs) != 1 {
		t.Fatalf("messages differ: %v", msgs)
	}
}

func TestInterceptor_PublicMethodNeedsNoTokenButGetsPrincipal(t *testing.T) {
	o, c, _ := setup(t)
	if _, err := c.ResolveSdkKey(context.Background(), &identityv1.ResolveSdkKeyRequest{SdkKey: "k"}); err != nil {
		t.Fatal(err)
	}
	if p := <-o.last; p.AccountID != "" {
		t.Fatalf("principal without token: %+v", p)
	}
	if _, err := c.ResolveSdkKey(withAuth("Bearer "+fakeauth.Read), &identityv1.ResolveSdkKeyRequest{SdkKey: "k"}); err != nil {
		t.Fatal(err)
	}
	if p := <-o.last; p.AccountID != "1" {
		t.Fatalf("principal with token: %+v", p)
	}
}
