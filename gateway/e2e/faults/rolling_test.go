package faults

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liftlabs/lift/pkg/grpcclient"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"github.com/liftlabs/lift/services/identity/identitytest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
)

// TestFault_RollingRestartFailsNoRequest replaces both replicas of a
// service one after the other while four clients call it through one
// grpcclient connection (round_robin over the addresses its resolver
// gives, as with a Kubernetes headless service): a replica is stopped the
// way SIGTERM stops it, while the client still lists it, then a new one is
// started and the address list updated. Reads and writes (which are never
// retried) all succeed: a stopping replica finishes what it has and
// refuses nothing the client then cannot send elsewhere.
func TestFault_RollingRestartFailsNoRequest(t *testing.T) {
	env := identitytest.Start(t)
	acct := env.NewAccount(t)
	project := env.CreateProject(t, acct.AdminToken, "web")

	a1, stop1 := env.StartReplica(t)
	a2, stop2 := env.StartReplica(t)
	r := manual.NewBuilderWithScheme("rolling")
	r.InitialState(resolver.State{Addresses: []resolver.Address{{Addr: a1}, {Addr: a2}}})
	cc, err := grpcclient.Dial(r.Scheme()+":///identity", grpcclient.WithDialOptions(grpc.WithResolvers(r)))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	c := identityv1.NewIdentityServiceClient(cc)
	ctx := identitytest.WithToken(context.Background(), acct.AdminToken)

	var sent, failed atomic.Int64
	var mu sync.Mutex
	served := map[string]int{}
	var firstErr error
	stop := load(4, func(w int) {
		var p peer.Peer
		var err error
		n := sent.Add(1)
		if n%2 == 0 {
			_, err = c.GetProject(ctx, &identityv1.GetProjectRequest{ProjectId: project.GetId()}, grpc.Peer(&p))
		} else { // a write: never retried by the client
			_, err = c.CreateProject(ctx, &identityv1.CreateProjectRequest{Project: &identityv1.Project{Name: fmt.Sprintf("p%d", n)}}, grpc.Peer(&p))
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failed.Add(1)
			if firstErr == nil {
				firstErr = err
			}
			return
		}
		if p.Addr != nil {
			served[p.Addr.String()]++
		}
	})
	servedBy := func(addr string) int { mu.Lock(); defer mu.Unlock(); return served[addr] }
	more := func(addr string, n int) {
		t.Helper()
		base := servedBy(addr)
		waitFor(t, 30*time.Second, fmt.Sprintf("%d calls served by %s", n, addr), func() bool { return servedBy(addr) >= base+n })
	}
	more(a1, 20)
	more(a2, 20)

	stop1() // old replica 1 goes; the client still lists it
	a3, stop3 := env.StartReplica(t)
	r.UpdateState(resolver.State{Addresses: []resolver.Address{{Addr: a2}, {Addr: a3}}})
	more(a3, 20)
	stop2() // old replica 2 goes
	a4, _ := env.StartReplica(t)
	r.UpdateState(resolver.State{Addresses: []resolver.Address{{Addr: a3}, {Addr: a4}}})
	more(a4, 20)
	more(a3, 20)
	stop()
	stop3()

	mu.Lock()
	defer mu.Unlock()
	t.Logf("rolling restart of 2 replicas (%s, %s → %s, %s): %d calls sent (half of them writes), %d failed; served per replica %v",
		a1, a2, a3, a4, sent.Load(), failed.Load(), served)
	if failed.Load() != 0 {
		t.Errorf("%d of %d calls failed during the rolling restart; first: %v", failed.Load(), sent.Load(), firstErr)
	}
}
