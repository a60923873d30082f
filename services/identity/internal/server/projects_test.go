package server_test

import (
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/liftlabs/lift/pkg/grpcclient"
	"github.com/liftlabs/lift/pkg/grpctest"
	"github.com/liftlabs/lift/pkg/pgtest"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"github.com/liftlabs/lift/services/identity/internal/server"
	"github.com/liftlabs/lift/services/identity/internal/store"
	"github.com/liftlabs/lift/services/identity/migrations"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

func TestCreateProject_DefaultsAndEnvironments(t *testing.T) {
	e := start(t)
	a := e.account(t, "acme")
	p := e.project(t, a.admin, "Web")
	if p.GetAccountId() != a.id || p.GetSettings().GetConfidenceLevel() != 0.95 ||
		p.GetSettings().GetStatsMethod() != identityv1.StatsMethod_STATS_METHOD_SEQUENTIAL || p.GetEtag() == "" {
		t.Fatalf("project = %v", p)
	}
	got, err := e.c.GetProject(as(a.admin), &identityv1.GetProjectRequest{ProjectId: p.GetId()})
	if err != nil || got.GetProject().GetName() != "Web" {
		t.Fatalf("get = %v, %v", got, err)
	}
	envs, err := e.c.ListEnvironments(as(a.admin), &identityv1.ListEnvironmentsRequest{ProjectId: p.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if len(envs.GetEnvironments()) != 2 || envs.GetEnvironments()[0].GetKey() != "production" || envs.GetEnvironments()[1].GetKey() != "development" {
		t.Fatalf("environments = %v", envs)
	}
	for _, env := range envs.GetEnvironments() {
		r, err := e.c.ResolveSdkKey(t.Context(), &identityv1.ResolveSdkKeyRequest{SdkKey: env.GetSdkKey()})
		if err != nil || r.GetEnvironment().GetId() != env.GetId() || r.GetAccountId() != a.id {
			t.Fatalf("resolve %s = %v, %v", env.GetSdkKey(), r, err)
		}
	}
	_, err = e.c.ResolveSdkKey(t.Context(), &identityv1.ResolveSdkKeyRequest{SdkKey: "nope"})
	wantCode(t, err, codes.NotFound)
}

func TestListProjects_PagesWithoutGapsOrDuplicates(t *testing.T) {
	e := start(t)
	a := e.account(t, "acme")
	var want []string
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		want = append(want, e.project(t, a.admin, n).GetId())
	}
	e.project(t, e.account(t, "other").admin, "not mine")
	var got []string
	token := ""
	for pages := 0; ; pages++ {
		resp, err := e.c.ListProjects(as(a.admin), &identityv1.ListProjectsRequest{PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range resp.GetProjects() {
			got = append(got, p.GetId())
		}
		if token = resp.GetNextPageToken(); token == "" {
			if pages != 2 {
				t.Fatalf("pages = %d, want 3", pages+1)
			}
			break
		}
	}
	if len(got) != len(want) {
		t.Fatalf("ids = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ids = %v, want %v", got, want)
		}
	}
	resp, err := e.c.ListProjects(as(a.admin), &identityv1.ListProjectsRequest{})
	if err != nil || len(resp.GetProjects()) != 5 || resp.GetNextPageToken() != "" {
		t.Fatalf("default page = %d projects, next %q, %v", len(resp.GetProjects()), resp.GetNextPageToken(), err)
	}
	_, err = e.c.ListProjects(as(a.admin), &identityv1.ListProjectsRequest{PageToken: "garbage"})
	wantCode(t, err, codes.InvalidArgument)
}

func TestUpdateProject_FieldMaskAndEtag(t *testing.T) {
	e := start(t)
	a := e.account(t, "acme")
	p := e.project(t, a.admin, "Web")

	// Only the masked field changes, even though name is sent empty.
	resp, err := e.c.UpdateProject(as(a.admin), &identityv1.UpdateProjectRequest{
		Project:    &identityv1.Project{Id: p.GetId(), Description: "new", Etag: p.GetEtag(), Settings: &identityv1.ProjectSettings{ConfidenceLevel: 0.9}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description", "settings.confidence_level"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	u := resp.GetProject()
	if u.GetName() != "Web" || u.GetDescription() != "new" || u.GetSettings().GetConfidenceLevel() != 0.9 ||
		u.GetSettings().GetStatsMethod() != identityv1.StatsMethod_STATS_METHOD_SEQUENTIAL || u.GetEtag() == p.GetEtag() {
		t.Fatalf("updated = %v", u)
	}

	// The first etag is stale now.
	_, err = e.c.UpdateProject(as(a.admin), &identityv1.UpdateProjectRequest{
		Project:    &identityv1.Project{Id: p.GetId(), Name: "X", Etag: p.GetEtag()},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}},
	})
	wantCode(t, err, codes.Aborted)
	if reason(err) != "ETAG_MISMATCH" {
		t.Fatalf("reason = %q", reason(err))
	}

	// Resetting settings to zero restores the defaults.
	resp, err = e.c.UpdateProject(as(a.admin), &identityv1.UpdateProjectRequest{
		Project:    &identityv1.Project{Id: p.GetId(), Etag: u.GetEtag()},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"settings"}},
	})
	if err != nil || resp.GetProject().GetSettings().GetConfidenceLevel() != 0.95 {
		t.Fatalf("reset settings = %v, %v", resp, err)
	}

	for name, req := range map[string]*identityv1.UpdateProjectRequest{
		"unknown path": {Project: &identityv1.Project{Id: p.GetId()}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"account_id"}}},
		"empty mask":   {Project: &identityv1.Project{Id: p.GetId()}, UpdateMask: &fieldmaskpb.FieldMask{}},
		"empty name":   {Project: &identityv1.Project{Id: p.GetId()}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}}},
		"no id":        {Project: &identityv1.Project{Name: "x"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.c.UpdateProject(as(a.admin), req)
			wantCode(t, err, codes.InvalidArgument)
		})
	}
}

func TestDeleteProject_RemovesProjectAndEnvironments(t *testing.T) {
	e := start(t)
	a := e.account(t, "acme")
	p := e.project(t, a.admin, "Web")
	if _, err := e.c.DeleteProject(as(a.admin), &identityv1.DeleteProjectRequest{ProjectId: p.GetId()}); err != nil {
		t.Fatal(err)
	}
	_, err := e.c.GetProject(as(a.admin), &identityv1.GetProjectRequest{ProjectId: p.GetId()})
	wantCode(t, err, codes.NotFound)
	_, err = e.c.DeleteProject(as(a.admin), &identityv1.DeleteProjectRequest{ProjectId: p.GetId()})
	wantCode(t, err, codes.NotFound)
	var n int
	if err := e.pool.QueryRow(t.Context(), "SELECT count(*) FROM environments").Scan(&n); err != nil || n != 0 {
		t.Fatalf("environments left = %d, %v", n, err)
	}
}

func TestCreateEnvironment_DuplicateKeyIsAlreadyExists(t *testing.T) {
	e := start(t)
	a := e.account(t, "acme")
	p := e.project(t, a.admin, "Web")
	resp, err := e.c.CreateEnvironment(as(a.admin), &identityv1.CreateEnvironmentRequest{
		ProjectId: p.GetId(), Environment: &identityv1.Environment{Key: "staging", Name: "Staging"}})
	if err != nil || resp.GetEnvironment().GetSdkKey() == "" || resp.GetEnvironment().GetProjectId() != p.GetId() {
		t.Fatalf("create = %v, %v", resp, err)
	}
	_, err = e.c.CreateEnvironment(as(a.admin), &identityv1.CreateEnvironmentRequest{
		ProjectId: p.GetId(), Environment: &identityv1.Environment{Key: "production"}})
	wantCode(t, err, codes.AlreadyExists)
	if reason(err) != "ENVIRONMENT_EXISTS" {
		t.Fatalf("reason = %q", reason(err))
	}
}

func TestDeleteProject_RefusesWhileExperimentsHoldsItsData(t *testing.T) {
	e := start(t)
	a := e.account(t, "acme")
	p := e.project(t, a.admin, "Web")
	e.usage.set(p.GetId(), &experimentsv1.GetProjectUsageResponse{Flags: 2, Experiments: 1})
	_, err := e.c.DeleteProject(as(a.admin), &identityv1.DeleteProjectRequest{ProjectId: p.GetId()})
	wantCode(t, err, codes.FailedPrecondition)
	if reason(err) != "PROJECT_NOT_EMPTY" {
		t.Fatalf("reason = %q", reason(err))
	}
	if msg := status.Convert(err).Message(); !strings.Contains(msg, "2 flags, 1 experiments") {
		t.Fatalf("message = %q, want the counts", msg)
	}
	if _, err := e.c.GetProject(as(a.admin), &identityv1.GetProjectRequest{ProjectId: p.GetId()}); err != nil {
		t.Fatalf("refused project is gone: %v", err)
	}

	// An audience alone is enough to refuse; nothing left lets it go.
	e.usage.set(p.GetId(), &experimentsv1.GetProjectUsageResponse{Audiences: 1})
	_, err = e.c.DeleteProject(as(a.admin), &identityv1.DeleteProjectRequest{ProjectId: p.GetId()})
	wantCode(t, err, codes.FailedPrecondition)
	e.usage.set(p.GetId(), &experimentsv1.GetProjectUsageResponse{})
	if _, err := e.c.DeleteProject(as(a.admin), &identityv1.DeleteProjectRequest{ProjectId: p.GetId()}); err != nil {
		t.Fatal(err)
	}
}

func TestDeleteProject_ForeignProjectIsNotFoundWithoutAskingExperiments(t *testing.T) {
	e := start(t)
	mine, theirs := e.account(t, "mine"), e.account(t, "theirs")
	p := e.project(t, theirs.admin, "Web")
	_, err := e.c.DeleteProject(as(mine.admin), &identityv1.DeleteProjectRequest{ProjectId: p.GetId()})
	wantCode(t, err, codes.NotFound)
	e.usage.mu.Lock()
	defer e.usage.mu.Unlock()
	if len(e.usage.asked) != 0 {
		t.Fatalf("experiments asked about %v for a foreign project", e.usage.asked)
	}
}

func TestDeleteProject_ExperimentsUnreachableIsBackendUnavailableAndKeepsTheProject(t *testing.T) {
	t.Parallel()
	pool := pgtest.New(t, migrations.FS)
	// A port nobody listens on: reserved, then released.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := lis.Addr().String()
	_ = lis.Close()
	cc, err := grpcclient.Dial("dns:///"+dead, grpcclient.WithTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	srv := server.NewGRPCServer(store.New(pool), bootstrapSecret, experimentsv1.NewExperimentsServiceClient(cc), slog.New(slog.NewJSONHandler(io.Discard, nil)))
	e := &env{c: identityv1.NewIdentityServiceClient(grpctest.Dial(t, grpctest.Start(t, srv))), pool: pool}
	a := e.account(t, "acme")
	p := e.project(t, a.admin, "Web")
	_, err = e.c.DeleteProject(as(a.admin), &identityv1.DeleteProjectRequest{ProjectId: p.GetId()})
	wantCode(t, err, codes.Unavailable)
	if reason(err) != "BACKEND_UNAVAILABLE" {
		t.Fatalf("reason = %q", reason(err))
	}
	if _, err := e.c.GetProject(as(a.admin), &identityv1.GetProjectRequest{ProjectId: p.GetId()}); err != nil {
		t.Fatalf("project deleted without the check: %v", err)
	}
}
