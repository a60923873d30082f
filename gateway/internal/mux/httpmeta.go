package mux

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/liftlabs/lift/pkg/logging"
	"google.golang.org/protobuf/proto"
)

// successCodes are the statuses a handler may ask for with HTTPCodeKey.
var successCodes = map[int]bool{
	http.StatusOK:          true,
	http.StatusCreated:     true,
	http.StatusAccepted:    true,
	http.StatusNoContent:   true,
	http.StatusNotModified: true,
}

// applyHTTPMeta runs before a successful response is written (the Flipt
// way): it applies the status a handler asked for in its header metadata,
// quotes the ETag, and answers a GET whose If-None-Match matches that ETag
// with 304. Location and the other headers were already copied by
// outgoingHeader.
func applyHTTPMeta(ctx context.Context, w http.ResponseWriter, _ proto.Message) error {
	md, ok := runtime.ServerMetadataFromContext(ctx)
	if !ok {
		return nil
	}
	code := http.StatusOK
	if v := md.HeaderMD.Get(HTTPCodeKey); len(v) > 0 {
		c, err := strconv.Atoi(v[0])
		if err != nil || !successCodes[c] {
			logging.FromContext(ctx).Warn("ignoring invalid x-http-code from backend", "value", v[0])
		} else {
			code = c
		}
	}
	etag := ""
	if v := md.HeaderMD.Get(ETagKey); len(v) > 0 && v[0] != "" {
		etag = quoteETag(v[0])
		w.Header().Set("ETag", etag)
	}
	if code == http.StatusOK && etag != "" {
		if req, ok := ctx.Value(requestKey{}).(conditional); ok && req.method == http.MethodGet && etagMatches(req.ifNoneMatch, etag) {
			code = http.StatusNotModified
		}
	}
	if code == http.StatusOK {
		return nil
	}
	if code == http.StatusNotModified || code == http.StatusNoContent {
		// No body follows; the JSON content type set earlier would be a lie.
		w.Header().Del("Content-Type")
	}
	// The body grpc-gateway writes next is discarded by net/http for 204 and
	// 304 (ErrBodyNotAllowed, which grpc-gateway ignores).
	w.WriteHeader(code)
	return nil
}

// requestKey keys the parts of the HTTP request applyHTTPMeta needs; the
// forward-response option sees only the context.
type requestKey struct{}

type conditional struct{ method, ifNoneMatch string }

// rememberRequest is a grpc-gateway middleware that stores the request
// method and If-None-Match in the context for applyHTTPMeta.
func rememberRequest(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		c := conditional{method: r.Method, ifNoneMatch: r.Header.Get("If-None-Match")}
		next(w, r.WithContext(context.WithValue(r.Context(), requestKey{}, c)), params)
	}
}

// quoteETag makes a handler's tag a valid HTTP entity tag.
func quoteETag(tag string) string {
	if strings.HasPrefix(tag, `"`) || strings.HasPrefix(tag, `W/"`) {
		return tag
	}
	return strconv.Quote(tag)
}

// etagMatches is the weak comparison RFC 9110 prescribes for If-None-Match.
func etagMatches(ifNoneMatch, etag string) bool {
	if ifNoneMatch == "" {
		return false
	}
	want := strings.TrimPrefix(etag, "W/")
	for _, candidate := range strings.Split(ifNoneMatch, ",") {
		candidate = strings.TrimSpace(candidate)
		if candidate == "*" || strings.TrimPrefix(candidate, "W/") == want {
			return true
		}
	}
	return false
}
