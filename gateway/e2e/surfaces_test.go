package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/liftlabs/lift/gateway/gatewaytest"
	"google.golang.org/grpc/codes"
)

// TestDocuments_ServedAndValid fetches both OpenAPI documents, the docs
// page and its asset over HTTP.
func TestDocuments_ServedAndValid(t *testing.T) {
	gw := start(t)

	v3 := gw.Do(t, "GET", "/openapi.v3.json", "", nil)
	if v3.Status != 200 {
		t.Fatalf("/openapi.v3.json: %d", v3.Status)
	}
	doc, err := openapi3.NewLoader().LoadFromData(v3.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Errorf("served OpenAPI 3 is invalid: %v", err)
	}
	v2 := gw.Do(t, "GET", "/openapi.json", "", nil)
	if v2.Status != 200 || !strings.Contains(string(v2.Body), `"swagger":"2.0"`) {
		t.Errorf("/openapi.json: %d %.100s", v2.Status, v2.Body)
	}

	page := gw.Do(t, "GET", "/docs", "", nil)
	if page.Status != 200 || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("/docs: %d %v", page.Status, page.Header)
	}
	i := strings.Index(string(page.Body), `<script src="`)
	if i < 0 {
		t.Fatalf("/docs has no script: %s", page.Body)
	}
	src := strings.SplitN(string(page.Body)[i+len(`<script src="`):], `"`, 2)[0]
	if !strings.HasPrefix(src, "/docs/assets/") {
		t.Fatalf("/docs loads %q, not an embedded asset", src)
	}
	asset := gw.Do(t, "GET", src, "", nil)
	sum := sha256.Sum256(asset.Body)
	if asset.Status != 200 || hex.EncodeToString(sum[:]) != "dcaf76612bc4a3fbcc923a8966dee2f6146a5f32e5ce1b6f02dd60cbbf89500b" {
		t.Errorf("asset %s: %d, %d bytes", src, asset.Status, len(asset.Body))
	}
}

func TestProbes_BackendUp(t *testing.T) {
	gw := start(t)
	if r := gw.Do(t, "GET", "/healthz", "", nil); r.Status != 200 {
		t.Errorf("/healthz: %d %s", r.Status, r.Body)
	}
	r := gw.Do(t, "GET", "/readyz", "", nil)
	var out struct {
		Status   string
		Backends map[string]string
	}
	r.JSON(t, &out)
	if r.Status != 200 || out.Status != "SERVING" {
		t.Errorf("/readyz: %d %s", r.Status, r.Body)
	}
	r = gw.Admin(t, "/readyz/backends")
	r.JSON(t, &out)
	if r.Status != 200 || out.Status != "SERVING" || out.Backends["identity"] != "SERVING" {
		t.Errorf("admin /readyz/backends: %d %s", r.Status, r.Body)
	}
}

// TestBackendDown: with identity unreachable, the process stays live and
// ready (readiness is about this process: other routes may still work),
// the deep check on the admin port names identity, and API calls fail with
// 503 in the backend-outage shape without revealing the gateway's network.
func TestBackendDown(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := lis.Addr().String()
	lis.Close()
	gw := gatewaytest.Start(t, gatewaytest.Backends{Identity: "dns:///" + dead})

	if r := gw.Do(t, "GET", "/healthz", "", nil); r.Status != 200 {
		t.Errorf("/healthz: %d", r.Status)
	}
	if r := gw.Do(t, "GET", "/readyz", "", nil); r.Status != 200 {
		t.Errorf("/readyz: %d %s", r.Status, r.Body)
	}
	info := wantError(t, gw.Admin(t, "/readyz/backends"), 503, codes.Unavailable, "NOT_READY")
	if info.GetMetadata()["identity"] != "UNAVAILABLE" {
		t.Errorf("deep readiness metadata = %v", info.GetMetadata())
	}
	r := gw.Do(t, "GET", "/v1/projects", "lift_pat_x", nil)
	info = wantError(t, r, 503, codes.Unavailable, "BACKEND_UNAVAILABLE")
	if info.GetMetadata()["backend"] != "identity" {
		t.Errorf("outage metadata = %v", info.GetMetadata())
	}
	if strings.Contains(string(r.Body), "127.0.0.1") || strings.Contains(string(r.Body), "dial") {
		t.Errorf("error reveals the network: %s", r.Body)
	}
}

// TestUnconfiguredBackend: a service without an address is not routed.
func TestUnconfiguredBackend(t *testing.T) {
	gw := gatewaytest.Start(t, gatewaytest.Backends{})
	wantError(t, gw.Do(t, "GET", "/v1/projects", "", nil), 404, codes.NotFound, "ROUTE_NOT_FOUND")
	if r := gw.Do(t, "GET", "/readyz", "", nil); r.Status != 200 {
		t.Errorf("/readyz with no backends: %d %s", r.Status, r.Body)
	}
}

// TestRequestID_GeneratedOrReplaced: a missing or unsafe X-Request-Id is
// replaced by a generated one, returned on the response.
func TestRequestID_GeneratedOrReplaced(t *testing.T) {
	gw := start(t)
	for _, sent := range []string{"", "bad id\twith tab", strings.Repeat("x", 300)} {
		r := gw.Do(t, "GET", "/v1/projects", "", nil, "X-Request-Id", sent)
		got := r.Header.Get("X-Request-Id")
		if got == "" || got == sent {
			t.Errorf("sent %q, got %q", sent, got)
		}
		wantError(t, r, 401, codes.Unauthenticated, "")
	}
}
