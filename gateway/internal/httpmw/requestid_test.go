package httpmw

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/liftlabs/lift/pkg/requestid"
)

func TestRequestID(t *testing.T) {
	cases := []struct {
		name, sent string
		kept       bool
	}{
		{"absent is generated", "", false},
		{"valid is kept", "abc-123_x.y:z", true},
		{"spaces are replaced", "a b", false},
		{"newlines are replaced", "a\nb", false},
		{"too long is replaced", string(make([]byte, 200)), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var seen string
			h := RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = requestid.FromContext(r.Context())
			}))
			req := httptest.NewRequest("GET", "/", nil)
			if tc.sent != "" {
				req.Header.Set("X-Request-Id", tc.sent)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			got := rec.Header().Get("X-Request-Id")
			if got == "" || got != seen || !requestid.Valid(got) {
				t.Fatalf("header %q, context %q", got, seen)
			}
			if (got == tc.sent) != tc.kept {
				t.Errorf("sent %q, got %q, kept = %v, want %v", tc.sent, got, got == tc.sent, tc.kept)
			}
		})
	}
}
