package grpcclient_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/liftlabs/lift/pkg/grpcclient"
	"github.com/liftlabs/lift/pkg/grpctest"
	"github.com/liftlabs/lift/pkg/requestid"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// flaky answers the first attempt of every call with UNAVAILABLE and counts
// attempts per method.
type flaky struct {
	identityv1.UnimplementedIdentityServiceServer
	getAttempts, createAttempts atomic.Int32
	seen                        chan metadata.MD
	hadDeadline                 atomic.Bool
}

func (f *flaky) GetProject(ctx context.Context, _ *identityv1.GetProjectRequest) (*identityv1.GetProjectResponse, error) {
	if f.getAttempts.Add(1) == 1 {
		return nil, status.Error(codes.Unavailable, "warming up")
	}
	return &identityv1.GetProjectResponse{Project: &identityv1.Project{Id: "1"}}, nil
}

func (f *flaky) CreateProject(context.Context, *identityv1.CreateProjectRequest) (*identityv1.CreateProjectResponse, error) {
	f.createAttempts.Add(1)
	return nil, status.Error(codes.Unavailable, "down")
}

func (f *flaky) ResolveSdkKey(ctx context.Context, _ *identityv1.ResolveSdkKeyRequest) (*identityv1.ResolveSdkKeyResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	_, ok := ctx.Deadline()
	f.hadDeadline.Store(ok)
	f.seen <- md
	return &identityv1.ResolveSdkKeyResponse{}, nil
}

func start(t *testing.T) (*flaky, identityv1.IdentityServiceClient) {
	f := &flaky{seen: make(chan metadata.MD, 1)}
	srv := grpc.NewServer()
	identityv1.RegisterIdentityServiceServer(srv, f)
	addr := grpctest.Start(t, srv)
	return f, identityv1.NewIdentityServiceClient(grpctest.Dial(t, addr))
}

func TestDial_IdempotentCallIsRetriedOnUnavailable(t *testing.T) {
	f, c := start(t)
	resp, err := c.GetProject(context.Background(), &identityv1.GetProjectRequest{ProjectId: "1"})
	if err != nil {
		t.Fatalf("GetProject: %v", err)
	}
	if resp.GetProject().GetId() != "1" {
		t.Fatalf("got %v", resp)
	}
	if n := f.getAttempts.Load(); n != 2 {
		t.Fatalf("attempts = %d, want 2", n)
	}
}

func TestDial_NonIdempotentCallIsNotRetried(t *testing.T) {
	f, c := start(t)
	_, err := c.CreateProject(context.Background(), &identityv1.CreateProjectRequest{})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("err = %v, want Unavailable", err)
	}
	if n := f.createAttempts.Load(); n != 1 {
		t.Fatalf("attempts = %d, want 1", n)
	}
}

func TestDial_PropagatesRequestIDCredentialAndDeadline(t *testing.T) {
	f, c := start(t)
	// ctx as a handler of another service sees it: incoming metadata plus
	// the request id the server interceptor adopted.
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer lift_pat_x"))
	ctx = requestid.WithID(ctx, "req-123")
	if _, err := c.ResolveSdkKey(ctx, &identityv1.ResolveSdkKeyRequest{SdkKey: "k"}); err != nil {
		t.Fatal(err)
	}
	md := <-f.seen
	if got := md.Get("x-request-id"); len(got) != 1 || got[0] != "req-123" {
		t.Errorf("x-request-id = %v", got)
	}
	if got := md.Get("authorization"); len(got) != 1 || got[0] != "Bearer lift_pat_x" {
		t.Errorf("authorization = %v", got)
	}
	if !f.hadDeadline.Load() {
		t.Error("call had no deadline")
	}
}

func TestIdempotent_Rule(t *testing.T) {
	sd := identityv1.File_lift_identity_v1_identity_proto.Services().ByName("IdentityService")
	want := map[protoreflect.Name]bool{
		"GetProject": true, "ListProjects": true, "ListEnvironments": true, "ListTokens": true,
		"AuthenticateToken": true, "ResolveSdkKey": true, "GetCaller": true,
		"BootstrapAccount": false, "CreateProject": false, "UpdateProject": false, "DeleteProject": false,
		"CreateToken": false, "RevokeToken": false, "CreateEnvironment": false,
	}
	for name, w := range want {
		if got := grpcclient.Idempotent(sd.Methods().ByName(name)); got != w {
			t.Errorf("Idempotent(%s) = %v, want %v", name, got, w)
		}
	}
}
