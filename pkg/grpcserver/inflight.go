package grpcserver

import (
	"context"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
)

// inFlight counts the RPCs being handled, by method: the saturation signal
// that the started/handled counters only give as a difference.
var inFlight = func() *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "lift_grpc_server_in_flight_requests",
		Help: "RPCs being handled right now, by service and method.",
	}, []string{"grpc_service", "grpc_method"})
	prometheus.MustRegister(g)
	return g
}()

func splitMethod(full string) (service, method string) {
	full = strings.TrimPrefix(full, "/")
	if i := strings.LastIndexByte(full, '/'); i >= 0 {
		return full[:i], full[i+1:]
	}
	return "unknown", full
}

func inFlightUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	g := inFlight.WithLabelValues(splitMethod(info.FullMethod))
	g.Inc()
	defer g.Dec()
	return handler(ctx, req)
}

func inFlightStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	g := inFlight.WithLabelValues(splitMethod(info.FullMethod))
	g.Inc()
	defer g.Dec()
	return handler(srv, ss)
}
