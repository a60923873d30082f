package v2

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"
)

// partSeconds is the latency of each backend call of a composite endpoint,
// registered once with the default registry (served on the admin /metrics).
// Compared with the endpoint's own latency (lift_grpc_server_handling_seconds)
// it shows whether a response waited for its slowest part or for more.
var partSeconds = sync.OnceValue(func() *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "lift_gateway_composite_part_seconds",
		Help:    "Latency of the backend calls of the /v2 composite endpoints, by endpoint, part and gRPC code.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"endpoint", "part", "code"})
	prometheus.MustRegister(h)
	return h
})

func observe(p part, c codes.Code, d time.Duration) {
	partSeconds().WithLabelValues(p.endpoint, p.name, code.Code_name[int32(c)]).Observe(d.Seconds())
}
