package grpcserver

import (
	"context"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// Lift's own server metrics, beside the grpc_server_started/handled
// counters of go-grpc-middleware: the RPCs in flight (saturation, which the
// counters only give as a difference) and the latency by final code, which
// that library's histogram cannot label (fast errors and slow successes
// must not share one distribution).
var (
	inFlight = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "lift_grpc_server_in_flight_requests",
		Help: "RPCs being handled right now, by service and method.",
	}, []string{"grpc_service", "grpc_method"})
	handlingSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "lift_grpc_server_handling_seconds",
		Help:    "Time to handle an RPC, by service, method and final code.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"grpc_service", "grpc_method", "grpc_code"})
)

func init() { prometheus.MustRegister(inFlight, handlingSeconds) }

func splitMethod(full string) (service, method string) {
	full = strings.TrimPrefix(full, "/")
	if i := strings.LastIndexByte(full, '/'); i >= 0 {
		return full[:i], full[i+1:]
	}
	return "unknown", full
}

// observe counts an RPC in flight and, when it ends, its latency by code.
func observe(fullMethod string) (done func(error)) {
	svc, m := splitMethod(fullMethod)
	g := inFlight.WithLabelValues(svc, m)
	g.Inc()
	start := time.Now()
	return func(err error) {
		g.Dec()
		handlingSeconds.WithLabelValues(svc, m, status.Code(err).String()).Observe(time.Since(start).Seconds())
	}
}

func metricsUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	done := observe(info.FullMethod)
	resp, err := handler(ctx, req)
	done(err)
	return resp, err
}

func metricsStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	done := observe(info.FullMethod)
	err := handler(srv, ss)
	done(err)
	return err
}
