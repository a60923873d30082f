package mux

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"google.golang.org/grpc/metadata"
)

// serveWithMetadata starts a gateway mux whose one route answers as a
// backend handler would that set md with grpc.SetHeader: the same
// ForwardResponseMessage call and options the generated handlers use.
func serveWithMetadata(t *testing.T, md metadata.MD) *httptest.Server {
	t.Helper()
	m := New()
	respond := func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
		ctx := runtime.NewServerMetadataContext(r.Context(), runtime.ServerMetadata{HeaderMD: md})
		_, out := runtime.MarshalerForRequest(m, r)
		msg := &identityv1.GetProjectResponse{Project: &identityv1.Project{Id: "42", Name: "p"}}
		runtime.ForwardResponseMessage(ctx, m, out, w, r, msg, m.GetForwardResponseOptions()...)
	}
	for _, method := range []string{"GET", "POST"} {
		if err := m.HandlePath(method, "/v1/things", respond); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, srv *httptest.Server, method string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+"/v1/things", nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestHTTPMeta_CreatedWithLocation(t *testing.T) {
	srv := serveWithMetadata(t, metadata.Pairs(HTTPCodeKey, "201", LocationKey, "/v1/things/42", "content-type", "application/grpc", "x-internal", "secret"))
	resp, body := do(t, srv, "POST")
	if resp.StatusCode != 201 || resp.Header.Get("Location") != "/v1/things/42" {
		t.Fatalf("status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if body == "" || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("created resource not returned: %q %v", body, resp.Header)
	}
	// Metadata outside the allow-list never reaches the client.
	for k := range resp.Header {
		if k == "Grpc-Metadata-X-Internal" || k == "X-Internal" || k == "Grpc-Metadata-Content-Type" || k == "X-Http-Code" {
			t.Errorf("leaked header %s", k)
		}
	}
}

func TestHTTPMeta_ETagAndConditionalGet(t *testing.T) {
	srv := serveWithMetadata(t, metadata.Pairs(ETagKey, "v7"))
	resp, _ := do(t, srv, "GET")
	if resp.StatusCode != 200 || resp.Header.Get("ETag") != `"v7"` {
		t.Fatalf("status %d, ETag %q (want quoted)", resp.StatusCode, resp.Header.Get("ETag"))
	}
	resp, body := do(t, srv, "GET", "If-None-Match", `"v6", W/"v7"`)
	if resp.StatusCode != http.StatusNotModified || body != "" || resp.Header.Get("ETag") != `"v7"` {
		t.Errorf("matching If-None-Match: status %d, body %q, ETag %q", resp.StatusCode, body, resp.Header.Get("ETag"))
	}
	if resp, _ := do(t, srv, "GET", "If-None-Match", `"v6"`); resp.StatusCode != 200 {
		t.Errorf("stale If-None-Match: status %d, want 200", resp.StatusCode)
	}
	// Only safe methods are answered from the client's cache.
	if resp, _ := do(t, srv, "POST", "If-None-Match", `"v7"`); resp.StatusCode != 200 {
		t.Errorf("POST with matching If-None-Match: status %d, want 200", resp.StatusCode)
	}
}

func TestHTTPMeta_HandlerSaysNotModified(t *testing.T) {
	srv := serveWithMetadata(t, metadata.Pairs(HTTPCodeKey, "304", ETagKey, `"abc"`))
	resp, body := do(t, srv, "GET")
	if resp.StatusCode != 304 || body != "" || resp.Header.Get("ETag") != `"abc"` {
		t.Errorf("status %d, body %q, ETag %q", resp.StatusCode, body, resp.Header.Get("ETag"))
	}
}

func TestHTTPMeta_InvalidCodeIgnored(t *testing.T) {
	for _, code := range []string{"500", "404", "abc", "302"} {
		srv := serveWithMetadata(t, metadata.Pairs(HTTPCodeKey, code))
		if resp, _ := do(t, srv, "GET"); resp.StatusCode != 200 {
			t.Errorf("x-http-code %q: status %d, want 200", code, resp.StatusCode)
		}
	}
}
