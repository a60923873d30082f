package auth

import (
	"context"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liftlabs/lift/pkg/apierr"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// fakeIdentity answers AuthenticateToken from a table, on a real loopback
// server (pkg cannot import the identity service).
type fakeIdentity struct {
	identityv1.UnimplementedIdentityServiceServer
	calls   atomic.Int32
	gate    chan struct{} // when non-nil, calls wait for it to close
	mu      sync.Mutex
	revoked map[string]bool
	down    bool
	// unreachable answers as a stopped identity looks to its client.
	unreachable bool
}

func (f *fakeIdentity) AuthenticateToken(_ context.Context, r *identityv1.AuthenticateTokenRequest) (*identityv1.AuthenticateTokenResponse, error) {
	f.calls.Add(1)
	if f.gate != nil {
		<-f.gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, status.Error(codes.Internal, "database down")
	}
	if f.unreachable {
		return nil, status.Error(codes.Unavailable, "connection refused by 10.0.0.7")
	}
	if r.GetToken() != "lift_pat_good" || f.revoked[r.GetToken()] {
		return nil, status.Error(codes.Unauthenticated, "no")
	}
	return &identityv1.AuthenticateTokenResponse{Principal: &identityv1.Principal{
		AccountId: "7", TokenId: "3", Scopes: []identityv1.Scope{identityv1.Scope_SCOPE_WRITE}}}, nil
}

func startFake(t *testing.T, f *fakeIdentity) identityv1.IdentityServiceClient {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	identityv1.RegisterIdentityServiceServer(srv, f)
	go srv.Serve(lis) //nolint:errcheck
	t.Cleanup(srv.Stop)
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return identityv1.NewIdentityServiceClient(cc)
}

// goroutinesIn counts goroutines whose stack contains fn.
func goroutinesIn(fn string) int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, fn) {
			n++
		}
	}
	return n
}

func TestIdentityAuthenticator_ConcurrentMissesShareOneCall(t *testing.T) {
	f := &fakeIdentity{gate: make(chan struct{})}
	a := newIdentityAuthenticator(startFake(t, f), time.Minute, time.Now)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			p, err := a.Authenticate(context.Background(), "lift_pat_good")
			if err == nil && p.AccountID != "7" {
				err = status.Error(codes.Internal, "wrong principal")
			}
			errs <- err
		})
	}
	// Release identity only once all n callers are inside singleflight.
	for goroutinesIn("singleflight.(*Group).Do(") < n {
		runtime.Gosched()
	}
	close(f.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := f.calls.Load(); got != 1 {
		t.Fatalf("identity calls = %d, want 1", got)
	}
}

func TestIdentityAuthenticator_RevocationVisibleAfterTTL(t *testing.T) {
	f := &fakeIdentity{revoked: map[string]bool{}}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	a := newIdentityAuthenticator(startFake(t, f), 10*time.Second, clock)
	ctx := context.Background()

	if _, err := a.Authenticate(ctx, "lift_pat_good"); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.revoked["lift_pat_good"] = true // revoked or expired: identity now says no
	f.mu.Unlock()

	now = now.Add(9 * time.Second)
	if _, err := a.Authenticate(ctx, "lift_pat_good"); err != nil {
		t.Fatalf("within TTL the cached answer stands: %v", err)
	}
	if got := f.calls.Load(); got != 1 {
		t.Fatalf("identity calls = %d, want 1 (cached)", got)
	}
	now = now.Add(2 * time.Second)
	if _, err := a.Authenticate(ctx, "lift_pat_good"); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("after TTL: %v, want Unauthenticated", err)
	}
}

func TestIdentityAuthenticator_RejectionIsCachedOutageIsNot(t *testing.T) {
	f := &fakeIdentity{}
	a := newIdentityAuthenticator(startFake(t, f), time.Minute, time.Now)
	ctx := context.Background()
	for range 3 {
		if _, err := a.Authenticate(ctx, "lift_pat_bad"); status.Code(err) != codes.Unauthenticated {
			t.Fatalf("got %v", err)
		}
	}
	if got := f.calls.Load(); got != 1 {
		t.Fatalf("identity calls = %d, want 1", got)
	}
	f.mu.Lock()
	f.down = true
	f.mu.Unlock()
	if _, err := a.Authenticate(ctx, "lift_pat_good"); status.Code(err) != codes.Unavailable {
		t.Fatalf("identity failing: %v, want Unavailable (fail closed)", err)
	}
	f.mu.Lock()
	f.down = false
	f.mu.Unlock()
	if _, err := a.Authenticate(ctx, "lift_pat_good"); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

func BenchmarkIdentityAuthenticator_CacheHit(b *testing.B) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer()
	identityv1.RegisterIdentityServiceServer(srv, &fakeIdentity{})
	go srv.Serve(lis) //nolint:errcheck
	defer srv.Stop()
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Close()
	a := newIdentityAuthenticator(identityv1.NewIdentityServiceClient(cc), time.Hour, time.Now)
	ctx := context.Background()
	if _, err := a.Authenticate(ctx, "lift_pat_good"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := a.Authenticate(ctx, "lift_pat_good"); err != nil {
				b.Error(err)
			}
		}
	})
}

// Identity being down is a backend outage in pkg/apierr's one shape (the
// /v2 endpoints report theirs the same way), without identity's message.
func TestIdentityAuthenticator_UnreachableIdentityIsBackendUnavailable(t *testing.T) {
	f := &fakeIdentity{unreachable: true}
	a := newIdentityAuthenticator(startFake(t, f), time.Minute, time.Now)
	_, err := a.Authenticate(context.Background(), "lift_pat_good")
	e, ok := apierr.As(err)
	if !ok || e.Code != codes.Unavailable || e.Reason != "BACKEND_UNAVAILABLE" ||
		e.Metadata["backend"] != "identity" || e.Metadata["part"] != "authentication" {
		t.Fatalf("identity unreachable: %v (metadata %v), want UNAVAILABLE BACKEND_UNAVAILABLE, backend identity, part authentication", err, e)
	}
	if strings.Contains(e.Message, "10.0.0.7") {
		t.Errorf("message reveals identity's answer: %q", e.Message)
	}
	f.mu.Lock()
	f.unreachable = false
	f.mu.Unlock()
	if _, err := a.Authenticate(context.Background(), "lift_pat_good"); err != nil {
		t.Fatalf("the outage was cached: %v", err)
	}
}
