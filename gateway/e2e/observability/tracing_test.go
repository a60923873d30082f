package observability

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/liftlabs/lift/gateway/gatewaytest"
	"github.com/liftlabs/lift/gateway/internal/stacktest"
	"github.com/liftlabs/lift/services/results/resultstest"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// The services, as the prefix of their RPCs' span names.
var services = map[string]string{
	"identity":    "lift.identity.v1.",
	"experiments": "lift.experiments.v1.",
	"results":     "lift.results.v1.",
}

// TestTrace_ResultsRequestIsOneTraceAcrossServices sends one
// GET /v1/experiments/{id}/results carrying a client's W3C traceparent and
// checks the spans the whole stack recorded for it: all in the client's
// trace, one tree under the gateway's span, with server spans of results
// and of the services results calls (experiments for the definition,
// identity for the token), and SQL spans under each service.
func TestTrace_ResultsRequestIsOneTraceAcrossServices(t *testing.T) {
	var gwLogs, resultsLogs gatewaytest.LogBuffer
	s := stacktest.Start(t, stacktest.Options{
		Gateway: []gatewaytest.Option{gatewaytest.WithLogWriter(&gwLogs)},
		Results: resultstest.Options{LogWriter: &resultsLogs},
	})
	e := s.CreateExperiment(t, "checkout")
	path := "/v1/experiments/" + e.ID + "/results"
	traceID, requestID := checkOneTrace(t, s, path, "GET /v1/experiments/{experiment_id}/results",
		[]string{"results", "experiments", "identity"})
	// The request's log lines, in the gateway and in a service, carry both
	// ids.
	checkLogLine(t, &gwLogs, "gateway access log", traceID, requestID, func(l map[string]any) bool {
		return l["msg"] == "http request" && l["path"] == path
	})
	checkLogLine(t, &resultsLogs, "results rpc log", traceID, requestID, func(l map[string]any) bool {
		return l["msg"] == "rpc" && l["method"] == "/lift.results.v1.ResultsService/GetExperimentResults"
	})
}

// checkLogLine finds the last line of logs that match selects and checks
// it carries traceID and requestID.
func checkLogLine(t *testing.T, logs *gatewaytest.LogBuffer, what string, traceID trace.TraceID, requestID string, match func(map[string]any) bool) {
	t.Helper()
	var found map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		var l map[string]any
		if json.Unmarshal(sc.Bytes(), &l) == nil && match(l) {
			found = l
		}
	}
	if found == nil || found["trace_id"] != traceID.String() || found["request_id"] != requestID || found["span_id"] == nil {
		t.Errorf("%s line = %v, want trace_id %s, a span_id and request_id %s", what, found, traceID, requestID)
	}
}

// checkOneTrace sends GET path with a fresh traceparent and checks the
// trace: the gateway's span named route, server and SQL spans of each of
// wantServices, everything one tree, nothing recorded meanwhile outside it.
// It returns the trace id and the response's request id.
func checkOneTrace(t *testing.T, s *stacktest.Stack, path, route string, wantServices []string) (trace.TraceID, string) {
	t.Helper()
	var traceID trace.TraceID
	var clientSpan trace.SpanID
	_, _ = rand.Read(traceID[:])
	_, _ = rand.Read(clientSpan[:])
	before := len(spans.Ended())
	resp := s.GW.Do(t, "GET", path, s.Read, nil, "traceparent", fmt.Sprintf("00-%s-%s-01", traceID, clientSpan))
	if resp.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.Status, resp.Body)
	}

	// Servers end their spans after the response is on its way: wait until
	// the gateway's span, which ends last, is in.
	var got []sdktrace.ReadOnlySpan
	for deadline := time.Now().Add(10 * time.Second); ; {
		got = spans.Ended()[before:]
		if findSpan(got, func(sp sdktrace.ReadOnlySpan) bool {
			return sp.SpanKind() == trace.SpanKindServer && sp.Name() == route
		}) != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no gateway span %q among %d spans", route, len(got))
		}
		time.Sleep(20 * time.Millisecond)
	}

	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, sp := range got {
		if sp.SpanContext().TraceID() != traceID {
			t.Errorf("span %q (%v) is in trace %s, not the request's %s", sp.Name(), sp.SpanKind(), sp.SpanContext().TraceID(), traceID)
			continue
		}
		byID[sp.SpanContext().SpanID()] = sp
	}
	// One tree: the gateway's span is the only child of the client's span,
	// and every other span's parent was recorded too.
	var root sdktrace.ReadOnlySpan
	for _, sp := range byID {
		switch p := sp.Parent().SpanID(); {
		case p == clientSpan:
			if root != nil {
				t.Errorf("two spans continue the client's span: %q and %q", root.Name(), sp.Name())
			}
			root = sp
		case byID[p] == nil:
			t.Errorf("span %q has parent %s, which is not in the trace", sp.Name(), p)
		}
	}
	if root == nil || root.Name() != route || root.SpanKind() != trace.SpanKindServer {
		t.Fatalf("root span = %v, want the gateway's server span %q", root, route)
	}

	// service names the service a span was recorded in: the one of its
	// nearest server-span ancestor (itself included).
	service := func(sp sdktrace.ReadOnlySpan) string {
		for ; sp != nil; sp = byID[sp.Parent().SpanID()] {
			if sp.SpanKind() != trace.SpanKindServer {
				continue
			}
			for name, prefix := range services {
				if strings.HasPrefix(sp.Name(), prefix) {
					return name
				}
			}
			return "gateway"
		}
		return "?"
	}
	servers, sql := map[string]int{}, map[string]int{}
	for _, sp := range byID {
		switch {
		case sp.SpanKind() == trace.SpanKindServer:
			servers[service(sp)]++
		case isSQL(sp):
			sql[service(sp)]++
		}
	}
	for _, name := range wantServices {
		if servers[name] == 0 || sql[name] == 0 {
			t.Errorf("%s: %d server spans and %d SQL spans in the trace, want both", name, servers[name], sql[name])
		}
	}
	t.Logf("GET %s: %d spans in trace %s (server spans %v, SQL spans %v)\n%s", path, len(byID), traceID, servers, sql, tree(root, byID))

	return traceID, resp.Header.Get("X-Request-Id")
}

func isSQL(sp sdktrace.ReadOnlySpan) bool {
	for _, a := range sp.Attributes() {
		if a.Key == "db.system.name" && a.Value.AsString() == "postgresql" {
			return true
		}
	}
	return false
}

func findSpan(ss []sdktrace.ReadOnlySpan, f func(sdktrace.ReadOnlySpan) bool) sdktrace.ReadOnlySpan {
	for _, sp := range ss {
		if f(sp) {
			return sp
		}
	}
	return nil
}

// tree renders the spans under root, children in start order.
func tree(root sdktrace.ReadOnlySpan, byID map[trace.SpanID]sdktrace.ReadOnlySpan) string {
	children := map[trace.SpanID][]sdktrace.ReadOnlySpan{}
	for _, sp := range byID {
		children[sp.Parent().SpanID()] = append(children[sp.Parent().SpanID()], sp)
	}
	var b strings.Builder
	var walk func(sp sdktrace.ReadOnlySpan, depth int)
	walk = func(sp sdktrace.ReadOnlySpan, depth int) {
		fmt.Fprintf(&b, "%s%s [%v]\n", strings.Repeat("  ", depth), sp.Name(), sp.SpanKind())
		kids := children[sp.SpanContext().SpanID()]
		sort.Slice(kids, func(i, j int) bool { return kids[i].StartTime().Before(kids[j].StartTime()) })
		for _, k := range kids {
			walk(k, depth+1)
		}
	}
	walk(root, 0)
	return b.String()
}

// TestTrace_V2ResultsRequestIsOneTraceAcrossServices does the same for the
// composite GET /v2/experiments/{id}/results, which the gateway answers by
// calling identity, experiments and results concurrently from its own gRPC
// server: one trace, and spans of every backend in it.
func TestTrace_V2ResultsRequestIsOneTraceAcrossServices(t *testing.T) {
	s := stacktest.Start(t)
	e := s.CreateExperiment(t, "checkout")
	checkOneTrace(t, s, "/v2/experiments/"+e.ID+"/results", "GET /v2/experiments/{experiment_id}/results",
		[]string{"results", "experiments", "identity"})
}
