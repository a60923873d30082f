package docs

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAsset_MatchesRecordedDigest proves the embedded bundle is the one
// assets/README.md records (version and sha256).
func TestAsset_MatchesRecordedDigest(t *testing.T) {
	rec := httptest.NewRecorder()
	Asset().ServeHTTP(rec, httptest.NewRequest("GET", AssetPath, nil))
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/javascript") {
		t.Fatalf("status %d, headers %v", rec.Code, rec.Header())
	}
	sum := sha256.Sum256(rec.Body.Bytes())
	if got := hex.EncodeToString(sum[:]); got != RedocSHA256 {
		t.Errorf("sha256 = %s, want %s (update RedocSHA256 and assets/README.md with the bundle)", got, RedocSHA256)
	}
}

// TestPage_OfflineOnly: the page loads the embedded bundle and nothing from
// another origin.
func TestPage_OfflineOnly(t *testing.T) {
	rec := httptest.NewRecorder()
	Page().ServeHTTP(rec, httptest.NewRequest("GET", "/docs", nil))
	body := rec.Body.String()
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, headers %v", rec.Code, rec.Header())
	}
	if !strings.Contains(body, `src="`+AssetPath) || !strings.Contains(body, `spec-url="/openapi.v3.json"`) {
		t.Errorf("page does not load the embedded bundle and the spec: %s", body)
	}
	if strings.Contains(body, "http://") || strings.Contains(body, "https://") || strings.Contains(body, "//cdn") {
		t.Errorf("page references another origin: %s", body)
	}
}
