// Package grpctest serves a gRPC server on a loopback port for a test and
// dials it with the production client settings.
package grpctest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/liftlabs/lift/pkg/grpcclient"
	"github.com/liftlabs/lift/pkg/grpcserver"
	"github.com/liftlabs/lift/pkg/logging"
	"github.com/liftlabs/lift/pkg/servicecred"
	"google.golang.org/grpc"
)

// ServiceCredential is the service credential (pkg/servicecred) of every
// test process that imports grpctest: the servers and clients it starts
// are Lift's services to each other, as in a deployment. A test that plays
// an outsider dials without pkg/grpcclient.
const ServiceCredential = "lift-test-service-credential-0123456789abcdef"

func init() { servicecred.Set(ServiceCredential) }

// Start serves srv on 127.0.0.1:0 until the test ends (graceful stop in
// Cleanup) and returns its address.
func Start(t testing.TB, srv *grpc.Server) string {
	t.Helper()
	return StartOn(t, srv, "127.0.0.1:0")
}

// StartOn is Start on a given address, e.g. the address of a server the
// test stopped, to restart a service where its clients expect it. A port
// just released may take a moment to be free again; StartOn retries for a
// few seconds.
func StartOn(t testing.TB, srv *grpc.Server, addr string) string {
	t.Helper()
	addr, _ = serve(t, srv, addr)
	return addr
}

// StartStoppable is Start, plus a function that stops the server the way
// SIGTERM stops a service (grpcserver.Serve: health NOT_SERVING, new RPCs
// refused, in-flight ones finish) and returns when it has stopped; a
// rolling restart stops replicas with it.
func StartStoppable(t testing.TB, srv *grpc.Server) (addr string, stop func()) {
	t.Helper()
	return serve(t, srv, "127.0.0.1:0")
}

func serve(t testing.TB, srv *grpc.Server, addr string) (string, func()) {
	t.Helper()
	var lis net.Listener
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if lis, err = net.Listen("tcp", addr); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("grpctest: listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- grpcserver.Serve(ctx, srv, lis, nil) }()
	stop := sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("grpctest: serve: %v", err)
		}
	})
	t.Cleanup(stop)
	return lis.Addr().String(), stop
}

// Dial connects to addr with grpcclient.Dial (retries, deadlines,
// propagation as in production) and closes the connection in Cleanup.
func Dial(t testing.TB, addr string, opts ...grpcclient.Option) *grpc.ClientConn {
	t.Helper()
	cc, err := grpcclient.Dial("dns:///"+addr, opts...)
	if err != nil {
		t.Fatalf("grpctest: dial: %v", err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// Logger is the logger a test harness gives the server it starts: the same
// JSON lines a binary prints (logging.NewTo), at debug level so nothing is
// hidden, written to capture when it is not nil (tests that assert on logs,
// e.g. that no secret is ever logged) and to stderr when LIFT_TEST_LOG is
// set; otherwise discarded.
func Logger(service string, capture io.Writer) *slog.Logger {
	var ws []io.Writer
	if capture != nil {
		ws = append(ws, capture)
	}
	if os.Getenv("LIFT_TEST_LOG") != "" {
		ws = append(ws, os.Stderr)
	}
	if len(ws) == 0 {
		return slog.New(slog.DiscardHandler)
	}
	return logging.NewTo(io.MultiWriter(ws...), service, "debug")
}
