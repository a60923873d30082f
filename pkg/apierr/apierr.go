// Package apierr is Lift's one error vocabulary: a gRPC code, a stable
// machine-readable reason and a human message, rendered as a gRPC status with
// a google.rpc.ErrorInfo detail.
package apierr

import (
	"errors"
	"fmt"
	"maps"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Domain is the ErrorInfo domain of every Lift error.
const Domain = "lift"

// Error is a domain error that knows its gRPC code. Handlers and stores
// return it; the server's error interceptor passes it through unchanged.
type Error struct {
	// Code is the gRPC code clients branch on.
	Code codes.Code
	// Reason is a stable UPPER_SNAKE identifier such as PROJECT_NOT_FOUND.
	Reason string
	// Message is for humans and may change.
	Message string
	// Metadata is extra structured context (ids, field names).
	Metadata map[string]string
}

// New returns an error with the given code and reason.
func New(code codes.Code, reason, format string, args ...any) *Error {
	return &Error{Code: code, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Reason)
}

// GRPCStatus renders the error as a status carrying a google.rpc.ErrorInfo,
// so status.FromError and the gateway see the reason and metadata.
func (e *Error) GRPCStatus() *status.Status {
	st := status.New(e.Code, e.Message)
	withInfo, err := st.WithDetails(&errdetails.ErrorInfo{Reason: e.Reason, Domain: Domain, Metadata: e.Metadata})
	if err != nil {
		return st
	}
	return withInfo
}

// With returns a copy of e with one more metadata entry; e is not changed, so
// package-level sentinel errors stay safe to share.
func (e *Error) With(key, value string) *Error {
	c := *e
	c.Metadata = make(map[string]string, len(e.Metadata)+1)
	maps.Copy(c.Metadata, e.Metadata)
	c.Metadata[key] = value
	return &c
}

// Is reports whether target is an *Error with the same code and reason, so
// errors.Is(err, store.ErrProjectNotFound) works on copies made by With.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Reason == e.Reason
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// NotFound: the resource does not exist or the caller may not see it.
func NotFound(reason, format string, args ...any) *Error {
	return New(codes.NotFound, reason, format, args...)
}

// InvalidArgument: the request is wrong whatever the system's state.
func InvalidArgument(reason, format string, args ...any) *Error {
	return New(codes.InvalidArgument, reason, format, args...)
}

// AlreadyExists: a resource with the same unique key exists.
func AlreadyExists(reason, format string, args ...any) *Error {
	return New(codes.AlreadyExists, reason, format, args...)
}

// FailedPrecondition: the system is not in the state the request needs.
func FailedPrecondition(reason, format string, args ...any) *Error {
	return New(codes.FailedPrecondition, reason, format, args...)
}

// Aborted: a concurrency conflict (stale etag, serialization failure); the
// client may re-read and retry.
func Aborted(reason, format string, args ...any) *Error {
	return New(codes.Aborted, reason, format, args...)
}

// PermissionDenied: the caller may see the resource but not do this to it.
func PermissionDenied(reason, format string, args ...any) *Error {
	return New(codes.PermissionDenied, reason, format, args...)
}

// Unauthenticated: no valid credential.
func Unauthenticated(reason, format string, args ...any) *Error {
	return New(codes.Unauthenticated, reason, format, args...)
}

// ResourceExhausted: a quota or rate limit was hit.
func ResourceExhausted(reason, format string, args ...any) *Error {
	return New(codes.ResourceExhausted, reason, format, args...)
}

// Unavailable: a dependency is down; the call may be retried.
func Unavailable(reason, format string, args ...any) *Error {
	return New(codes.Unavailable, reason, format, args...)
}

// Internal: a bug or an unexpected state. The message must not leak details.
func Internal(reason, format string, args ...any) *Error {
	return New(codes.Internal, reason, format, args...)
}

// Reasons of a failed call to another Lift service (a backend) that a
// request needs.
const (
	ReasonBackendUnavailable      = "BACKEND_UNAVAILABLE"
	ReasonBackendDeadlineExceeded = "BACKEND_DEADLINE_EXCEEDED"
)

// FromBackend is the error for err, the failure of a call to backend
// ("identity", "experiments", "results") for part (what the call was to
// provide, e.g. "results" or "authentication"): UNAVAILABLE → 503
// BACKEND_UNAVAILABLE, DEADLINE_EXCEEDED (timeout being the call's
// deadline) → 504 BACKEND_DEADLINE_EXCEEDED, both with backend and part in
// the metadata, so a backend outage has one shape whoever called it. For
// any other code ok is false: that is the backend's own answer. The
// backend's message is left out: for an unreachable backend it describes
// the caller's network.
func FromBackend(err error, backend, part string, timeout time.Duration) (e *Error, ok bool) {
	switch status.Code(err) {
	case codes.Unavailable:
		e = Unavailable(ReasonBackendUnavailable, "the %s backend is unavailable (needed for the %s)", backend, part)
	case codes.DeadlineExceeded:
		e = New(codes.DeadlineExceeded, ReasonBackendDeadlineExceeded, "the %s backend did not answer within %s (needed for the %s)", backend, timeout, part)
	default:
		return nil, false
	}
	return e.With("backend", backend).With("part", part), true
}
