// Package secret makes API token secrets and SDK keys and hashes tokens.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"math/big"
	"strings"

	"github.com/liftlabs/lift/pkg/auth"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// tokenChars random base62 characters carry ~256 bits of entropy.
const tokenChars = 43

// sdkKeyChars matches the 22-character SDK keys Optimizely hands out
// (~131 bits).
const sdkKeyChars = 22

// displayChars of the random part are shown in lists to recognise a token.
const displayChars = 4

// Token is a new API token.
type Token struct {
	Secret        string // lift_pat_…, shown once
	Hash          []byte // what is stored
	DisplayPrefix string
}

// NewToken returns a fresh token secret with its hash.
func NewToken() Token {
	s := auth.TokenPrefix + random(tokenChars)
	return Token{Secret: s, Hash: HashToken(s), DisplayPrefix: s[:len(auth.TokenPrefix)+displayChars]}
}

// HashToken is the stored form of a secret. A plain SHA-256 is enough here,
// unlike for passwords: the secret is 256 random bits, so there is nothing
// to guess and no dictionary to precompute, and a slow KDF (bcrypt, argon2)
// would only add tens of milliseconds to every authentication. Being
// deterministic, it also lets the lookup use a unique index.
func HashToken(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// WellFormed reports whether s can be a token at all, so garbage is turned
// away before touching the database.
func WellFormed(s string) bool {
	r, ok := strings.CutPrefix(s, auth.TokenPrefix)
	if !ok || len(r) != tokenChars {
		return false
	}
	for _, c := range r {
		if !strings.ContainsRune(base62, c) {
			return false
		}
	}
	return true
}

// NewSDKKey returns a fresh SDK key.
func NewSDKKey() string { return random(sdkKeyChars) }

func random(n int) string {
	max := big.NewInt(int64(len(base62)))
	b := make([]byte, n)
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		b[i] = base62[v.Int64()]
	}
	return string(b)
}
