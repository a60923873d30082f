package console_test

import (
	"bytes"
	"compress/gzip"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/liftlabs/lift/gateway/internal/console"
)

func get(t *testing.T, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	console.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

func TestHandler_RoutesOfTheAppAnswerIndexHTML(t *testing.T) {
	for _, path := range []string{"/ui/", "/ui/index.html", "/ui/projects/1/flags", "/ui/experiments/7/results", "/ui/../ui/x"} {
		rec := get(t, path)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `<div id="app">`) {
			t.Errorf("%s: %d %.80q", path, rec.Code, rec.Body.String())
		}
		h := rec.Header()
		if h.Get("Cache-Control") != "no-cache" || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'self'") ||
			!strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			t.Errorf("%s: headers %v", path, h)
		}
	}
}

func TestHandler_HashedAssetsAreImmutableAndMissingOnesAre404(t *testing.T) {
	assets, err := fs.Glob(console.Files(), "assets/*.js")
	if err != nil || len(assets) == 0 {
		t.Fatalf("no built script in dist/assets: %v %v", assets, err)
	}
	rec := get(t, "/ui/"+assets[0])
	if rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" ||
		!strings.HasPrefix(rec.Header().Get("Content-Type"), "text/javascript") {
		t.Errorf("%s: %d %v", assets[0], rec.Code, rec.Header())
	}
	// An old page asking for an asset of a previous build must not get
	// index.html under a script's name.
	if rec := get(t, "/ui/assets/index-gone.js"); rec.Code != http.StatusNotFound {
		t.Errorf("missing asset: %d", rec.Code)
	}
}

// The console's JavaScript must stay within 300 kB gzipped (issue #18's
// budget); today it is about 11 kB.
func TestBuild_JavaScriptWithin300kBGzipped(t *testing.T) {
	const budget = 300 << 10
	scripts, err := fs.Glob(console.Files(), "assets/*.js")
	if err != nil {
		t.Fatal(err)
	}
	var zipped bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&zipped, gzip.BestCompression)
	for _, name := range scripts {
		b, err := fs.ReadFile(console.Files(), name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = zw.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("console JavaScript: %d files, %d bytes gzipped", len(scripts), zipped.Len())
	if zipped.Len() > budget {
		t.Fatalf("console JavaScript is %d bytes gzipped, over the %d-byte budget", zipped.Len(), budget)
	}
}
