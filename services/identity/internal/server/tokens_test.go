package server_test

import (
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/liftlabs/lift/pkg/grpctest"
	"github.com/liftlabs/lift/pkg/pgtest"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"github.com/liftlabs/lift/services/identity/internal/server"
	"github.com/liftlabs/lift/services/identity/internal/store"
	"github.com/liftlabs/lift/services/identity/migrations"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTokens_SecretShownOnceNeverListed(t *testing.T) {
	e := start(t)
	a := e.account(t, "acme")
	exp := timestamppb.New(time.Now().Add(time.Hour))
	created, err := e.c.CreateToken(as(a.admin), &identityv1.CreateTokenRequest{
		Name: "ci", Scopes: []identityv1.Scope{identityv1.Scope_SCOPE_READ}, ExpireTime: exp})
	if err != nil {
		t.Fatal(err)
	}
	sec := created.GetSecret()
	if !strings.HasPrefix(sec, "lift_pat_") || !strings.HasPrefix(sec, created.GetToken().GetDisplayPrefix()) ||
		!created.GetToken().GetExpireTime().AsTime().Equal(exp.AsTime().Truncate(time.Microsecond)) {
		t.Fatalf("created = %v", created)
	}
	for _, size := range []int32{0, 1} {
		list, err := e.c.ListTokens(as(a.admin), &identityv1.ListTokensRequest{PageSize: size})
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := protojson.Marshal(list)
		for _, s := range []string{sec, a.admin, sec[len("lift_pat_")+4:]} {
			if strings.Contains(string(raw), s) {
				t.Fatalf("ListTokens leaks a secret: %s", raw)
			}
		}
		if size == 1 && (len(list.GetTokens()) != 1 || list.GetNextPageToken() == "") {
			t.Fatalf("page of 1 = %v", list)
		}
		if size == 0 && len(list.GetTokens()) != 2 {
			t.Fatalf("tokens = %v", list)
		}
	}
}

func TestRevokeToken_StopsTheTokenAtOnce(t *testing.T) {
	e := start(t)
	a := e.account(t, "acme")
	tok := e.token(t, a, identityv1.Scope_SCOPE_READ)
	if _, err := e.c.ListProjects(as(tok), &identityv1.ListProjectsRequest{}); err != nil {
		t.Fatal(err)
	}
	list, _ := e.c.ListTokens(as(a.admin), &identityv1.ListTokensRequest{})
	id := list.GetTokens()[1].GetId()
	r, err := e.c.RevokeToken(as(a.admin), &identityv1.RevokeTokenRequest{TokenId: id})
	if err != nil || r.GetToken().GetRevokeTime() == nil {
		t.Fatalf("revoke = %v, %v", r, err)
	}
	_, err = e.c.ListProjects(as(tok), &identityv1.ListProjectsRequest{})
	wantCode(t, err, codes.Unauthenticated)
	again, err := e.c.RevokeToken(as(a.admin), &identityv1.RevokeTokenRequest{TokenId: id})
	if err != nil || !again.GetToken().GetRevokeTime().AsTime().Equal(r.GetToken().GetRevokeTime().AsTime()) {
		t.Fatalf("revoking twice keeps the first time: %v, %v", again, err)
	}
}

func TestBootstrapAccount_SecretChecks(t *testing.T) {
	e := start(t)
	_, err := e.c.BootstrapAccount(t.Context(), &identityv1.BootstrapAccountRequest{BootstrapSecret: "wrong", AccountName: "x"})
	wantCode(t, err, codes.PermissionDenied)
	a := e.account(t, "acme")
	if !strings.HasPrefix(a.admin, "lift_pat_") {
		t.Fatalf("secret = %q", a.admin)
	}
}

func TestBootstrapAccount_DisabledWithoutSecret(t *testing.T) {
	t.Parallel()
	pool := pgtest.New(t, migrations.FS)
	srv := server.NewGRPCServer(store.New(pool), "", nil, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	c := identityv1.NewIdentityServiceClient(grpctest.Dial(t, grpctest.Start(t, srv)))
	_, err := c.BootstrapAccount(t.Context(), &identityv1.BootstrapAccountRequest{BootstrapSecret: "anything", AccountName: "x"})
	wantCode(t, err, codes.FailedPrecondition)
	if reason(err) != "BOOTSTRAP_DISABLED" {
		t.Fatalf("reason = %q", reason(err))
	}
}
