package httperr

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/liftlabs/lift/pkg/requestid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/anypb"
)

func write(t *testing.T, httpStatus int, st *status.Status) (*httptest.ResponseRecorder, *errdetails.ErrorInfo) {
	t.Helper()
	req := httptest.NewRequest("GET", "/", nil)
	req = req.WithContext(requestid.WithID(req.Context(), "rid-1"))
	rec := httptest.NewRecorder()
	Write(rec, req, httpStatus, st)
	out := &spb.Status{}
	if err := protojson.Unmarshal(rec.Body.Bytes(), out); err != nil {
		t.Fatalf("body is not a Status: %v: %s", err, rec.Body)
	}
	var info *errdetails.ErrorInfo
	for _, d := range out.GetDetails() {
		i := &errdetails.ErrorInfo{}
		if d.MessageIs(i) {
			if info != nil {
				t.Fatalf("two ErrorInfos: %s", rec.Body)
			}
			_ = d.UnmarshalTo(i)
			info = i
		}
	}
	if rec.Code != httpStatus || info == nil || info.GetMetadata()[RequestIDKey] != "rid-1" {
		t.Fatalf("status %d, info %v, body %s", rec.Code, info, rec.Body)
	}
	return rec, info
}

func TestWrite_AddsErrorInfoWhenMissing(t *testing.T) {
	_, info := write(t, 503, status.New(codes.Unavailable, "down"))
	if info.GetReason() != "UNAVAILABLE" || info.GetDomain() != Domain {
		t.Errorf("info = %v", info)
	}
}

func TestWrite_KeepsServiceErrorInfo(t *testing.T) {
	st, _ := status.New(codes.NotFound, "no").WithDetails(&errdetails.ErrorInfo{
		Reason: "PROJECT_NOT_FOUND", Domain: Domain, Metadata: map[string]string{"project_id": "7"}})
	_, info := write(t, 404, st)
	if info.GetReason() != "PROJECT_NOT_FOUND" || info.GetMetadata()["project_id"] != "7" {
		t.Errorf("info = %v", info)
	}
}

func TestWrite_DropsUnknownDetails(t *testing.T) {
	p := status.New(codes.Internal, "x").Proto()
	p.Details = append(p.Details, &anypb.Any{TypeUrl: "type.googleapis.com/lift.future.v9.Detail", Value: []byte{1, 2}})
	rec, _ := write(t, 500, status.FromProto(p))
	if strings.Contains(rec.Body.String(), "future") {
		t.Errorf("unknown detail kept: %s", rec.Body)
	}
}

func TestWrite_Unauthorized(t *testing.T) {
	rec, _ := write(t, http.StatusUnauthorized, status.New(codes.Unauthenticated, "token expired"))
	if got := rec.Header().Get("WWW-Authenticate"); got != `Bearer realm="lift"` {
		t.Errorf("WWW-Authenticate = %q", got)
	}
}
