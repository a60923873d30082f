// Package pagetoken implements Lift's keyset pagination: an opaque page
// token holding the last id of the previous page, and page size defaults.
package pagetoken

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/liftlabs/lift/pkg/apierr"
)

// DefaultSize is the page size when the request leaves it at zero.
const DefaultSize = 50

// prefix versions the token format so it can change without misreading old
// tokens.
const prefix = "v1:"

// Encode returns the token for the page after the row with id lastID.
func Encode(lastID int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(prefix + strconv.FormatInt(lastID, 10)))
}

// Decode returns the id after which the page starts: 0 for an empty token.
// A token that was not made by Encode is InvalidArgument.
func Decode(token string) (int64, error) {
	if token == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	s, ok := strings.CutPrefix(string(b), prefix)
	if err != nil || !ok {
		return 0, errInvalid
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 0 {
		return 0, errInvalid
	}
	return id, nil
}

var errInvalid = apierr.InvalidArgument("INVALID_PAGE_TOKEN", "page_token is not a token from a previous response")

// Size returns the page size to use for a requested one.
func Size(requested int32) int {
	if requested <= 0 {
		return DefaultSize
	}
	return int(requested)
}

// Next returns the page to return and the next page token, given rows
// fetched with a limit of size+1 (the extra row only tells that more exist).
func Next[T any](rows []T, size int, id func(T) int64) ([]T, string) {
	if len(rows) <= size {
		return rows, ""
	}
	rows = rows[:size]
	return rows, Encode(id(rows[size-1]))
}
