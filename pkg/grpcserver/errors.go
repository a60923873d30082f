package grpcserver

import (
	"context"
	"errors"

	"github.com/liftlabs/lift/pkg/apierr"
	"github.com/liftlabs/lift/pkg/logging"
	"github.com/liftlabs/lift/pkg/requestid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// errorsUnary is the one place errors become statuses:
//   - apierr errors keep their code and reason, plus the request id; a
//     cause joined to one (errors.Join(apierr…, driverErr)) is logged under
//     the request id, never sent;
//   - status errors (e.g. from protovalidate) pass through;
//   - context errors become Canceled / DeadlineExceeded;
//   - anything else is a bug or a driver error: it is logged in full and the
//     client gets a neutral Internal message carrying the request id.
func errorsUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	if err == nil {
		return resp, nil
	}
	return nil, mapError(ctx, err)
}

func mapError(ctx context.Context, err error) error {
	id := requestid.FromContext(ctx)
	if e, ok := apierr.As(err); ok {
		switch {
		case e.Code == codes.Internal || e.Code == codes.Unknown:
			logging.FromContext(ctx).Error("internal error", "error", err.Error())
		case error(e) != err:
			logging.FromContext(ctx).Warn("request failed", "code", e.Code.String(), "reason", e.Reason, "error", err.Error())
		}
		return e.With("request_id", id)
	}
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		if st := se.GRPCStatus(); st.Code() != codes.Unknown && st.Code() != codes.Internal {
			return st.Err()
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	}
	logging.FromContext(ctx).Error("internal error", "error", err.Error())
	return apierr.Internal("INTERNAL", "internal error (request id %s)", id).With("request_id", id)
}
