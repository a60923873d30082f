// Package console serves the web console at /ui/: the build output of
// gateway/ui (committed in dist/, rebuilt by `make ui` and checked fresh by
// `make check`, like the generated protos), embedded in the gateway binary
// so nothing is loaded from the internet and `make run` needs no Node.
package console

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed all:dist
var dist embed.FS

// Prefix is where the console is served.
const Prefix = "/ui/"

// assetsDir holds Vite's hashed file names: a name changes whenever its
// content does, so they may be cached forever.
const assetsDir = "assets/"

// csp allows the console's own scripts, styles and API calls and nothing
// else: no inline script, no third-party origin, no framing.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Files is the build output (index.html, assets/).
func Files() fs.FS {
	files, err := fs.Sub(dist, "dist")
	if err != nil {
		panic("console: embedded dist missing: " + err.Error())
	}
	return files
}

// Handler serves the files of dist under Prefix. A path that names no file
// and is not under assets/ is a route of the single-page app, answered with
// index.html; a missing asset is a 404, never the page.
func Handler() http.Handler {
	files := Files()
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		panic("console: embedded index.html missing: " + err.Error())
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		name := strings.TrimPrefix(path.Clean("/"+strings.TrimPrefix(r.URL.Path, Prefix)), "/")
		if name != "" && name != "index.html" {
			if b, err := fs.ReadFile(files, name); err == nil {
				if strings.HasPrefix(name, assetsDir) {
					h.Set("Cache-Control", "public, max-age=31536000, immutable")
				} else {
					h.Set("Cache-Control", "no-cache")
				}
				http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
				return
			}
			if strings.HasPrefix(name, assetsDir) {
				http.NotFound(w, r)
				return
			}
		}
		// The page itself is revalidated every time, so a new gateway's
		// console (with new asset names) is picked up at once.
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY")
		http.ServeContent(w, r, "index.html", time.Time{}, bytes.NewReader(index))
	})
}
