package mux

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/liftlabs/lift/gateway/internal/httperr"
	"github.com/liftlabs/lift/gateway/internal/httpmw"
	"github.com/liftlabs/lift/pkg/logging"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// handleError renders every failure of a /v1 call — the backend's status, a
// transport error, a malformed request — as google.rpc.Status JSON with the
// HTTP status grpc-gateway's HTTPStatusFromCode assigns to the code.
func handleError(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	httpStatus := 0
	var hse *runtime.HTTPStatusError
	if errors.As(err, &hse) {
		httpStatus, err = hse.HTTPStatus, hse.Err
	}
	// grpc-gateway reports a body it could not read as InvalidArgument and
	// loses the cause; the body limit middleware remembers that it cut the
	// body off (too large, or too slow).
	if httpmw.WriteBodyError(w, r) {
		return
	}
	st := mask(ctx, status.Convert(err))
	if httpStatus == 0 {
		httpStatus = runtime.HTTPStatusFromCode(st.Code())
	}
	copyHeaders(ctx, w)
	httperr.Write(w, r, httpStatus, st)
}

// handleRoutingError answers requests no /v1 route matches: 404 for an
// unknown path, 405 for a known path with another method.
func handleRoutingError(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	httperr.Write(w, r, httpStatus, RoutingStatus(r, httpStatus))
}

// RoutingStatus is the status for a request that matched no route (404), or
// matched a path but not its method (405); the outer router uses it too.
func RoutingStatus(r *http.Request, httpStatus int) *status.Status {
	md := map[string]string{"method": r.Method, "path": r.URL.Path}
	switch httpStatus {
	case http.StatusNotFound:
		return httperr.New(codes.NotFound, "ROUTE_NOT_FOUND", fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path), md)
	case http.StatusMethodNotAllowed:
		return httperr.New(codes.Unimplemented, "METHOD_NOT_ALLOWED", fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path), md)
	default:
		return httperr.New(codes.InvalidArgument, "BAD_REQUEST", http.StatusText(httpStatus), md)
	}
}

// maskedCodes are the codes whose message may describe the gateway's
// network (addresses, dial errors) when the error did not come from a Lift
// service.
var maskedCodes = map[codes.Code]string{
	codes.Unavailable:      "the service is temporarily unavailable; retry later",
	codes.DeadlineExceeded: "the service did not answer in time",
	codes.Internal:         "internal error",
	codes.Unknown:          "internal error",
}

// mask replaces the message of an error that a Lift service did not write
// (it has no ErrorInfo) with a neutral one, and logs the original. Errors
// from services were already masked there and carry an ErrorInfo.
func mask(ctx context.Context, st *status.Status) *status.Status {
	neutral, ok := maskedCodes[st.Code()]
	if !ok || hasErrorInfo(st) {
		return st
	}
	logging.FromContext(ctx).Error("backend call failed", "code", st.Code().String(), "error", st.Message())
	return status.New(st.Code(), neutral)
}

func hasErrorInfo(st *status.Status) bool {
	for _, d := range st.Details() {
		if _, ok := d.(*errdetails.ErrorInfo); ok {
			return true
		}
	}
	return false
}

// copyHeaders forwards the allowed response headers (e.g. Retry-After) that
// a failing handler set, as the success path does.
func copyHeaders(ctx context.Context, w http.ResponseWriter) {
	md, ok := runtime.ServerMetadataFromContext(ctx)
	if !ok {
		return
	}
	for k, vs := range md.HeaderMD {
		if h, ok := outgoingHeader(k); ok && h != "Location" && h != "ETag" {
			for _, v := range vs {
				w.Header().Add(h, v)
			}
		}
	}
}

// WriteError renders err from a backend call the way /v1 errors are
// rendered (masking, HTTP status from the gRPC code, 413 after an oversize
// body), for the gateway's hand-written routes outside grpc-gateway.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	if httpmw.WriteBodyError(w, r) {
		return
	}
	st := mask(r.Context(), status.Convert(err))
	httperr.Write(w, r, runtime.HTTPStatusFromCode(st.Code()), st)
}
