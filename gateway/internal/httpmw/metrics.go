package httpmw

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

var (
	httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lift_http_requests_total",
		Help: "HTTP requests answered by the gateway, by route pattern, method and status.",
	}, []string{"route", "method", "status"})
	httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "lift_http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by route pattern, method and status.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route", "method", "status"})
	httpInFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "lift_http_requests_in_flight",
		Help: "HTTP requests being answered right now.",
	})
)

func init() { prometheus.MustRegister(httpRequests, httpDuration, httpInFlight) }

type routeKey struct{}

// route is filled in by whichever router matched the request.
type route struct{ pattern string }

// SetRoute records the pattern that matched the request (e.g.
// "/v1/experiments/{experiment_id}/results"): it labels the request's
// metrics and names its trace span. The first (innermost, most precise)
// router to call it wins.
func SetRoute(ctx context.Context, pattern string) {
	r, ok := ctx.Value(routeKey{}).(*route)
	if !ok || r.pattern != "" || pattern == "" {
		return
	}
	r.pattern = pattern
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetAttributes(attribute.String("http.route", pattern))
	}
}

// Routed wraps a ServeMux so that, when no inner router recorded a more
// precise route, the mux's own pattern is used.
func Routed(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		SetRoute(r.Context(), r.Pattern) // ServeMux sets r.Pattern on the request it was given
	})
}

// Metrics counts requests and their latency by route, method and status,
// and the requests in flight. Methods are few (the routers answer 405 to
// others), routes are patterns, so the label sets stay small.
//
// routes is the gateway's top-level router. A request refused before it
// was routed (429 rate limited, 503 overloaded, 413 by Content-Length) is
// labelled with the pattern routes would have given it: exact for the
// endpoints routes serves itself (SDK, probes, docs), the API prefix
// ("/v1/", "/v2/") for the API, whose precise pattern only the API's own
// router knows once the request is admitted. Matching happens only for
// such requests, after the fact, so the admitted path pays nothing for it.
func Metrics(routes *http.ServeMux) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			httpInFlight.Inc()
			defer httpInFlight.Dec()
			start := time.Now()
			rt := &route{}
			ctx := context.WithValue(r.Context(), routeKey{}, rt)
			rec := &recorder{ResponseWriter: w, status: http.StatusOK}
			next.ServeHTTP(rec, r.WithContext(ctx))
			if rt.pattern == "" {
				SetRoute(ctx, wouldMatch(routes, r))
			}
			pattern := rt.pattern
			if pattern == "" {
				pattern = "unmatched"
			}
			if span := trace.SpanFromContext(r.Context()); span.IsRecording() && rt.pattern != "" {
				span.SetName(r.Method + " " + rt.pattern)
			}
			labels := prometheus.Labels{"route": pattern, "method": method(r.Method), "status": strconv.Itoa(rec.status)}
			httpRequests.With(labels).Inc()
			httpDuration.With(labels).Observe(time.Since(start).Seconds())
		})
	}
}

// wouldMatch is the pattern routes would serve r with, or "" if none.
// CONNECT is left out: for it ServeMux.Handler may answer with the
// request's own path rather than a registered pattern, which as a label
// would let clients grow the series without bound.
func wouldMatch(routes *http.ServeMux, r *http.Request) string {
	if routes == nil || r.Method == http.MethodConnect {
		return ""
	}
	_, pattern := routes.Handler(r)
	return pattern
}

// method keeps the label set bounded: a client can send any method name.
func method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}
