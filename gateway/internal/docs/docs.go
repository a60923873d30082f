// Package docs serves the human-readable API reference at /docs: a page
// that renders the OpenAPI document with a vendored, pinned Redoc bundle, so
// it works without any network access (no CDN, no web fonts).
package docs

import (
	"bytes"
	"embed"
	"net/http"
	"time"
)

//go:embed assets/redoc.standalone.js
var assets embed.FS

// AssetPath is where the Redoc bundle is served. The version in the query
// string of the page's link changes with the bundle, so it may be cached.
const AssetPath = "/docs/assets/redoc.standalone.js"

// RedocVersion and RedocSHA256 identify the vendored bundle (see
// assets/README.md for how to update it); a test checks the digest.
const (
	RedocVersion = "2.5.4"
	RedocSHA256  = "dcaf76612bc4a3fbcc923a8966dee2f6146a5f32e5ce1b6f02dd60cbbf89500b"
)

// page renders specURL with Redoc. Redoc's own example loads Google Fonts;
// this page does not, so it renders with the system fonts offline.
const page = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Lift API reference</title>
<style>body { margin: 0; padding: 0; }</style>
</head>
<body>
<redoc spec-url="/openapi.v3.json"></redoc>
<script src="` + AssetPath + `?v=` + RedocVersion + `"></script>
</body>
</html>
`

// Page serves the docs page.
func Page() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader([]byte(page)))
	})
}

// Asset serves the Redoc bundle.
func Asset() http.Handler {
	js, err := assets.ReadFile("assets/redoc.standalone.js")
	if err != nil {
		panic("docs: embedded Redoc bundle missing: " + err.Error())
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("ETag", `"`+RedocSHA256[:16]+`"`)
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(js))
	})
}
