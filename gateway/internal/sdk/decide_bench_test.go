package sdk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	v4 "github.com/liftlabs/lift/pkg/datafile"
)

// benchDatafile is a project whose n flags are each decided by a running
// 50/50 experiment, with two variables per flag.
func benchDatafile(n int) []byte {
	d := v4.Datafile{Version: "4", AccountID: "1", ProjectID: "2", Revision: "3", SendFlagDecisions: true,
		Attributes: []v4.Attribute{{ID: "9", Key: "plan"}}}
	for i := range n {
		e, f := fmt.Sprint(100+10*i), fmt.Sprint(200+10*i)
		vars := []v4.VariationVariable{{ID: f + "1", Value: "red"}, {ID: f + "2", Value: "3"}}
		d.Experiments = append(d.Experiments, v4.Experiment{ID: e, Key: fmt.Sprint("flag_", i, "_test"), Status: "Running", LayerID: e,
			TrafficAllocation: []v4.TrafficAllocation{{EntityID: e + "1", EndOfRange: 5000}, {EntityID: e + "2", EndOfRange: 10000}},
			Variations:        []v4.Variation{{ID: e + "1", Key: "control", FeatureEnabled: true}, {ID: e + "2", Key: "treatment", FeatureEnabled: true, Variables: vars}}})
		d.FeatureFlags = append(d.FeatureFlags, v4.FeatureFlag{ID: f, Key: fmt.Sprint("flag_", i), ExperimentIDs: []string{e},
			Variables: []v4.Variable{{ID: f + "1", Key: "color", Type: "string", DefaultValue: "blue"}, {ID: f + "2", Key: "size", Type: "integer", DefaultValue: "1"}}})
	}
	raw, _ := json.Marshal(d)
	return raw
}

// edgeWith returns Engines holding one compiled engine for sdkKey, as a
// first decide would have loaded it (no experiments service needed).
func edgeWith(tb testing.TB, sdkKey string, datafile []byte) *Engines {
	tb.Helper()
	engine, err := v4.Load(datafile)
	if err != nil {
		tb.Fatal(err)
	}
	e := NewEngines(nil, nil, EngineOptions{})
	tb.Cleanup(e.Close)
	ee := &edgeEngine{stop: func() {}}
	ee.engine.Store(engine)
	e.cache.Add(sdkKey, ee)
	return e
}

// discardWriter is a ResponseWriter that keeps nothing.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

// serveN serves n decides of the given users, one after the other.
func serveN(n int, h http.Handler, sdkKey string, users [][]byte) {
	w := &discardWriter{h: http.Header{}}
	body := &bytes.Reader{}
	req, _ := http.NewRequest("POST", DecidePath, nil)
	req.Header.Set(SDKKeyHeader, sdkKey)
	req.Header.Set("Content-Type", "application/json")
	for i := range n {
		u := users[i%len(users)]
		body.Reset(u)
		req.Body, req.ContentLength = io.NopCloser(body), int64(len(u))
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

// BenchmarkDecide is the edge decide handler (body parsing, the engine,
// impressions built, Agent's JSON) for 1 and 5 flags, reported as a
// multiple of a bare handler that reads the body and writes a fixed
// answer, measured in the same run (x-bare).
func BenchmarkDecide(b *testing.B) {
	for _, flags := range []int{1, 5} {
		b.Run(fmt.Sprintf("flags=%d", flags), func(b *testing.B) {
			const key = "bench-key"
			h := Decide(edgeWith(b, key, benchDatafile(flags)), nil)
			users := make([][]byte, 1024)
			for i := range users {
				users[i] = fmt.Appendf(nil, `{"userId":"user-%d","userAttributes":{"plan":"pro"}}`, i)
			}
			// The bare handler's answer is the edge's for one user.
			rec := &recordWriter{discardWriter: discardWriter{h: http.Header{}}}
			req, _ := http.NewRequest("POST", DecidePath, bytes.NewReader(users[0]))
			req.Header.Set(SDKKeyHeader, key)
			h.ServeHTTP(rec, req)
			fixed := rec.body.Bytes()
			bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(fixed)
			})
			// The baseline runs as many requests in the same run, untimed.
			start := time.Now()
			serveN(b.N, bare, key, users)
			bareNs := float64(time.Since(start).Nanoseconds()) / float64(b.N)
			b.ReportAllocs()
			b.ResetTimer()
			serveN(b.N, h, key, users)
			b.StopTimer()
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(bareNs, "bare-ns/op")
			b.ReportMetric(ns/bareNs, "x-bare")
		})
	}
}

type recordWriter struct {
	discardWriter
	body bytes.Buffer
}

func (w *recordWriter) Write(b []byte) (int, error) { return w.body.Write(b) }
