// Package httperr writes every error the gateway returns in one shape: a
// google.rpc.Status JSON body whose details hold a google.rpc.ErrorInfo
// carrying the request id that the X-Request-Id response header also carries.
package httperr

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/liftlabs/lift/pkg/requestid"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	// Registers buf.validate.Violations, so validation errors render their
	// field violations instead of being dropped as an unknown detail type.
	_ "buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
)

// Domain is the ErrorInfo domain of every Lift error, as pkg/apierr sets it.
const Domain = "lift"

// RequestIDKey is the ErrorInfo metadata key holding the request id.
const RequestIDKey = "request_id"

// HeaderRequestID is the HTTP header that carries the request id both ways.
const HeaderRequestID = "X-Request-Id"

// marshal renders errors with populated fields only: zero values inside
// error details (e.g. buf.validate field paths) are noise, and unset nested
// messages would come out as null.
var marshal = protojson.MarshalOptions{}

// fallbackBody is written when even a detail-less status cannot be encoded,
// which only a broken protobuf registry could cause.
const fallbackBody = `{"code":13,"message":"internal error"}`

// Write renders st as the response with the given HTTP status. It makes sure
// the details hold an ErrorInfo whose metadata names the request id.
func Write(w http.ResponseWriter, r *http.Request, httpStatus int, st *status.Status) {
	id := requestid.FromContext(r.Context())
	if id == "" {
		id = w.Header().Get(HeaderRequestID)
	}
	body, err := encode(withRequestID(st.Proto(), id))
	if err != nil {
		body = []byte(fallbackBody)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	if httpStatus == http.StatusUnauthorized {
		// RFC 6750: tell the client which scheme the API expects.
		h.Set("WWW-Authenticate", `Bearer realm="lift"`)
	}
	w.WriteHeader(httpStatus)
	_, _ = w.Write(body)
}

// New builds a status with an ErrorInfo of the given reason, for errors the
// gateway itself raises (unknown route, oversize body, …).
func New(c codes.Code, reason, message string, metadata map[string]string) *status.Status {
	st, err := status.New(c, message).WithDetails(&errdetails.ErrorInfo{
		Reason:   reason,
		Domain:   Domain,
		Metadata: metadata,
	})
	if err != nil {
		return status.New(c, message)
	}
	return st
}

// withRequestID returns a copy of s whose ErrorInfo carries the request id,
// adding an ErrorInfo (reason = the code's name) when the error has none, as
// errors that never reached a Lift service (transport failures, malformed
// JSON) do.
func withRequestID(s *spb.Status, id string) *spb.Status {
	s = proto.Clone(s).(*spb.Status)
	for i, d := range s.Details {
		info := &errdetails.ErrorInfo{}
		if d.MessageIs(info) && d.UnmarshalTo(info) == nil {
			if info.Metadata == nil {
				info.Metadata = map[string]string{}
			}
			if info.Metadata[RequestIDKey] == "" && id != "" {
				info.Metadata[RequestIDKey] = id
				if a, err := anypb.New(info); err == nil {
					s.Details[i] = a
				}
			}
			return s
		}
	}
	info := &errdetails.ErrorInfo{Reason: reasonFor(codes.Code(s.Code)), Domain: Domain}
	if id != "" {
		info.Metadata = map[string]string{RequestIDKey: id}
	}
	if a, err := anypb.New(info); err == nil {
		s.Details = append(s.Details, a)
	}
	return s
}

// reasonFor names a code the way ErrorInfo reasons are written:
// NotFound → NOT_FOUND.
func reasonFor(c codes.Code) string {
	if name, ok := code.Code_name[int32(c)]; ok {
		return name
	}
	return strings.ToUpper(c.String())
}

// encode marshals s compactly (protojson adds random spaces on purpose;
// clients and logs are better served by stable bytes). Details whose type
// this binary does not know (a newer backend's) are dropped rather than
// failing the whole error.
func encode(s *spb.Status) ([]byte, error) {
	b, err := marshal.Marshal(s)
	if err == nil {
		return compact(b), nil
	}
	known := s.Details[:0]
	for _, d := range s.Details {
		if _, err := d.UnmarshalNew(); err == nil {
			known = append(known, d)
		}
	}
	s.Details = known
	b, err = marshal.Marshal(s)
	return compact(b), err
}

func compact(b []byte) []byte {
	var out bytes.Buffer
	if json.Compact(&out, b) != nil {
		return b
	}
	return out.Bytes()
}
