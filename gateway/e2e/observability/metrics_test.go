package observability

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/liftlabs/lift/gateway/gatewaytest"
	"github.com/liftlabs/lift/gateway/internal/sdk"
	"github.com/liftlabs/lift/gateway/internal/stacktest"
	"github.com/liftlabs/lift/pkg/admin"
	"github.com/liftlabs/lift/pkg/pg"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMetrics_AdminEndpointExportsTrafficFigures drives traffic through
// the stack (all of it in this process, so one /metrics shows every layer)
// and reads the admin port's /metrics before and after: the request,
// latency, pool and ingestion figures must have grown by what was sent.
func TestMetrics_AdminEndpointExportsTrafficFigures(t *testing.T) {
	s := stacktest.Start(t)
	// The binaries register their pool in main; here the results pool
	// stands for all three.
	defer pg.RegisterPoolMetrics(s.Results.Pool)()
	adminSrv := httptest.NewServer(admin.Handler())
	defer adminSrv.Close()

	before := scrape(t, adminSrv.URL)
	e := s.CreateExperiment(t, "purchase")
	s.Must(t, "POST", "/v1/experiments/"+e.ID+":start", s.Admin, "{}", http.StatusOK, nil)
	events := "/v1/events?sdk_key=" + s.SDKKey(t, "production")
	const visitors = 20
	batch := s.SDKBatch(t, e, "v", visitors)
	for range 2 { // the second time, every event is a duplicate
		if resp := s.GW.Do(t, "POST", events, "", batch); resp.Status != http.StatusNoContent {
			t.Fatalf("events: %d %s", resp.Status, resp.Body)
		}
	}
	if resp := s.GW.Do(t, "POST", events, "", `{"visitors":[{}]}`); resp.Status != http.StatusBadRequest {
		t.Fatalf("malformed batch: %d %s", resp.Status, resp.Body)
	}
	const reads = 3
	for range reads {
		s.Must(t, "GET", "/v1/experiments/"+e.ID+"/results", s.Read, nil, http.StatusOK, nil)
	}
	s.Must(t, "GET", "/v1/experiments/999999", s.Read, nil, http.StatusNotFound, nil)
	s.Must(t, "GET", "/v2/experiments/"+e.ID+"/results", s.Read, nil, http.StatusOK, nil)
	after := scrape(t, adminSrv.URL)

	resultsRoute := map[string]string{"route": "/v1/experiments/{experiment_id}/results", "method": "GET", "status": "200"}
	rpc := map[string]string{"grpc_service": "lift.results.v1.ResultsService", "grpc_method": "GetExperimentResults", "grpc_code": "OK"}
	rpcNoCode := map[string]string{"grpc_service": "lift.results.v1.ResultsService", "grpc_method": "GetExperimentResults"}
	db := map[string]string{"database": s.Results.Pool.Config().ConnConfig.Database}
	checks := []struct {
		name   string
		labels map[string]string
		min    float64
	}{
		// gateway HTTP
		{"lift_http_requests_total", resultsRoute, reads},
		{"lift_http_request_duration_seconds", resultsRoute, reads}, // histogram: its count
		{"lift_http_requests_total", map[string]string{"route": "/v1/experiments/{experiment_id}", "status": "404"}, 1},
		{"lift_http_requests_total", map[string]string{"route": "/v1/events", "method": "POST", "status": "204"}, 2},
		{"lift_http_requests_total", map[string]string{"route": "/v2/experiments/{experiment_id}/results", "status": "200"}, 1},
		// the composite endpoint's backend calls, one series per part
		{"lift_gateway_composite_part_seconds", nil, 3},
		// gRPC, server and client side (the gateway's calls)
		{"grpc_server_handled_total", rpc, reads},
		{"lift_grpc_server_handling_seconds", rpc, reads},
		{"lift_grpc_server_handling_seconds", map[string]string{"grpc_method": "GetExperiment", "grpc_code": "NotFound"}, 1},
		{"grpc_client_handled_total", rpc, reads},
		{"grpc_client_handling_seconds", rpcNoCode, reads},
		// the results database pool
		{"lift_pg_pool_acquires_total", db, 1},
		{"lift_pg_pool_new_connections_total", db, 1},
		// ingestion
		{"lift_results_ingested_events_total", map[string]string{"outcome": "accepted"}, 2 * visitors},
		{"lift_results_ingested_events_total", map[string]string{"outcome": "duplicate"}, 2 * visitors},
		{"lift_results_ingested_batches_total", map[string]string{"outcome": "accepted"}, 2},
		{"lift_results_ingested_batches_total", map[string]string{"outcome": "rejected"}, 1},
	}
	for _, c := range checks {
		grew := value(after, c.name, c.labels) - value(before, c.name, c.labels)
		t.Logf("%s%v grew by %g", c.name, c.labels, grew)
		if grew < c.min {
			t.Errorf("%s%v grew by %g, want at least %g", c.name, c.labels, grew, c.min)
		}
	}
	// Gauges: present (their value after the traffic is whatever is in
	// flight or open now).
	for _, name := range []string{"lift_http_requests_in_flight", "lift_grpc_server_in_flight_requests", "lift_pg_pool_total_connections", "lift_pg_pool_max_connections"} {
		if _, ok := after[name]; !ok {
			t.Errorf("%s is not exported", name)
		}
	}
	if value(after, "lift_pg_pool_max_connections", db) < 1 {
		t.Errorf("lift_pg_pool_max_connections = %g", value(after, "lift_pg_pool_max_connections", db))
	}
}

// TestMetrics_RefusedRequestsCarryTheirRoute: requests refused before
// routing (429 rate limited, 413 by Content-Length) are counted under the
// pattern the gateway's router would have served them with, not under one
// catch-all label: exact for the SDK endpoints, the API prefix for the API.
func TestMetrics_RefusedRequestsCarryTheirRoute(t *testing.T) {
	// A rate that refills one token per 1000 s: within the test a bucket
	// holds exactly its burst.
	const glacial = 0.001
	s := stacktest.Start(t, stacktest.Options{Gateway: []gatewaytest.Option{
		gatewaytest.WithRateLimits(gatewaytest.RatePolicy{RPS: glacial, Burst: 3}, gatewaytest.RatePolicy{RPS: glacial, Burst: 1}),
		gatewaytest.WithFailureRateLimit(gatewaytest.RatePolicy{RPS: glacial, Burst: 1}),
		gatewaytest.WithSDKMaxBodyBytes(64),
	}})
	adminSrv := httptest.NewServer(admin.Handler())
	defer adminSrv.Close()

	before := scrape(t, adminSrv.URL)
	project := "/v1/projects/" + s.ProjectID
	for range 3 { // the read token's burst
		s.Must(t, "GET", project, s.Read, nil, http.StatusOK, nil)
	}
	s.Must(t, "GET", project, s.Read, nil, http.StatusTooManyRequests, nil)
	// An unknown SDK key spends the address's failure burst (404); the
	// next is refused before any lookup. A declared oversize body is
	// refused before its key is looked at.
	s.Must(t, "GET", "/datafiles/no-such-key.json", "", nil, http.StatusNotFound, nil)
	s.Must(t, "GET", "/datafiles/no-such-key.json", "", nil, http.StatusTooManyRequests, nil)
	s.Must(t, "POST", "/v1/events?sdk_key=other-key", "", strings.Repeat(" ", 65)+"{}", http.StatusRequestEntityTooLarge, nil)
	after := scrape(t, adminSrv.URL)

	checks := []struct {
		labels map[string]string
		want   float64
	}{
		{map[string]string{"route": "/v1/projects/{project_id}", "method": "GET", "status": "200"}, 3},
		{map[string]string{"route": "/v1/", "method": "GET", "status": "429"}, 1},
		{map[string]string{"route": sdk.DatafilePattern, "method": "GET", "status": "404"}, 1},
		{map[string]string{"route": sdk.DatafilePattern, "method": "GET", "status": "429"}, 1},
		{map[string]string{"route": sdk.EventsPath, "method": "POST", "status": "413"}, 1},
		{map[string]string{"route": "unmatched"}, 0},
	}
	for _, c := range checks {
		grew := value(after, "lift_http_requests_total", c.labels) - value(before, "lift_http_requests_total", c.labels)
		t.Logf("lift_http_requests_total%v grew by %g", c.labels, grew)
		if grew != c.want {
			t.Errorf("lift_http_requests_total%v grew by %g, want %g", c.labels, grew, c.want)
		}
	}
}

func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mf, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return mf
}

// value sums the series of name whose labels include want: a counter's or
// gauge's value, a histogram's count.
func value(mf map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f, ok := mf[name]
	if !ok {
		return 0
	}
	var sum float64
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			match = match && have[k] == v
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

// TestPprof_OnlyOnTheAdminPort: the profiles are served by the admin
// handler and by no public route, although importing net/http/pprof
// registers them on http.DefaultServeMux (which no public server uses).
func TestPprof_OnlyOnTheAdminPort(t *testing.T) {
	s := stacktest.Start(t)
	adminSrv := httptest.NewServer(admin.Handler())
	defer adminSrv.Close()
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/goroutine?debug=1", "/debug/pprof/cmdline"} {
		if resp := s.GW.Do(t, "GET", path, s.Admin, nil); resp.Status != http.StatusNotFound {
			t.Errorf("gateway GET %s: %d, want 404", path, resp.Status)
		}
		resp, err := http.Get(adminSrv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("admin GET %s: %d, want 200", path, resp.StatusCode)
		}
	}
}
