package httpmw

import (
	"bytes"
	"io"
	"net/http"
	"strconv"

	"github.com/liftlabs/lift/gateway/internal/httperr"
	"google.golang.org/grpc/codes"
)

// DefaultMaxJSONDepth bounds how deeply a JSON request body may nest.
// Lift's own messages nest a handful of levels (audience conditions at most
// 16 lists); a decide's attributes are flat.
const DefaultMaxJSONDepth = 64

// MaxJSONDepth answers 400 (INVALID_ARGUMENT, TOO_DEEPLY_NESTED) for a
// request body nested deeper than max, for the requests applies selects.
// Without it a body nested thousands deep decodes at the gateway (protojson
// allows 10,000) and then fails to decode at the service (protobuf's own
// limit counts a Struct's levels twice): a 500 for a client's mistake. The
// body, already bounded by BodyLimit, is read once and handed on as is.
func MaxJSONDepth(max int, applies func(*http.Request) bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body == nil || r.Body == http.NoBody || !applies(r) {
				next.ServeHTTP(w, r)
				return
			}
			body, err := io.ReadAll(r.Body)
			if err != nil {
				if !WriteBodyError(w, r) {
					httperr.Write(w, r, http.StatusBadRequest, httperr.New(codes.InvalidArgument, "INVALID_BODY", "could not read the request body", nil))
				}
				return
			}
			if jsonDepth(body) > max {
				m := strconv.Itoa(max)
				httperr.Write(w, r, http.StatusBadRequest, httperr.New(codes.InvalidArgument, "TOO_DEEPLY_NESTED",
					"the request body nests deeper than "+m+" levels", map[string]string{"max_depth": m}))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			next.ServeHTTP(w, r)
		})
	}
}

// jsonDepth is the deepest nesting of objects and arrays in b, counting
// brackets outside strings; it does not validate (the decoder will).
func jsonDepth(b []byte) int {
	depth, deepest := 0, 0
	inString, escaped := false, false
	for _, c := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}
