package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// startHealthServer serves grpc.health.v1 on loopback, as the services do.
func startHealthServer(t *testing.T) (addr string, h *health.Server) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	h = health.NewServer()
	healthpb.RegisterHealthServer(srv, h)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String(), h
}

func TestCheckGRPC(t *testing.T) {
	addr, h := startHealthServer(t)
	if err := checkGRPC(t.Context(), addr); err != nil {
		t.Fatalf("serving server: %v", err)
	}
	// What grpcserver.Serve does when draining after SIGTERM.
	h.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	if err := checkGRPC(t.Context(), addr); err == nil {
		t.Fatal("draining server reported healthy")
	}
}

func TestCheckGRPC_NothingListening(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	if err := checkGRPC(t.Context(), addr); err == nil {
		t.Fatal("closed port reported healthy")
	}
}

func TestCheckHTTP(t *testing.T) {
	ready := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !ready {
			http.Error(w, "backends unavailable", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	if err := checkHTTP(t.Context(), srv.URL+"/readyz"); err != nil {
		t.Fatalf("ready gateway: %v", err)
	}
	ready = false
	if err := checkHTTP(t.Context(), srv.URL+"/readyz"); err == nil {
		t.Fatal("503 reported healthy")
	}
}
