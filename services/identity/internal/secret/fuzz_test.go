package secret

import (
	"context"
	"strings"
	"testing"

	"github.com/liftlabs/lift/pkg/auth"
	"google.golang.org/grpc/metadata"
)

// FuzzToken feeds arbitrary Authorization header values through the path a
// presented token takes: auth.TokenFromContext (the bearer scheme, as every
// service reads it) and WellFormed (identity's check before any database
// lookup). Nothing may panic; only lift_pat_ + 43 base62 characters is well
// formed; a well-formed token round-trips through the header and hashes to
// 32 bytes. Fresh tokens are checked to be well formed up front.
func FuzzToken(f *testing.F) {
	for range 100 {
		if n := NewToken(); !WellFormed(n.Secret) || !strings.HasPrefix(n.Secret, n.DisplayPrefix) {
			f.Fatalf("fresh token %q is not well formed", n.Secret)
		}
	}
	fresh := NewToken().Secret
	for _, s := range []string{
		"Bearer " + fresh, "bearer " + fresh, "BEARER   " + fresh + "  ", "Basic " + fresh, fresh,
		"Bearer lift_pat_", "Bearer lift_pat_" + strings.Repeat("a", 42), "Bearer lift_pat_" + strings.Repeat("a", 44),
		"Bearer lift_pak_" + strings.Repeat("a", 43), "Bearer lift_pat_" + strings.Repeat("é", 43),
		"Bearer " + "lift_pat_" + strings.Repeat("a", 42) + "\x00", "Bearer", "", " ", "Bearer \xff\xfe",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(auth.MetadataKey, header))
		tok := auth.TokenFromContext(ctx)
		if tok != "" && !strings.Contains(header, tok) {
			t.Fatalf("token %q is not part of the header %q", tok, header)
		}
		for _, s := range []string{tok, header} {
			if !WellFormed(s) {
				continue
			}
			rest, ok := strings.CutPrefix(s, auth.TokenPrefix)
			if !ok || len(rest) != tokenChars || strings.Trim(rest, base62) != "" {
				t.Fatalf("WellFormed(%q) but it is not lift_pat_ + %d base62 characters", s, tokenChars)
			}
			back := metadata.NewIncomingContext(context.Background(), metadata.Pairs(auth.MetadataKey, "Bearer "+s))
			if got := auth.TokenFromContext(back); got != s {
				t.Fatalf("round trip of %q gave %q", s, got)
			}
			if h := HashToken(s); len(h) != 32 {
				t.Fatalf("hash of %d bytes", len(h))
			}
		}
	})
}
