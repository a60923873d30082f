package pagetoken_test

import (
	"testing"

	"github.com/liftlabs/lift/pkg/pagetoken"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestRoundTripAndGarbage(t *testing.T) {
	id, err := pagetoken.Decode(pagetoken.Encode(42))
	if err != nil || id != 42 {
		t.Fatalf("round trip = %d, %v", id, err)
	}
	if id, err := pagetoken.Decode(""); err != nil || id != 0 {
		t.Fatalf("empty = %d, %v", id, err)
	}
	for _, bad := range []string{"!!", "NDI", pagetoken.Encode(-1)} {
		if _, err := pagetoken.Decode(bad); status.Code(err) != codes.InvalidArgument {
			t.Errorf("Decode(%q) = %v, want InvalidArgument", bad, err)
		}
	}
}

func TestNext(t *testing.T) {
	rows := []int64{1, 2, 3}
	page, next := pagetoken.Next(rows, 2, func(v int64) int64 { return v })
	if len(page) != 2 || next != pagetoken.Encode(2) {
		t.Fatalf("page %v next %q", page, next)
	}
	page, next = pagetoken.Next(rows, 3, func(v int64) int64 { return v })
	if len(page) != 3 || next != "" {
		t.Fatalf("last page %v next %q", page, next)
	}
}
