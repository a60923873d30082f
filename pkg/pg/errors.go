package pg

import (
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/liftlabs/lift/pkg/apierr"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Translate maps a driver error to an apierr error, once, at the store
// boundary. notFoundReason (e.g. "PROJECT_NOT_FOUND") is used for
// pgx.ErrNoRows and for a foreign key that points nowhere on insert.
// Errors it does not know are returned unchanged (the server masks them as
// Internal and logs them).
func Translate(err error, notFoundReason string) error {
	if err == nil {
		return nil
	}
	if _, ok := apierr.As(err); ok {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return apierr.NotFound(notFoundReason, "%s", reasonText(notFoundReason))
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	// Classified by SQLSTATE alone, never by the server's English text; the
	// constraint's name stays in the log (joined), out of the client's
	// message: it names the schema.
	switch pgErr.Code {
	case "23505": // unique_violation
		return errors.Join(apierr.AlreadyExists("ALREADY_EXISTS", "a resource with the same key already exists"), err)
	case "23503": // foreign_key_violation
		// The same SQLSTATE for both sides of a reference: from a DELETE
		// (marked with Deleting) something still refers to the row;
		// otherwise the row refers to one that does not exist.
		if errors.As(err, new(*deleting)) {
			return errors.Join(apierr.FailedPrecondition("STILL_REFERENCED", "the resource is still in use"), err)
		}
		return errors.Join(apierr.NotFound(notFoundReason, "%s", reasonText(notFoundReason)), err)
	case "23514", "22P02", "22003": // check_violation, invalid_text_representation, numeric_value_out_of_range
		return apierr.InvalidArgument("INVALID_VALUE", "a value is out of range or malformed")
	case "40001", "40P01": // serialization_failure, deadlock_detected
		return apierr.Aborted("CONCURRENT_UPDATE", "concurrent update; please retry")
	case "57014": // query_canceled
		return status.Error(codes.Canceled, "query canceled")
	}
	return err
}

// Constraint is the name of the constraint a Postgres error in err's chain
// violated, or "": for a store that gives one constraint its own reason. It
// is for the code, never for the client.
func Constraint(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.ConstraintName
	}
	return ""
}

// Deleting marks err as the failure of a DELETE statement, for Translate:
// a foreign_key_violation from it means the row is still referenced.
func Deleting(err error) error {
	if err == nil {
		return nil
	}
	return &deleting{err}
}

type deleting struct{ err error }

func (d *deleting) Error() string { return d.err.Error() }
func (d *deleting) Unwrap() error { return d.err }

// reasonText turns PROJECT_NOT_FOUND into "project not found".
func reasonText(reason string) string {
	if reason == "" {
		return "not found"
	}
	return strings.ToLower(strings.ReplaceAll(reason, "_", " "))
}
