package grpcserver_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"github.com/liftlabs/lift/pkg/apierr"
	"github.com/liftlabs/lift/pkg/grpcserver"
	"github.com/liftlabs/lift/pkg/grpctest"
	"github.com/liftlabs/lift/pkg/internal/fakeauth"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
)

// fake's GetProject behaves according to the project id it is asked for.
type fake struct {
	identityv1.UnimplementedIdentityServiceServer
	entered chan struct{}
	release chan struct{}
}

func (f *fake) GetProject(_ context.Context, r *identityv1.GetProjectRequest) (*identityv1.GetProjectResponse, error) {
	switch r.GetProjectId() {
	case "1": // block until released
		f.entered <- struct{}{}
		<-f.release
	case "2":
		panic("boom")
	case "3":
		return nil, errors.New("pq: secret driver detail")
	case "4":
		return nil, apierr.NotFound("PROJECT_NOT_FOUND", "project not found").With("project_id", "4")
	}
	return &identityv1.GetProjectResponse{Project: &identityv1.Project{Id: r.GetProjectId()}}, nil
}

func newServer() (*grpc.Server, *fake) {
	f := &fake{entered: make(chan struct{}, 1), release: make(chan struct{})}
	srv := grpcserver.New(grpcserver.Options{Authenticator: fakeauth.Authenticator{}})
	identityv1.RegisterIdentityServiceServer(srv, f)
	return srv, f
}

func authed(token string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
}

func TestServe_GracefulShutdownLetsInFlightRPCFinish(t *testing.T) {
	srv, f := newServer()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- grpcserver.Serve(ctx, srv, lis, nil) }()
	c := identityv1.NewIdentityServiceClient(grpctest.Dial(t, lis.Addr().String()))

	result := make(chan error, 1)
	go func() {
		_, err := c.GetProject(authed(fakeauth.Read), &identityv1.GetProjectRequest{ProjectId: "1"})
		result <- err
	}()
	<-f.entered
	cancel()
	// GracefulStop closes the listener first: once new connections are
	// refused, shutdown has begun while the handler is still blocked.
	for {
		conn, err := net.Dial("tcp", lis.Addr().String())
		if err != nil {
			break
		}
		conn.Close()
	}
	close(f.release)
	if err := <-result; err != nil {
		t.Fatalf("in-flight RPC: %v, want OK", err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

func client(t *testing.T) identityv1.IdentityServiceClient {
	srv, _ := newServer()
	return identityv1.NewIdentityServiceClient(grpctest.Dial(t, grpctest.Start(t, srv)))
}

func TestServer_PanicIsInternalWithRequestID(t *testing.T) {
	c := client(t)
	var hdr metadata.MD
	_, err := c.GetProject(authed(fakeauth.Read), &identityv1.GetProjectRequest{ProjectId: "2"}, grpc.Header(&hdr))
	if status.Code(err) != codes.Internal {
		t.Fatalf("err = %v, want Internal", err)
	}
	id := hdr.Get("x-request-id")
	if len(id) != 1 || !strings.Contains(status.Convert(err).Message(), id[0]) {
		t.Fatalf("message %q should carry request id %v", status.Convert(err).Message(), id)
	}
	// The server is still alive.
	if _, err := c.GetProject(authed(fakeauth.Read), &identityv1.GetProjectRequest{ProjectId: "9"}); err != nil {
		t.Fatal(err)
	}
}

func TestServer_UnknownErrorIsMaskedAndAcceptsClientRequestID(t *testing.T) {
	c := client(t)
	ctx := metadata.AppendToOutgoingContext(authed(fakeauth.Read), "x-request-id", "my-req-1")
	var hdr metadata.MD
	_, err := c.GetProject(ctx, &identityv1.GetProjectRequest{ProjectId: "3"}, grpc.Header(&hdr))
	st := status.Convert(err)
	if st.Code() != codes.Internal || strings.Contains(st.Message(), "secret") || !strings.Contains(st.Message(), "my-req-1") {
		t.Fatalf("got %v", err)
	}
	if got := hdr.Get("x-request-id"); len(got) != 1 || got[0] != "my-req-1" {
		t.Fatalf("x-request-id header = %v", got)
	}
}

func TestServer_APIErrorKeepsCodeReasonAndRequestID(t *testing.T) {
	c := client(t)
	_, err := c.GetProject(authed(fakeauth.Read), &identityv1.GetProjectRequest{ProjectId: "4"})
	st := status.Convert(err)
	if st.Code() != codes.NotFound {
		t.Fatalf("got %v", err)
	}
	var info *errdetails.ErrorInfo
	for _, d := range st.Details() {
		if i, ok := d.(*errdetails.ErrorInfo); ok {
			info = i
		}
	}
	if info == nil || info.GetReason() != "PROJECT_NOT_FOUND" || info.GetDomain() != "lift" ||
		info.GetMetadata()["project_id"] != "4" || info.GetMetadata()["request_id"] == "" {
		t.Fatalf("ErrorInfo = %v", info)
	}
}

func TestServer_ValidationErrorIsInvalidArgumentWithViolations(t *testing.T) {
	c := client(t)
	_, err := c.GetProject(authed(fakeauth.Read), &identityv1.GetProjectRequest{ProjectId: "abc"})
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("got %v", err)
	}
	var v *validate.Violations
	for _, d := range st.Details() {
		if x, ok := d.(*validate.Violations); ok {
			v = x
		}
	}
	if v == nil || len(v.GetViolations()) != 1 || v.GetViolations()[0].GetField().GetElements()[0].GetFieldName() != "project_id" {
		t.Fatalf("violations = %v", v)
	}
}

func TestServer_UnauthenticatedBeforeValidation(t *testing.T) {
	c := client(t)
	_, err := c.GetProject(context.Background(), &identityv1.GetProjectRequest{ProjectId: "abc"})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("got %v", err)
	}
}

func TestServer_HealthNeedsNoToken(t *testing.T) {
	srv, _ := newServer()
	cc := grpctest.Dial(t, grpctest.Start(t, srv))
	resp, err := healthpb.NewHealthClient(cc).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health = %v, %v", resp, err)
	}
}

func TestServer_ReflectionListsServicesWithoutToken(t *testing.T) {
	srv, _ := newServer()
	cc := grpctest.Dial(t, grpctest.Start(t, srv))
	stream, err := reflectionpb.NewServerReflectionClient(cc).ServerReflectionInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range resp.GetListServicesResponse().GetService() {
		found = found || s.GetName() == "lift.identity.v1.IdentityService"
	}
	if !found {
		t.Fatalf("services = %v", resp.GetListServicesResponse())
	}
}
