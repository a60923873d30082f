// Package health answers the gateway's probes: /healthz says the process
// serves HTTP, /readyz says this process can take requests (it is not
// draining nor saturated), and Backends (on the admin port) says whether
// every configured backend answers its grpc.health.v1 check.
//
// Readiness is about this process alone on purpose: if it followed the
// backends, one service down would make every gateway replica unready at
// once, a total outage, where the endpoints that do not need that service
// keep working.
package health

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/liftlabs/lift/gateway/internal/httperr"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// DefaultTimeout bounds each backend check, so a probe answers well within
// a typical probe timeout even when a backend hangs.
const DefaultTimeout = time.Second

// Backend is one service the gateway depends on.
type Backend struct {
	Name string
	Conn grpc.ClientConnInterface
}

// Live answers 200 while the process can serve HTTP; it checks nothing
// else, so a backend outage never gets the gateway restarted.
func Live() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]string{"status": "SERVING"})
	})
}

// Ready answers 200 while notReady returns "", else 503 NOT_READY in the
// standard error shape with the reason. It makes no call: probes are
// frequent and must stay cheap.
func Ready(notReady func() string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if why := notReady(); why != "" {
			httperr.Write(w, r, http.StatusServiceUnavailable,
				httperr.New(codes.Unavailable, "NOT_READY", "not ready: "+why, map[string]string{"reason": why}))
			return
		}
		writeJSON(w, map[string]string{"status": "SERVING"})
	})
}

// Backends checks every backend in parallel (grpc.health.v1 Check of the
// server's overall health, each within timeout) and answers 200 with each
// backend's state, or 503 in the standard error shape naming the backends
// that are not serving. It is the deep check for operators and start-up
// scripts, served on the admin port.
func Backends(backends []Backend, timeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		states := check(r.Context(), backends, timeout)
		var down []string
		for _, b := range backends {
			if states[b.Name] != healthpb.HealthCheckResponse_SERVING.String() {
				down = append(down, b.Name)
			}
		}
		if len(down) > 0 {
			st := httperr.New(codes.Unavailable, "NOT_READY", "not ready: "+strings.Join(down, ", ")+" not serving", states)
			httperr.Write(w, r, http.StatusServiceUnavailable, st)
			return
		}
		writeJSON(w, map[string]any{"status": "SERVING", "backends": states})
	})
}

// check returns each backend's state: a HealthCheckResponse status name,
// or the gRPC code of the failed check (e.g. UNAVAILABLE,
// DEADLINE_EXCEEDED).
func check(ctx context.Context, backends []Backend, timeout time.Duration) map[string]string {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var (
		mu     sync.Mutex
		wg     sync.WaitGroup
		states = make(map[string]string, len(backends))
	)
	for _, b := range backends {
		wg.Go(func() {
			state := healthpb.HealthCheckResponse_UNKNOWN.String()
			resp, err := healthpb.NewHealthClient(b.Conn).Check(ctx, &healthpb.HealthCheckRequest{})
			if err != nil {
				state = codeName(status.Code(err))
			} else {
				state = resp.GetStatus().String()
			}
			mu.Lock()
			states[b.Name] = state
			mu.Unlock()
		})
	}
	wg.Wait()
	return states
}

func codeName(c codes.Code) string {
	if name, ok := code.Code_name[int32(c)]; ok {
		return name
	}
	return c.String()
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}
